//! The deprecated Swarm. Each node becomes the Peer that `kotalc migrate` writes, with a fixed
//! identity and full-mesh peering, parsed from that very YAML: building a Swarm and building
//! its migration cannot differ. The private keys stay behind; the Peers name Secrets for them.

use std::collections::BTreeMap;

use serde_json::{Value as J, json};

use crate::check::validate;
use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic};
use crate::ipfs::keys;
use crate::ipfs::peer_id::PeerId;
use crate::kube::names::MAX_NAME;
use crate::model::annotations::{
    ALLOW, API_CLIENTS, CLUSTER_DNS, IDENTITY_SECRET, NETWORK_POLICIES, OPEN_EGRESS, PEER_ID,
    PEERING,
};
use crate::model::defaults;
use crate::model::parse::span_of;
use crate::model::parse::{self, Object, Parsed, Resource};
use crate::model::{Profile, Swarm, SwarmNode};

/// A node lowered to a Peer: the Peer's YAML, and what `migrate` needs to seal its key.
pub struct LoweredNode {
    pub peer_name: String,
    pub yaml: String,
    pub identity_secret: String,
    pub peer_id: String,
    pub private_key: String,
}

/// A Swarm that passes its checks: its index among the resources, and its nodes.
pub struct Lowered {
    pub resource: usize,
    pub nodes: Vec<LoweredNode>,
}

/// Checks every Swarm; returns the nodes of each one without an error.
pub fn check_all(parsed: &Parsed, diagnostics: &mut Vec<Diagnostic>) -> Vec<Lowered> {
    let mut lowered = Vec::new();
    for (index, resource) in parsed.resources.iter().enumerate() {
        let Some(Object::Swarm(swarm)) = &resource.object else {
            continue;
        };
        if let Some(nodes) = check(resource, swarm, diagnostics) {
            lowered.push(Lowered {
                resource: index,
                nodes,
            });
        }
    }
    lowered
}

/// Appends the Peers of the Swarms `check_all` passed to the resources. The Swarm itself
/// stays, without configuration, so that its metadata is still checked.
pub fn lower(
    parsed: &mut Parsed,
    sources: &mut Sources,
    swarms: Vec<Lowered>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut added = Vec::new();
    for Lowered { resource, nodes } in swarms {
        let resource = &parsed.resources[resource];
        let Some(Object::Swarm(swarm)) = &resource.object else {
            continue;
        };
        let display = sources.get(resource.root.span.file).path.clone();
        for node in nodes {
            let file = sources.add(
                format!(
                    "{display} (Swarm {:?} as Peer {:?})",
                    swarm.metadata.name, node.peer_name
                ),
                node.yaml,
            );
            match crate::input::yaml::parse_documents(file, &sources.get(file).text, diagnostics) {
                Ok(docs) => added.extend(docs),
                Err(d) => diagnostics.push(d),
            }
        }
    }
    // The lowered Peers are Kotal resources: no hint of theirs names a setting.
    for doc in added {
        let front = crate::diagnostic::settings::Front::default();
        parse::parse_document(doc, false, front, parsed, diagnostics);
    }
}

/// The Swarm rules of spec 1.4 and the key checks. Returns the lowered nodes when the Swarm
/// has no error; warnings and notes are reported either way.
fn check(
    resource: &Resource,
    swarm: &Swarm,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<LoweredNode>> {
    let namespace = resource.namespace.as_deref();
    let errors_before = diagnostics.iter().filter(|d| d.is_error()).count();
    let mut scratch = Vec::new();
    let allowed = crate::model::annotations::allowed(resource, &mut scratch);
    let warn = |d: Diagnostic, diagnostics: &mut Vec<Diagnostic>| {
        if !allowed.contains(&d.code) {
            diagnostics.push(d);
        }
    };
    warn(
        Diagnostic::new(
            Code::SwarmDeprecated,
            format!(
                "Swarm {:?} is deprecated by Kotal; kotalc renders its nodes as Peers",
                swarm.metadata.name
            ),
        )
        .at(span_of(resource, "kind"))
        .field("kind")
        .help("`kotalc migrate` rewrites it as those Peers, with the private keys sealed"),
        diagnostics,
    );
    if !swarm.spec.nodes.is_empty() {
        warn(
            Diagnostic::new(
                Code::PlaintextPrivateKey,
                "this Swarm holds its nodes' private keys in plain text: they are in git, and in \
                 its history",
            )
            // At `nodes`, never at a key: the snippet would print it.
            .at(resource
                .root
                .key_span("spec.nodes")
                .unwrap_or(resource.root.span))
            .field("spec.nodes[*].privateKey")
            .help(format!(
                "migrate with `{}`, then rotate the identities or purge the keys from the \
                 repository's history",
                crate::diagnostic::shell::command(&[
                    "kotalc",
                    "migrate",
                    "--cert",
                    "<controller.pem>"
                ])
            )),
            diagnostics,
        );
    } else if resource.root.at("spec.nodes").is_some() {
        diagnostics.push(
            Diagnostic::new(Code::RequiredField, "a Swarm needs at least one node")
                .at(span_of(resource, "spec.nodes"))
                .field("spec.nodes"),
        );
    }

    let swarm_name = &swarm.metadata.name;
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, node) in swarm.spec.nodes.iter().enumerate() {
        let base = format!("spec.nodes[{i}]");
        let at = |field: &str| format!("{base}.{field}");
        if let Some(&first) = names.get(node.name.as_str()) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateItem,
                    format!("node name {:?} is used twice", node.name),
                )
                .at(span_of(resource, &at("name")))
                .field(at("name"))
                .related(
                    span_of(resource, &format!("spec.nodes[{first}].name")),
                    "first used here",
                ),
            );
        } else {
            names.insert(&node.name, i);
        }
        let peer_name = format!("{swarm_name}-{}", node.name);
        if let Some(problem) = crate::kube::names::dns1035_label(&peer_name, MAX_NAME) {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidName,
                    format!("the node's Peer {peer_name:?} is not a valid name: {problem}"),
                )
                .at(span_of(resource, &at("name")))
                .field(at("name"))
                .help(format!(
                    "each node becomes a Peer named <swarm>-<node>, at most {MAX_NAME} characters"
                )),
            );
        }
        node_identity(resource, node, &at, diagnostics);
        for (j, profile) in node.profiles.iter().flatten().enumerate() {
            let path = at(&format!("profiles[{j}]"));
            match profile {
                Profile::Badgerds => diagnostics.push(
                    Diagnostic::new(
                        Code::UnsupportedProfile,
                        "the badger datastore cannot be carried over: kubo deprecated it, and a \
                         Peer's datastore profile applies only when a repository is created",
                    )
                    .at(span_of(resource, &path))
                    .field(&path)
                    .help("convert the node's repository to flatfs (`ipfs-ds-convert`) first"),
                ),
                Profile::Flatfs | Profile::DefaultDatastore => diagnostics.push(
                    Diagnostic::new(
                        Code::ProfileDropped,
                        format!(
                            "{:?} is dropped: the repository already has its datastore, and \
                             flatfs is kubo's default",
                            profile.as_str()
                        ),
                    )
                    .at(span_of(resource, &path))
                    .field(&path),
                ),
                _ => {}
            }
        }
        let compute = defaults::compute(node.resources.as_ref());
        validate::compute(resource, &at("resources"), &compute, true, diagnostics);
    }
    if diagnostics.iter().filter(|d| d.is_error()).count() != errors_before {
        return None;
    }

    let members: Vec<Member> = swarm
        .spec
        .nodes
        .iter()
        .map(|node| Member {
            name: format!("{swarm_name}-{}", node.name),
            peer_id: node.id.clone(),
        })
        .collect();
    let mut lowered = Vec::new();
    for (i, node) in swarm.spec.nodes.iter().enumerate() {
        let peer_name = members[i].name.clone();
        let identity_secret = identity_secret(&peer_name);
        let mut annotations: BTreeMap<String, String> = swarm
            .metadata
            .annotations
            .iter()
            .filter(|(k, _)| {
                !k.starts_with(crate::model::annotations::PREFIX)
                    || [
                        ALLOW,
                        API_CLIENTS,
                        CLUSTER_DNS,
                        NETWORK_POLICIES,
                        OPEN_EGRESS,
                    ]
                    .contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        annotations.extend(mesh_annotations(&members, i));
        let mut metadata = json!({ "name": peer_name, "annotations": annotations });
        if let Some(ns) = namespace {
            metadata["namespace"] = json!(ns);
        }
        if !swarm.metadata.labels.is_empty() {
            metadata["labels"] = json!(swarm.metadata.labels);
        }
        let mut spec = json!({ "routing": "dht", "api": false, "gateway": false });
        let profiles: Vec<&str> = node
            .profiles
            .iter()
            .flatten()
            .filter(|p| !matches!(p, Profile::Flatfs | Profile::DefaultDatastore))
            .map(|p| p.as_str())
            .collect();
        if !profiles.is_empty() {
            spec["profiles"] = json!(profiles);
        }
        if let Some(resources) = resources(resource, node, i, diagnostics) {
            spec["resources"] = resources;
        }
        let peer = json!({
            "apiVersion": crate::model::API_VERSION,
            "kind": "Peer",
            "metadata": metadata,
            "spec": spec,
        });
        lowered.push(LoweredNode {
            yaml: crate::diagnostic::manifest_text(&peer).unwrap_or_default(),
            peer_name,
            identity_secret,
            peer_id: node.id.clone(),
            private_key: node.private_key.clone(),
        });
    }
    Some(lowered)
}

/// A Peer of a full mesh: its name, which is its Service's, and its fixed peer ID.
pub struct Member {
    pub name: String,
    pub peer_id: String,
}

/// The Secret that holds a Peer's fixed identity.
pub fn identity_secret(peer: &str) -> String {
    format!("{peer}-identity")
}

/// The addresses of every member but `members[i]`, at `port`, with their peer IDs.
pub fn others(members: &[Member], i: usize, port: u16) -> Vec<String> {
    members
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(_, other)| format!("/dns4/{}/tcp/{port}/p2p/{}", other.name, other.peer_id))
        .collect()
}

/// The annotations that give `members[i]` its fixed identity and peer it with every other
/// member, at its Service's swarm port; no peering list when it is alone.
pub fn mesh_annotations(members: &[Member], i: usize) -> BTreeMap<String, String> {
    let own = &members[i];
    let mut annotations = BTreeMap::from([
        (PEER_ID.to_string(), own.peer_id.clone()),
        (IDENTITY_SECRET.to_string(), identity_secret(&own.name)),
    ]);
    let others = others(members, i, validate::SWARM_PORT);
    if !others.is_empty() {
        annotations.insert(PEERING.to_string(), others.join(","));
    }
    annotations
}

/// Checks a node's ID and that its private key belongs to it. The key is never echoed.
fn node_identity(
    resource: &Resource,
    node: &SwarmNode,
    at: &dyn Fn(&str) -> String,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<PeerId> {
    let id = match PeerId::parse(&node.id) {
        Ok(id) => Some(id),
        Err(problem) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidPeerId,
                    format!("Invalid value: {:?}: {problem}", node.id),
                )
                .at(span_of(resource, &at("id")))
                .field(at("id")),
            );
            None
        }
    };
    // Key problems point at the node's name: a snippet of the privateKey line would print
    // the key.
    let name_span = span_of(resource, &at("name"));
    match keys::check_private_key(node.private_key.trim().as_bytes()) {
        Err(problem) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidSecretValue,
                    format!("not a usable private key: {problem}"),
                )
                .at(name_span)
                .field(at("privateKey"))
                .label("the privateKey of this node"),
            );
            None
        }
        Ok(derived) => match id {
            Some(id) if id != derived => {
                diagnostics.push(
                    Diagnostic::new(
                        Code::IdentityMismatch,
                        format!(
                            "the node's privateKey belongs to peer ID {derived}, not to its id {}",
                            node.id
                        ),
                    )
                    .at(name_span)
                    .field(at("privateKey"))
                    .label("the privateKey of this node")
                    .related(span_of(resource, &at("id")), "the id given")
                    .help("the key and the ID were probably copied from different nodes"),
                );
                None
            }
            _ => id,
        },
    }
}

/// The node's resources as the Peer's, with memoryLimit raised above memory where they are
/// equal (a Peer needs it strictly greater).
fn resources(
    resource: &Resource,
    node: &SwarmNode,
    index: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<J> {
    let given = node.resources.as_ref()?;
    let mut value = serde_json::to_value(given).unwrap_or_default();
    let compute = defaults::compute(Some(given));
    if compute.memory_limit.value.is_some() && compute.memory_limit.value == compute.memory.value {
        let bytes = compute.memory.value.unwrap_or_default();
        let raised = format!("{}Ki", bytes / 1024 + 1);
        let path = format!("spec.nodes[{index}].resources.memoryLimit");
        diagnostics.push(
            Diagnostic::new(
                Code::MemoryLimitRaised,
                format!(
                    "memoryLimit {} equals memory, which a Peer refuses; the Peer gets {raised}, \
                     the smallest limit above it",
                    compute.memory_limit.written
                ),
            )
            .at(span_of(resource, &path))
            .field(path),
        );
        value["memoryLimit"] = json!(raised);
    }
    Some(value)
}
