//! `kotalc schema` and `kotalc explain` come from the model's schema: the schema agrees with
//! `build` on every field-level rule, and explain documents every field.

use std::fs;

use serde_json::Value as J;

use kotalc::compile::{Options, compile};
use kotalc::diagnostic::Code;
use kotalc::model::Kind;

use crate::common::{root, scratch};

/// The codes of rules a JSON Schema can state: the ones the two must agree on.
const FIELD_LEVEL: &[Code] = &[
    Code::UnknownField,
    Code::WrongType,
    Code::InvalidEnum,
    Code::PatternMismatch,
    Code::OutOfRange,
    Code::RequiredField,
    Code::DuplicateItem,
];

/// Every field path of a kind's schema, as `explain` takes them.
fn field_paths(root: &J, node: &J, prefix: &str, out: &mut Vec<String>) {
    let node = resolve(root, node);
    let node = match node.get("items") {
        Some(items) => resolve(root, items),
        None => node,
    };
    if let Some(properties) = node.get("properties").and_then(J::as_object) {
        for (name, field) in properties {
            let path = format!("{prefix}.{name}");
            out.push(path.clone());
            field_paths(root, field, &path, out);
        }
    }
}

fn resolve<'a>(root: &'a J, node: &'a J) -> &'a J {
    match node.get("$ref").and_then(J::as_str) {
        Some(r) => &root["$defs"][r.rsplit('/').next().unwrap_or_default()],
        None => node,
    }
}

#[test]
fn explain_documents_every_field() {
    let mut count = 0;
    for kind in Kind::ALL {
        let schema = kotalc::model::schema::of(*kind);
        let mut paths = Vec::new();
        let resource = kind.name().to_lowercase();
        field_paths(schema, schema, &resource, &mut paths);
        for path in paths {
            let text = kotalc::commands::explain::explain(&path, false)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let description = text.split("DESCRIPTION:\n").nth(1).unwrap_or_default();
            assert!(
                description.starts_with("    ") && !description.contains("<empty>"),
                "{path} is not documented:\n{text}"
            );
            count += 1;
        }
    }
    assert!(count > 50, "only {count} fields");
}

#[test]
fn schema_agrees_with_build_on_field_level_rules() {
    let schema = kotalc::model::schema::document(None);
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler
        .add_resource("kotalc.json", schema)
        .expect("the schema loads");
    let index = compiler
        .compile("kotalc.json", &mut schemas)
        .expect("the schema compiles");

    let scratch = scratch("schema-agreement");
    let mut checked = 0;
    let mut rejected = 0;
    for entry in walkdir::WalkDir::new(root().join("fixtures")).sort_by_file_name() {
        let entry = entry.expect("walk");
        let in_input = entry.path().components().any(|c| c.as_os_str() == "input");
        if !entry.file_type().is_file() || !in_input {
            continue;
        }
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        // Files that are not YAML (a syntax or duplicate-key fixture) have nothing to agree on.
        let Ok(docs) =
            serde_saphyr::from_multiple_with_options::<J>(&text, kotalc::input::yaml::options())
        else {
            continue;
        };
        for (i, doc) in docs.iter().enumerate() {
            let is_kotal = doc["apiVersion"] == kotalc::model::API_VERSION
                && Kind::from_name(doc["kind"].as_str().unwrap_or_default()).is_some();
            if !is_kotal {
                continue;
            }
            let file = scratch.join("doc.yaml");
            fs::write(&file, serde_saphyr::to_string(doc).expect("YAML")).expect("write");
            let outcome = compile(&Options {
                paths: vec![file],
                ..Options::default()
            });
            let field_errors: Vec<_> = outcome
                .diagnostics
                .iter()
                .filter(|d| d.is_error() && FIELD_LEVEL.contains(&d.code))
                // Semantic checks that reuse these codes: annotation values, and Swarm node
                // names (unique by name, which a schema cannot say).
                .filter(|d| {
                    let field = d.field.as_deref().unwrap_or_default();
                    let annotation = field.starts_with("metadata.annotations[");
                    let node_name = field.starts_with("spec.nodes[") && field.ends_with(".name");
                    !annotation && !node_name
                })
                .collect();
            let schema_ok = schemas.validate(doc, index).is_ok();
            assert_eq!(
                schema_ok,
                field_errors.is_empty(),
                "{} document {i}: schema says {}, build says {:?}",
                entry.path().display(),
                if schema_ok { "valid" } else { "invalid" },
                field_errors
            );
            checked += 1;
            rejected += usize::from(!schema_ok);
        }
    }
    assert!(
        checked > 60 && rejected > 10,
        "checked {checked}, rejected {rejected}"
    );
}

/// docs/api.md maps the all-kinds schema over a whole tree, where `kotalc seal` writes
/// SealedSecrets: other kinds pass, Kotal documents are still judged.
#[test]
fn the_all_kinds_schema_leaves_other_kinds_alone() {
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler
        .add_resource("kotalc.json", kotalc::model::schema::document(None))
        .expect("the schema loads");
    let index = compiler
        .compile("kotalc.json", &mut schemas)
        .expect("the schema compiles");
    let sealed: J = serde_saphyr::from_str(
        &fs::read_to_string(root().join("examples/ipfs/peers/sealedsecret-private-swarm-key.yaml"))
            .expect("a committed SealedSecret"),
    )
    .expect("YAML");
    assert!(schemas.validate(&sealed, index).is_ok());
    let config_map = serde_json::json!({ "apiVersion": "v1", "kind": "ConfigMap" });
    assert!(schemas.validate(&config_map, index).is_ok());
    for wrong in [
        serde_json::json!({ "apiVersion": "ipfs.kotal.io/v1alpha1", "kind": "Pear" }),
        serde_json::json!({ "apiVersion": "ipfs.kotal.io/v1", "kind": "Peer" }),
        serde_json::json!({ "apiVersion": "ipfs.kotal.io/v1alpha1", "kind": "Peer",
            "metadata": { "name": "a" }, "spec": { "apiPorts": 1 } }),
    ] {
        assert!(schemas.validate(&wrong, index).is_err(), "{wrong}");
    }
}
