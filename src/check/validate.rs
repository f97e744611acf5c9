//! Every semantic rule of spec sections 1.1-1.5, on defaulted resources, plus the checks that
//! need the whole input set. Every rule reports and moves on: one run shows every problem.

use std::collections::BTreeMap;

use crate::diagnostic::source::Span;
use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml::Node;
use crate::ipfs::multiaddr::{self, Shape};
use crate::ipfs::peer_id::PeerId;
use crate::kube::names::{
    MAX_NAME, dns_label, dns_subdomain, dns1035_label, label_value, qualified_name,
};
use crate::model::defaults::Config;
use crate::model::defaults::{ClusterPeerConfig, Compute, PeerConfig, Quantity};
use crate::model::parse::Resource;
use crate::model::parse::{annotation, span_of};

fn invalid(resource: &Resource, code: Code, path: &str, message: String) -> Diagnostic {
    Diagnostic::new(code, message)
        .at(span_of(resource, path))
        .field(path)
}

pub fn resource(resource: &Resource, config: &Config, diagnostics: &mut Vec<Diagnostic>) {
    metadata(resource, diagnostics);
    compute(
        resource,
        "spec.resources",
        config.compute(),
        false,
        diagnostics,
    );
    match config {
        Config::Peer(peer) => peer_rules(resource, peer, diagnostics),
        Config::ClusterPeer(cluster) => cluster_peer_rules(resource, cluster, diagnostics),
    }
}

fn metadata(resource: &Resource, diagnostics: &mut Vec<Diagnostic>) {
    let named = resource.root.at("metadata.name").is_some();
    if let Some(problem) = dns1035_label(&resource.name, MAX_NAME).filter(|_| named) {
        diagnostics.push(
            invalid(
                resource,
                Code::InvalidName,
                "metadata.name",
                format!("Invalid value: {:?}: {problem}", resource.name),
            )
            .help(format!(
                "every rendered object takes this name; StatefulSet names over {MAX_NAME} \
                 characters break the controller-revision-hash label"
            )),
        );
    }
    // The document's own; the default namespace is checked once, where it is given.
    if let Some(ns) = resource
        .root
        .at("metadata.namespace")
        .and_then(Node::as_str)
        && let Some(problem) = dns_label(ns, 63)
    {
        diagnostics.push(invalid(
            resource,
            Code::InvalidName,
            "metadata.namespace",
            format!("Invalid value: {ns:?}: {problem}"),
        ));
    }
    for (section, values) in [("labels", true), ("annotations", false)] {
        let Some(crate::input::yaml::Node {
            value: crate::input::yaml::Value::Map(entries),
            ..
        }) = resource.root.at(&format!("metadata.{section}"))
        else {
            continue;
        };
        for (key, value) in entries {
            let path = format!("metadata.{section}[{}]", key.name);
            if let Some(problem) = qualified_name(&key.name) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidLabel,
                        format!("Invalid key: {:?}: {problem}", key.name),
                    )
                    .at(key.span)
                    .field(&path),
                );
            }
            if let (true, Some(text)) = (values, value.as_str())
                && let Some(problem) = label_value(text)
            {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidLabel,
                        format!("Invalid value: {text:?}: {problem}"),
                    )
                    .at(value.span)
                    .field(&path),
                );
            }
        }
    }
}

/// The resource rules of spec 1.1 on the compute resources at `base`. A Swarm node's
/// memoryLimit may equal its memory (spec 1.4).
pub fn compute(
    resource: &Resource,
    base: &str,
    compute: &Compute,
    memory_may_equal: bool,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let fields = [
        ("cpu", &compute.cpu),
        ("cpuLimit", &compute.cpu_limit),
        ("memory", &compute.memory),
        ("memoryLimit", &compute.memory_limit),
        ("storage", &compute.storage),
    ];
    for (field, quantity) in fields {
        if quantity.value.is_none() && !quantity.defaulted {
            let path = format!("{base}.{field}");
            diagnostics.push(invalid(
                resource,
                Code::QuantityTooLarge,
                &path,
                format!(
                    "Invalid value: {:?}: quantity is too large",
                    quantity.written
                ),
            ));
        }
    }
    // A field the schema check dropped is replaced by its default here; comparing with that
    // default would report a second, confusing problem for the same mistake.
    let dropped = |field: &str| {
        let path = format!("{base}.{field}");
        resource.root.at(&path).is_some() && fields.iter().any(|(f, q)| *f == field && q.defaulted)
    };
    let pair = |limit: &str, request: &str| !dropped(limit) && !dropped(request);
    if pair("cpuLimit", "cpu") && less(&compute.cpu_limit, &compute.cpu, false) {
        diagnostics.push(limit_error(
            resource,
            base,
            "cpuLimit",
            &compute.cpu_limit,
            "cpu",
            &compute.cpu,
            "must be greater than or equal to",
        ));
    }
    if pair("memoryLimit", "memory")
        && less(&compute.memory_limit, &compute.memory, !memory_may_equal)
    {
        diagnostics.push(limit_error(
            resource,
            base,
            "memoryLimit",
            &compute.memory_limit,
            "memory",
            &compute.memory,
            "must be greater than",
        ));
    }
}

/// `limit < request`, or `limit <= request` when the limit must be strictly greater.
fn less(limit: &Quantity, request: &Quantity, or_equal: bool) -> bool {
    match (limit.value, request.value) {
        (Some(l), Some(r)) => l < r || (or_equal && l == r),
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn limit_error(
    resource: &Resource,
    base: &str,
    limit_field: &str,
    limit: &Quantity,
    request_field: &str,
    request: &Quantity,
    relation: &str,
) -> Diagnostic {
    let limit_path = format!("{base}.{limit_field}");
    let point_at = if limit.defaulted {
        format!("{base}.{request_field}")
    } else {
        limit_path.clone()
    };
    let mut d = Diagnostic::new(
        Code::ResourceLimit,
        format!(
            "Invalid value: {:?}: {relation} {request_field} {}",
            limit.written, request.written
        ),
    )
    .at(span_of(resource, &point_at))
    .field(limit_path);
    let defaulted: Vec<String> = [(limit_field, limit), (request_field, request)]
        .iter()
        .filter(|(_, q)| q.defaulted)
        .map(|(f, q)| format!("{f} is not set and defaults to {}", q.written))
        .collect();
    if !defaulted.is_empty() {
        d = d
            .label(defaulted.join("; "))
            .help(format!("set {limit_field} explicitly"));
    }
    d
}

/// The port every Peer's swarm listens on, and its Service exposes.
pub const SWARM_PORT: u16 = 4001;

fn peer_rules(resource: &Resource, peer: &PeerConfig, diagnostics: &mut Vec<Diagnostic>) {
    if peer.api_port == peer.gateway_port {
        diagnostics.push(
            invalid(
                resource,
                Code::PortCollision,
                "spec.gatewayPort",
                format!(
                    "Invalid value: {}: must differ from apiPort {}",
                    peer.gateway_port, peer.api_port
                ),
            )
            .help("the RPC API and the gateway cannot listen on the same port"),
        );
    }
    for (field, port) in [
        ("apiPort", peer.api_port),
        ("gatewayPort", peer.gateway_port),
    ] {
        if port == SWARM_PORT {
            diagnostics.push(
                invalid(
                    resource,
                    Code::PortCollision,
                    &format!("spec.{field}"),
                    format!("Invalid value: {port}: must differ from the swarm port {SWARM_PORT}"),
                )
                .help("4001 is the swarm port of every peer"),
            );
        }
    }
    if let Some(secret) = &peer.swarm_key_secret_name {
        secret_name(resource, "spec.swarmKeySecretName", secret, diagnostics);
    }
    extra_args(resource, &peer.extra_args, diagnostics);
    non_empty(resource, "spec.image", &peer.image, diagnostics);
    peer_extensions(resource, diagnostics);
}

/// A Secret named by the annotation `key` must have a Secret's name.
fn annotated_secret_name(resource: &Resource, key: &str, diagnostics: &mut Vec<Diagnostic>) {
    if let Some((_, node)) = annotation(resource, key)
        && let Some(text) = node.as_str()
        && let Some(problem) = dns_subdomain(text)
    {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidName,
                format!("Invalid value: {text:?}: {problem}"),
            )
            .at(node.span)
            .field(format!("metadata.annotations[{key}]")),
        );
    }
}

/// `kotalc.io/peer-id` with `kotalc.io/identity-secret`, and `kotalc.io/peering`.
fn peer_extensions(resource: &Resource, diagnostics: &mut Vec<Diagnostic>) {
    use crate::model::annotations::{IDENTITY_SECRET, PEER_ID, PEERING};
    let field = |key: &str| format!("metadata.annotations[{key}]");
    let id = annotation(resource, PEER_ID);
    let secret = annotation(resource, IDENTITY_SECRET);
    match (id, secret) {
        (Some((span, _)), None) | (None, Some((span, _))) => {
            let (given, missing) = if id.is_some() {
                (PEER_ID, IDENTITY_SECRET)
            } else {
                (IDENTITY_SECRET, PEER_ID)
            };
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidAnnotation,
                    format!("{given:?} needs {missing:?} beside it"),
                )
                .at(span)
                .field(field(given))
                .help(
                    "a fixed identity is a peer ID and the Secret (data key `key`) holding its \
                     private key; give both or neither",
                ),
            );
        }
        _ => {}
    }
    if let Some((_, node)) = id
        && let Some(text) = node.as_str()
        && let Err(problem) = PeerId::parse(text)
    {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidPeerId,
                format!("Invalid value: {text:?}: {problem}"),
            )
            .at(node.span)
            .field(field(PEER_ID))
            .help(PEER_ID_HELP),
        );
    }
    annotated_secret_name(resource, IDENTITY_SECRET, diagnostics);
    if let Some((_, node)) = annotation(resource, PEERING)
        && let Some(list) = node.as_str()
    {
        let mut seen = std::collections::BTreeSet::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Err(problem) = multiaddr::parse(entry, Shape::WithPeer) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidMultiaddr,
                        format!("Invalid value: {entry:?}: {problem}"),
                    )
                    .at(node.span)
                    .field(field(PEERING))
                    .help(format!(
                        "a comma-separated list of {}",
                        Shape::WithPeer.example()
                    )),
                );
            } else if !seen.insert(entry) {
                diagnostics.push(
                    Diagnostic::new(Code::DuplicateItem, format!("{entry:?} is listed twice"))
                        .at(node.span)
                        .field(field(PEERING)),
                );
            }
        }
    }
}

fn cluster_peer_rules(
    resource: &Resource,
    cluster: &ClusterPeerConfig,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // Pointed at the field that is set: the one missing has no place of its own.
    let pair = |missing: &str, given: &str, help: &str| {
        Diagnostic::new(
            Code::RequiredField,
            format!("Invalid value: \"\": must provide {missing} if {given} is provided"),
        )
        .at(span_of(resource, &format!("spec.{given}")))
        .field(format!("spec.{missing}"))
        .label(format!("{given} is set here"))
        .help(help.to_string())
    };
    match (&cluster.id, &cluster.private_key_secret_name) {
        (Some(_), None) => diagnostics.push(pair(
            "privateKeySecretName",
            "id",
            "a fixed id needs the Secret holding its private key (data key `key`)",
        )),
        (None, Some(_)) => diagnostics.push(pair(
            "id",
            "privateKeySecretName",
            "give the peer ID that the private key belongs to",
        )),
        _ => {}
    }
    secret_name(
        resource,
        "spec.clusterSecretName",
        &cluster.cluster_secret_name,
        diagnostics,
    );
    if let Some(secret) = &cluster.private_key_secret_name {
        secret_name(resource, "spec.privateKeySecretName", secret, diagnostics);
    }
    annotated_secret_name(
        resource,
        crate::model::annotations::REST_CREDENTIALS_SECRET,
        diagnostics,
    );
    extra_args(resource, &cluster.extra_args, diagnostics);
    non_empty(resource, "spec.image", &cluster.image, diagnostics);
    peer_ids(resource, diagnostics);
    multiaddrs(resource, diagnostics);
}

const PEER_ID_HELP: &str =
    "a peer ID as `ipfs-cluster-service id` prints it: 12D3KooW… (base58btc) or k51… (CIDv1)";

fn peer_ids(resource: &Resource, diagnostics: &mut Vec<Diagnostic>) {
    let id = resource
        .root
        .at("spec.id")
        .and_then(Node::as_str)
        .map(|text| ("spec.id".to_string(), text));
    let trusted = crate::model::parse::items(resource, "spec.trustedPeers")
        .into_iter()
        .filter(|(_, text)| *text != "*");
    for (path, text) in id.into_iter().chain(trusted) {
        if let Err(problem) = PeerId::parse(text) {
            let mut d = invalid(
                resource,
                Code::InvalidPeerId,
                &path,
                format!("Invalid value: {text:?}: {problem}"),
            );
            d = d.help(if path.starts_with("spec.trustedPeers") {
                format!("{PEER_ID_HELP}, or \"*\" to trust every peer")
            } else {
                PEER_ID_HELP.to_string()
            });
            diagnostics.push(d);
        }
    }
}

fn multiaddrs(resource: &Resource, diagnostics: &mut Vec<Diagnostic>) {
    let endpoint = resource
        .root
        .at("spec.peerEndpoint")
        .and_then(Node::as_str)
        .map(|text| ("spec.peerEndpoint".to_string(), text, Shape::Endpoint));
    let bootstrap = crate::model::parse::items(resource, "spec.bootstrapPeers")
        .into_iter()
        .map(|(path, text)| (path, text, Shape::WithPeer));
    for (path, text, shape) in endpoint.into_iter().chain(bootstrap) {
        if let Err(problem) = multiaddr::parse(text, shape) {
            let message = format!("Invalid value: {text:?}: {problem}");
            let mut d = invalid(resource, Code::InvalidMultiaddr, &path, message);
            if !d.message.contains(shape.example()) {
                d = d.help(format!("expected a multiaddr as {}", shape.example()));
            }
            diagnostics.push(d);
        }
    }
}

fn non_empty(resource: &Resource, path: &str, value: &str, diagnostics: &mut Vec<Diagnostic>) {
    if value.trim().is_empty() {
        diagnostics.push(invalid(
            resource,
            Code::InvalidName,
            path,
            "Invalid value: \"\": must not be empty".into(),
        ));
    }
}

fn secret_name(resource: &Resource, path: &str, name: &str, diagnostics: &mut Vec<Diagnostic>) {
    // An absent required name is reported by the schema check already.
    if resource.root.at(path).is_none() {
        return;
    }
    if let Some(problem) = dns_subdomain(name) {
        diagnostics.push(invalid(
            resource,
            Code::InvalidName,
            path,
            format!("Invalid value: {name:?}: {problem}"),
        ));
    }
}

fn extra_args(
    resource: &Resource,
    args: &BTreeMap<String, String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if args.keys().any(|k| k.trim().is_empty()) {
        diagnostics.push(invalid(
            resource,
            Code::InvalidName,
            "spec.extraArgs",
            "Invalid value: \"\": argument names must not be empty".into(),
        ));
    }
}

/// Two resources of one kind, namespace and name: the second would silently replace the first.
pub fn duplicates(resources: &[Resource], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(String, String, String), Span> = BTreeMap::new();
    for r in resources {
        let ns = r.namespace_or_empty();
        let key = (r.kind.name().to_string(), ns.to_string(), r.name.clone());
        let span = r.root.key_span("metadata.name").unwrap_or(r.root.span);
        if let Some(first) = seen.get(&key) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateResource,
                    format!(
                        "{} {:?} is defined twice {}",
                        key.0,
                        key.2,
                        if ns.is_empty() {
                            "without a namespace".to_string()
                        } else {
                            format!("in namespace {ns}")
                        }
                    ),
                )
                .at(span)
                .field("metadata.name")
                .label("defined again here")
                .related(*first, "first defined here"),
            );
        } else {
            seen.insert(key, span);
        }
    }
}
