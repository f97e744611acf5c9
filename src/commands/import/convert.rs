//! `kotalc import`: Peers and ClusterPeers exported from a cluster (`kubectl get peers,
//! clusterpeers -o yaml`) as the inputs a person would write. What the API server and the
//! operator's defaulting added is removed; Secrets are never written, only the commands that
//! seal them.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::{Serialize, Serializer};
use serde_json::Value as J;

use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml::{self, Node, Value};
use crate::kube::quantity;
use crate::model::Kind;
use crate::model::defaults;
use crate::model::parse::{self, Object as Typed, Parsed};

/// The metadata a resource in git sets; the rest is the API server's.
const METADATA: &[&str] = &["name", "namespace", "labels", "annotations"];
/// Written by `kubectl apply`: the previous apply, which would be stale at once.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Field order of each spec, as the operator's types and the spec tables list them.
const PEER_SPEC: &[&str] = &[
    "image",
    "replicas",
    "initProfiles",
    "profiles",
    "api",
    "apiPort",
    "gateway",
    "gatewayPort",
    "routing",
    "swarmKeySecretName",
    "logging",
    "extraArgs",
    "resources",
];
const CLUSTER_PEER_SPEC: &[&str] = &[
    "image",
    "replicas",
    "id",
    "privateKeySecretName",
    "trustedPeers",
    "bootstrapPeers",
    "consensus",
    "clusterSecretName",
    "peerEndpoint",
    "logging",
    "extraArgs",
    "resources",
];
const RESOURCES: &[&str] = &[
    "cpu",
    "cpuLimit",
    "memory",
    "memoryLimit",
    "storage",
    "storageClass",
];

/// One imported resource, as the YAML of its file.
#[derive(Debug)]
pub struct Imported {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
    pub yaml: String,
}

#[derive(Debug, Default)]
pub struct Import {
    pub resources: Vec<Imported>,
    /// The `kotalc seal` command of each Secret the resources reference, by namespace/name,
    /// writing into the import's output directory.
    pub seal_commands: BTreeMap<String, String>,
    /// Objects of other kinds in the export, by kind: not inputs, so not written.
    pub skipped: BTreeMap<String, usize>,
}

/// Imports every document of `sources`, reporting problems located in the export.
/// Secret values are marked in `sources` as `parse` marks them, so that no diagnostic shows one.
pub fn import(
    sources: &mut Sources,
    keep_defaults: bool,
    output_dir: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Import {
    let mut out = Import::default();
    let skipped = Mutex::new(BTreeMap::new());
    let parsed = parse::parse_each(sources, diagnostics, |doc, parsed, found| {
        yaml::objects(doc, &mut |object| {
            document(object, parsed, &skipped, found);
        });
    });
    out.skipped = skipped.into_inner().unwrap_or_else(PoisonError::into_inner);
    let configs = crate::compile::checks::validated(&parsed.resources, diagnostics);
    for resource in &parsed.resources {
        if let Some(Typed::Swarm(_)) = resource.object {
            diagnostics.push(
                Diagnostic::new(
                    Code::UnknownKind,
                    "a Swarm is not imported: it holds its nodes' private keys in plain text",
                )
                .at(resource
                    .root
                    .get("kind")
                    .map_or(resource.root.span, |n| n.span))
                .field("kind")
                .help("`kotalc migrate` rewrites a Swarm as Peers with sealed identities"),
            );
        }
    }
    for reference in crate::model::references::references(&parsed.resources, &configs) {
        let resource = &parsed.resources[reference.resource];
        let namespace = resource.namespace.as_deref().unwrap_or("<namespace>");
        let name = &reference.name;
        // Each SealedSecret goes beside the resources written, where `build` reads it:
        // in DIR/<namespace>/ with -o, where the resources are written.
        let output = crate::secrets::sealed_file(
            output_dir,
            output_dir.and(resource.namespace.as_deref()),
            name,
        );
        let mut seal = vec![
            "kotalc",
            "seal",
            "--cert",
            "<controller.pem>",
            "--from-secret",
            "--key",
            reference.key,
            "-o",
            output.as_str(),
        ];
        if let Some(id) = &reference.id {
            seal.extend(["--expect-id", id.as_str()]);
        }
        let command = crate::diagnostic::shell::pipeline(&[
            &[
                "kubectl",
                "get",
                "secret",
                name.as_str(),
                "-n",
                namespace,
                "-o",
                "yaml",
            ],
            &seal,
        ]);
        let secret = crate::kube::manifest::Key {
            kind: "Secret".into(),
            namespace: Some(namespace.into()),
            name: name.clone(),
        };
        out.seal_commands.entry(secret.place()).or_insert(command);
    }
    for (resource, config) in parsed.resources.iter().zip(&configs) {
        if config.is_none() {
            continue;
        }
        out.resources.push(Imported {
            kind: resource.kind,
            namespace: resource.namespace.clone(),
            name: resource.name.clone(),
            yaml: crate::diagnostic::manifest_text(&written(resource, keep_defaults))
                .unwrap_or_default(),
        });
    }
    out
}

/// One exported object: a Kotal resource is cleaned and parsed, a Secret with values is
/// refused, anything else is counted and left out.
fn document(
    doc: Node,
    parsed: &mut Parsed,
    skipped: &Mutex<BTreeMap<String, usize>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let text = |field: &str| doc.get(field).and_then(Node::as_str).unwrap_or_default();
    let (api_version, kind) = (text("apiVersion").to_string(), text("kind").to_string());
    let kotal = api_version.starts_with(&format!("{}/", crate::model::GROUP));
    let secret = api_version == "v1" && kind == "Secret";
    if kotal || secret && parse::has_data(&doc) || api_version.is_empty() || kind.is_empty() {
        let front = crate::diagnostic::settings::Front::Cli;
        parse::parse_document(clean(doc), false, front, parsed, diagnostics);
    } else {
        let mut skipped = skipped.lock().unwrap_or_else(PoisonError::into_inner);
        *skipped.entry(kind).or_default() += 1;
    }
}

/// The document without what the API server and `kubectl apply` added.
fn clean(mut doc: Node) -> Node {
    if let Value::Map(entries) = &mut doc.value {
        entries.retain(|(key, _)| key.name != "status");
        for (key, value) in entries.iter_mut() {
            if key.name != "metadata" {
                continue;
            }
            if let Value::Map(meta) = &mut value.value {
                meta.retain(|(k, _)| METADATA.contains(&k.name.as_str()));
                for (k, v) in meta.iter_mut() {
                    if k.name == "annotations"
                        && let Value::Map(annotations) = &mut v.value
                    {
                        annotations.retain(|(a, _)| a.name != LAST_APPLIED);
                    }
                }
                meta.retain(|(_, v)| !matches!(&v.value, Value::Map(m) if m.is_empty()));
            }
        }
    }
    doc
}

/// A value with its keys in the order a person writes them.
enum Out {
    Value(J),
    Map(Vec<(String, Out)>),
}

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Out::Value(value) => value.serialize(serializer),
            Out::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// `object`'s fields in `order`, then any other (there are none after parsing) by name.
fn ordered(object: &serde_json::Map<String, J>, order: &[&str]) -> Vec<(String, J)> {
    let mut out: Vec<(String, J)> = order
        .iter()
        .filter_map(|k| object.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    for (key, value) in object {
        if !order.contains(&key.as_str()) {
            out.push((key.clone(), value.clone()));
        }
    }
    out
}

fn written(resource: &parse::Resource, keep_defaults: bool) -> Out {
    let value = resource.root.to_json();
    let mut top = vec![
        (
            "apiVersion".to_string(),
            Out::Value(value["apiVersion"].clone()),
        ),
        ("kind".to_string(), Out::Value(value["kind"].clone())),
    ];
    let empty = serde_json::Map::new();
    let mut metadata = value["metadata"].as_object().unwrap_or(&empty).clone();
    // The operator rendered no NetworkPolicy, and who the clients are is known only in the
    // cluster: a takeover starts with the policies off (see the note `import` prints).
    if let J::Object(annotations) = metadata
        .entry("annotations")
        .or_insert_with(|| J::Object(serde_json::Map::new()))
    {
        annotations
            .entry(crate::model::annotations::NETWORK_POLICIES)
            .or_insert_with(|| J::String("false".into()));
    }
    let metadata = &metadata;
    top.push((
        "metadata".into(),
        Out::Map(
            ordered(metadata, METADATA)
                .into_iter()
                .map(|(k, v)| (k, Out::Value(v)))
                .collect(),
        ),
    ));
    let order = match resource.kind {
        Kind::ClusterPeer => CLUSTER_PEER_SPEC,
        _ => PEER_SPEC,
    };
    let defaults = spec_defaults(resource.kind);
    let spec = value["spec"].as_object().unwrap_or(&empty);
    let mut fields = Vec::new();
    for (key, field) in ordered(spec, order) {
        if key == "resources" {
            let resources = field.as_object().unwrap_or(&empty);
            let kept: Vec<(String, Out)> = ordered(resources, RESOURCES)
                .into_iter()
                .filter(|(k, v)| keep_defaults || !default_quantity(k, v))
                .map(|(k, v)| (k, Out::Value(v)))
                .collect();
            if !kept.is_empty() {
                fields.push((key, Out::Map(kept)));
            }
            continue;
        }
        let is_default = is_default(&defaults, &key, &field);
        let is_empty = match &field {
            J::Array(a) => a.is_empty(),
            J::Object(o) => o.is_empty(),
            J::String(s) => s.is_empty(),
            _ => false,
        };
        if !is_empty && (keep_defaults || !is_default) {
            fields.push((key, Out::Value(field)));
        }
    }
    if !fields.is_empty() || resource.kind == Kind::ClusterPeer {
        top.push(("spec".into(), Out::Map(fields)));
    }
    Out::Map(top)
}

/// What the operator's defaulting webhook writes, as the resolved configuration of an empty
/// spec: its fields in snake case, with the values every default resolves to.
fn spec_defaults(kind: Kind) -> J {
    let annotations = BTreeMap::new();
    let config = match kind {
        Kind::ClusterPeer => serde_json::to_value(defaults::cluster_peer(
            &crate::model::ClusterPeerSpec::default(),
            &annotations,
        )),
        _ => serde_json::to_value(defaults::peer(
            &crate::model::PeerSpec::default(),
            &annotations,
        )),
    };
    config.unwrap_or_default()
}

/// Whether a spec field is written as the value its default resolves to.
fn is_default(defaults: &J, field: &str, value: &J) -> bool {
    let snake = field.chars().fold(String::new(), |mut out, c| {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        out
    });
    defaults
        .get(snake)
        .is_some_and(|default| !default.is_null() && default == value)
}

/// A quantity equal to the operator's default, however it is spelt.
fn default_quantity(field: &str, value: &J) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let default = defaults::compute(None);
    match field {
        "cpu" => quantity::cpu_millis(text).map(u128::from) == default.cpu.value,
        "cpuLimit" => quantity::cpu_millis(text).map(u128::from) == default.cpu_limit.value,
        "memory" => quantity::bytes(text) == default.memory.value,
        "memoryLimit" => quantity::bytes(text) == default.memory_limit.value,
        "storage" => quantity::bytes(text) == default.storage.value,
        _ => false,
    }
}
