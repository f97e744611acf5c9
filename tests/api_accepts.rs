//! The API server is the first consumer of everything kotalc writes: every object of every
//! example and fixture is accepted by a real kube-apiserver (server-side dry run, then a real
//! server-side apply), under the CRDs of tests/data/crds; and kotalc never accepts a Peer or
//! ClusterPeer that the Kotal CRDs' schema refuses.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::{Value as J, json};

use crate::apiserver::server;
use crate::common::{root, run, scratch, text};
use crate::docs::page;

/// The kinds kotalc makes; everything else in an output is passed through.
const KOTALC_KINDS: &[&str] = &[
    "StatefulSet",
    "Service",
    "ConfigMap",
    "PersistentVolumeClaim",
    "NetworkPolicy",
    "SealedSecret",
    "ExternalSecret",
    "Peer",
    "ClusterPeer",
    "PodMonitor",
    "HTTPRoute",
    "Ingress",
];

/// Every object of a YAML stream, lists and KRM ResourceLists opened.
pub fn objects(yaml: &str) -> Vec<J> {
    let docs: Vec<J> = serde_saphyr::from_multiple(yaml).expect("kotalc's output is YAML");
    let mut out = Vec::new();
    for doc in docs {
        match doc["items"].as_array() {
            Some(items) if doc["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                out.extend(items.iter().cloned())
            }
            _ if doc.is_object() => out.push(doc),
            _ => {}
        }
    }
    out
}

/// The objects in namespace `ns`, as one `kind: List` file to apply.
pub fn list_in(ns: &str, objects: &[J], file: &Path) {
    let items: Vec<J> = objects
        .iter()
        .cloned()
        .map(|mut o| {
            o["metadata"]["namespace"] = json!(ns);
            o
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    fs::write(file, serde_json::to_vec_pretty(&list).expect("JSON")).expect("write");
}

/// kotalc's objects of every fixture that builds, and of every example, named by origin.
fn every_output() -> Vec<(String, Vec<J>)> {
    let mut sets = Vec::new();
    for case in crate::golden::cases() {
        let code = fs::read_to_string(case.join("expected/exit-code")).unwrap_or_default();
        let Ok(stdout) = fs::read_to_string(case.join("expected/stdout.yaml")) else {
            continue;
        };
        // `explain` prints documentation, not objects; `diff` a comparison.
        let explain = case
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("explain-"));
        let diff = fs::read_to_string(case.join("command"))
            .is_ok_and(|command| command.lines().next() == Some("diff"));
        if code.trim() != "0" || explain || diff {
            continue;
        }
        let mine: Vec<J> = objects(&stdout)
            .into_iter()
            .filter(|o| KOTALC_KINDS.contains(&o["kind"].as_str().unwrap_or_default()))
            .collect();
        if !mine.is_empty() {
            sets.push((
                format!(
                    "fixtures/{}",
                    case.file_name().unwrap_or_default().display()
                ),
                mine,
            ));
        }
    }
    for args in [
        &["build", "examples/ipfs/"][..],
        &["build", "examples/swarm/"],
        &[
            "build",
            "-n",
            "ipfs",
            "examples/kustomize/krm-function/ipfs",
        ],
        &[
            "build",
            "-n",
            "ipfs",
            "examples/kustomize/legacy-plugin/ipfs",
        ],
    ] {
        let out = run(&root(), args);
        out.success();
        sets.push((args.join(" "), objects(&text(&out.stdout))));
    }
    sets
}

#[test]
fn every_object_of_every_example_and_fixture_is_accepted_by_the_api_server() {
    let server = server();
    let dir = scratch("api-accepts");
    let mut failures = Vec::new();
    let mut kinds = BTreeSet::new();
    let mut applied = 0;
    for (i, (origin, objects)) in every_output().iter().enumerate() {
        let ns = server.namespace(&format!("accepts-{i}"));
        let file = dir.join(format!("{i}.json"));
        list_in(&ns, objects, &file);
        let file = file.to_string_lossy();
        for dry_run in [true, false] {
            let mut args = vec![
                "apply",
                "--server-side",
                "--field-manager=kotalc",
                "-f",
                &file,
            ];
            if dry_run {
                args.push("--dry-run=server");
            }
            let out = server.kubectl(&args);
            if !out.status.success() {
                failures.push(format!(
                    "{origin} ({}):\n{}",
                    if dry_run { "dry run" } else { "apply" },
                    text(&out.stderr)
                ));
            }
        }
        // Each object is there, as applied.
        for o in objects {
            let kind = o["kind"].as_str().unwrap_or_default();
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let got = server.kubectl(&["get", "-n", &ns, kind, name, "-o", "name"]);
            if !got.status.success() {
                failures.push(format!(
                    "{origin}: {kind} {name} is not there after the apply"
                ));
            }
            kinds.insert(kind.to_string());
            applied += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{}{}",
        failures.join("\n"),
        server.logs()
    );
    for kind in KOTALC_KINDS {
        assert!(kinds.contains(*kind), "no {kind} was applied: {kinds:?}");
    }
    eprintln!("{applied} objects accepted by kube-apiserver");
}

/// A spec's fields and values to try, found by walking the CRD schema: the values it refuses (a
/// wrong type, a value outside an enum, below a minimum or above a maximum, too short or
/// long, a missing required field) and values it may accept that no field means.
fn values_to_try(schema: &J, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Option<J>)>) {
    let wrong_type = match schema["type"].as_str() {
        Some("string") => Some(json!(12345)),
        Some("integer") | Some("number") => Some(json!("not-a-number")),
        Some("boolean") => Some(json!("not-a-boolean")),
        Some("array") => Some(json!("not-a-list")),
        Some("object") if schema.get("properties").is_some() => Some(json!("not-an-object")),
        _ => None,
    };
    if let Some(v) = wrong_type {
        out.push((path.clone(), Some(v)));
    }
    if schema.get("enum").is_some() {
        out.push((path.clone(), Some(json!("not-in-the-enum"))));
    }
    if let Some(min) = schema["minimum"].as_i64() {
        out.push((path.clone(), Some(json!(min - 1))));
    }
    if let Some(max) = schema["maximum"].as_i64() {
        out.push((path.clone(), Some(json!(max + 1))));
    }
    // A string no field means (outside a pattern too), numbers outside every port range, a
    // list that repeats an item: whatever the schema does not refuse shows where kotalc
    // refuses more.
    if schema["type"] == "string" {
        out.push((path.clone(), Some(json!("%% not a value %%"))));
    }
    if schema["type"] == "integer" {
        out.push((path.clone(), Some(json!(-1))));
        out.push((path.clone(), Some(json!(65536))));
    }
    if schema["type"] == "array" && schema["items"]["type"] == "string" {
        out.push((path.clone(), Some(json!(["same", "same"]))));
    }
    if schema["type"] == "object" && schema.get("properties").is_some() {
        path.push("notAField".to_string());
        out.push((path.clone(), Some(json!("x"))));
        path.pop();
    }
    if let Some(min) = schema["minLength"].as_u64().filter(|m| *m > 0) {
        out.push((path.clone(), Some(json!("a".repeat(min as usize - 1)))));
    }
    if let Some(max) = schema["maxLength"].as_u64() {
        out.push((path.clone(), Some(json!("a".repeat(max as usize + 1)))));
    }
    if schema["minItems"].as_u64().is_some_and(|m| m > 0) {
        out.push((path.clone(), Some(json!([]))));
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        if let Some(field) = required.as_str() {
            path.push(field.to_string());
            out.push((path.clone(), None));
            path.pop();
        }
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (field, sub) in properties {
            path.push(field.clone());
            values_to_try(sub, path, out);
            path.pop();
        }
    }
    if let Some(items) = schema.get("items") {
        path.push("0".to_string());
        values_to_try(items, path, out);
        path.pop();
    }
}

/// `value` with `path` set to `to` (or removed, for None); list indexes are numbers.
fn with(mut value: J, path: &[String], to: Option<J>) -> J {
    let mut at = &mut value;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if let Ok(index) = step.parse::<usize>() {
            if !at.is_array() {
                *at = json!([]);
            }
            let list = at.as_array_mut().expect("a list");
            if list.len() <= index {
                list.resize(index + 1, json!({}));
            }
            if last {
                match to {
                    Some(v) => list[index] = v,
                    None => {
                        list.remove(index);
                    }
                }
                return value;
            }
            at = &mut list[index];
        } else {
            if !at.is_object() {
                *at = json!({});
            }
            let map = at.as_object_mut().expect("a map");
            if last {
                match to {
                    Some(v) => {
                        map.insert(step.clone(), v);
                    }
                    None => {
                        map.remove(step);
                    }
                }
                return value;
            }
            at = map.entry(step.clone()).or_insert(json!({}));
        }
    }
    value
}

fn crd_schema(file: &str) -> J {
    let text = fs::read_to_string(root().join("tests/data/crds").join(file)).expect("CRD");
    let crd = objects(&text).into_iter().next().expect("a CRD");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Where kotalc refuses more than the CRD schema, as docs/api.md lists them: each is a
/// diagnostic code kotalc reports for a resource that the API server accepts.
fn docs_stricter_codes() -> BTreeSet<String> {
    let page = page("api.md");
    let start = page
        .find("## Where kotalc refuses more than the CRDs")
        .expect("docs/api.md lists where kotalc refuses more than the CRDs");
    let section = &page[start..];
    let section = &section[..section[4..].find("\n#").map_or(section.len(), |e| e + 4)];
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `")?.split('`').next())
        .map(String::from)
        .collect()
}

/// kotalc never accepts a resource the Kotal CRDs refuse: each Peer and ClusterPeer field is
/// given every value its schema refuses, and each variant is built by kotalc and created
/// (dry run) on the API server. Where kotalc refuses what the server accepts, docs/api.md
/// says so.
#[test]
fn kotalc_never_accepts_a_resource_the_kotal_crds_refuse() {
    let server = server();
    let ns = server.namespace("crd-agreement");
    let dir = scratch("api-crd-agreement");
    let bases = [
        (
            "ipfs.kotal.io_peers.yaml",
            "fixtures/peer-every-field/input",
        ),
        (
            "ipfs.kotal.io_clusterpeers.yaml",
            "fixtures/cluster-peer-every-field/input",
        ),
    ];
    let mut variants: Vec<(String, J)> = Vec::new();
    for (crd, input) in bases {
        let base = fs::read_dir(root().join(input))
            .expect("input")
            .map(|e| e.expect("entry").path())
            .flat_map(|p| objects(&fs::read_to_string(p).expect("read")))
            .find(|o| o["apiVersion"] == "ipfs.kotal.io/v1alpha1")
            .expect("a resource");
        variants.push((format!("{input} as it is"), base.clone()));
        let mut refused = Vec::new();
        values_to_try(
            &crd_schema(crd)["properties"]["spec"],
            &mut vec!["spec".into()],
            &mut refused,
        );
        for (path, value) in refused {
            let shown = match &value {
                Some(v) => format!("{} = {v}", path.join(".")),
                None => format!("{} missing", path.join(".")),
            };
            variants.push((shown, with(base.clone(), &path, value)));
        }
    }
    // Every variant by kotalc, one by one; all of them by the server, in one dry run.
    let mut items = Vec::new();
    let mut kotalc = Vec::new();
    for (i, (shown, resource)) in variants.iter().enumerate() {
        let mut resource = resource.clone();
        resource["metadata"]["name"] = json!(format!("v{i}"));
        let file = dir.join(format!("v{i}.yaml"));
        fs::write(&file, serde_json::to_string(&resource).expect("JSON")).expect("write");
        let out = run(
            &dir,
            &["build", "--secret-mode", "none", &file.to_string_lossy()],
        );
        let codes: BTreeSet<String> = text(&out.stderr)
            .lines()
            .filter_map(|l| l.strip_prefix("error[")?.split(']').next())
            .map(String::from)
            .collect();
        kotalc.push((
            shown.clone(),
            out.status.success(),
            codes,
            text(&out.stderr),
        ));
        items.push(resource);
    }
    let file = dir.join("variants.json");
    list_in(&ns, &items, &file);
    // The CRD's schema alone judges (kubectl's own checks would refuse the whole list).
    let out = server.kubectl(&[
        "create",
        "--validate=false",
        "--dry-run=server",
        "-o",
        "name",
        "-f",
        &file.to_string_lossy(),
    ]);
    let accepted: BTreeSet<String> = text(&out.stdout)
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .map(String::from)
        .collect();
    assert!(kotalc[0].1, "kotalc refuses the base Peer: {}", kotalc[0].3);
    assert!(
        accepted.contains("v0"),
        "the base Peer is refused: {}",
        text(&out.stderr)
    );
    let documented = docs_stricter_codes();
    let mut wrong = Vec::new();
    let mut stricter = BTreeSet::new();
    for (i, (shown, ok, codes, stderr)) in kotalc.iter().enumerate() {
        let server_ok = accepted.contains(&format!("v{i}"));
        if *ok && !server_ok {
            wrong.push(format!("kotalc accepts what the CRD refuses: {shown}"));
        }
        if !*ok && server_ok {
            for code in codes {
                stricter.insert(code.clone());
                if !documented.contains(code) {
                    wrong.push(format!(
                        "kotalc refuses {shown} with {code}, which the CRD accepts, and \
                         docs/api.md's list does not say so:\n{stderr}"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let refused = (0..kotalc.len()).filter(|i| !accepted.contains(&format!("v{i}")));
    assert!(refused.count() > 40, "the schema's refusals were tried");
    eprintln!(
        "{} variants; kotalc refuses more than the CRDs with: {stricter:?}",
        variants.len()
    );
}
