//! Checks that need the whole input set: resources that refer to each other by name must fit
//! together, because in the cluster nothing would say so until a pod fails to connect.

use std::collections::{BTreeMap, BTreeSet};

use super::validate::SWARM_PORT;
use crate::diagnostic::source::{Sources, Span};
use crate::diagnostic::{Code, Diagnostic};
use crate::ipfs::multiaddr::{self, Host, Shape};
use crate::ipfs::peer_id::PeerId;
use crate::model::defaults::Config;
use crate::model::defaults::{ClusterPeerConfig, PeerConfig};
use crate::model::parse::Resource;
use crate::model::parse::span_of;
use crate::model::references::Reference;

/// The port a ClusterPeer's Service exposes for other cluster peers.
pub const CLUSTER_SWARM_PORT: u16 = 9096;

/// The resources of the set, with their configurations and the warnings each allows.
pub struct Set<'a> {
    pub resources: &'a [Resource],
    pub configs: &'a [Option<Config>],
    pub allowed: &'a [BTreeSet<Code>],
    /// Every Secret reference of the set, computed once for every check that needs it.
    pub references: &'a [Reference],
    /// The input texts, to point at one entry of a comma-separated annotation.
    pub sources: &'a Sources,
}

impl<'a> Set<'a> {
    fn namespace(&self, i: usize) -> &'a str {
        self.resources[i].namespace_or_empty()
    }

    fn peers(&self) -> impl Iterator<Item = (usize, &'a PeerConfig)> + 'a {
        self.configs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Some(Config::Peer(p)) => Some((i, p)),
                _ => None,
            })
    }

    fn cluster_peers(&self) -> impl Iterator<Item = (usize, &'a ClusterPeerConfig)> + 'a {
        self.configs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Some(Config::ClusterPeer(p)) => Some((i, p)),
                _ => None,
            })
    }

    fn who(&self, i: usize) -> String {
        let r = &self.resources[i];
        format!("{} {:?}", r.kind.name(), r.name)
    }

    fn name_span(&self, i: usize) -> Span {
        let r = &self.resources[i];
        r.root.key_span("metadata.name").unwrap_or(r.root.span)
    }
}

pub fn check(set: &Set<'_>, diagnostics: &mut Vec<Diagnostic>) {
    endpoints(set, diagnostics);
    bootstraps(set, diagnostics);
    peerings(set, diagnostics);
    peer_ids(set, diagnostics);
    secrets(set, diagnostics);
    rest_credentials(set, diagnostics);
}

/// The peers of one cluster (one cluster secret in one namespace) share one REST credential:
/// `ipfs-cluster-ctl` reaches any of them with the same `--basic-auth`, and a peer without it
/// would leave the cluster's pinset open to every client its policy admits.
fn rest_credentials(set: &Set<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<(&str, &str), (usize, Option<&str>)> = BTreeMap::new();
    for (i, cluster) in set.cluster_peers() {
        let key = (set.namespace(i), cluster.cluster_secret_name.as_str());
        let mine = cluster.rest_credentials_secret.as_deref();
        let Some(&(f, theirs)) = first.get(&key) else {
            first.insert(key, (i, mine));
            continue;
        };
        if theirs == mine {
            continue;
        }
        let describe = |c: Option<&str>| match c {
            Some(name) => format!("the REST credentials of Secret {name:?}"),
            None => "no REST credentials".to_string(),
        };
        let annotation = crate::model::annotations::REST_CREDENTIALS_SECRET;
        let at = |r: usize| match crate::model::parse::annotation(&set.resources[r], annotation) {
            Some((_, node)) => node.span,
            None => set.name_span(r),
        };
        diagnostics.push(
            Diagnostic::new(
                Code::RestCredentialsMismatch,
                format!(
                    "{} has {} but {}, of the same cluster (cluster secret {:?}), has {}",
                    set.who(i),
                    describe(mine),
                    set.who(f),
                    cluster.cluster_secret_name,
                    describe(theirs)
                ),
            )
            .at(at(i))
            .field(format!("metadata.annotations[{annotation}]"))
            .related(at(f), "the cluster's first peer")
            .help(format!(
                "give every ClusterPeer of the cluster the same {annotation}: a client reaches \
                 any peer with one --basic-auth, and a peer without it serves its REST API to \
                 anyone its NetworkPolicy admits"
            )),
        );
    }
}

/// The (namespace, name) of the Service a DNS host names: `peer` in the caller's namespace,
/// or `peer.ns`, `peer.ns.svc` and `peer.ns.svc.<cluster domain>`.
pub fn service(host: &Host, namespace: &str) -> Option<(String, String)> {
    let Host::Dns(name) = host else { return None };
    let parts: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    match parts.as_slice() {
        [service] => Some((namespace.to_string(), service.to_string())),
        [service, ns] => Some((ns.to_string(), service.to_string())),
        [service, ns, "svc", ..] => Some((ns.to_string(), service.to_string())),
        _ => None,
    }
}

fn index<'a, T>(
    set: &Set<'a>,
    items: impl Iterator<Item = (usize, T)>,
) -> BTreeMap<(String, String), (usize, T)> {
    items
        .map(|(i, item)| {
            let key = (set.namespace(i).to_string(), set.resources[i].name.clone());
            (key, (i, item))
        })
        .collect()
}

/// The resource of `index` that an address with a peer ID, written by resource `a`, names
/// (not `a` itself), with the address.
fn named<T: Copy>(
    set: &Set<'_>,
    index: &BTreeMap<(String, String), (usize, T)>,
    a: usize,
    text: &str,
) -> Option<(multiaddr::Multiaddr, usize, T)> {
    let address = multiaddr::parse(text, Shape::WithPeer).ok()?;
    let &(b, target) = service(&address.host, set.namespace(a)).and_then(|key| index.get(&key))?;
    (a != b).then_some((address, b, target))
}

/// A ClusterPeer's `peerEndpoint` that names a Peer of the set must reach its RPC API.
fn endpoints(set: &Set<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let peers = index(set, set.peers());
    for (c, cluster) in set.cluster_peers() {
        let Ok(endpoint) = multiaddr::parse(&cluster.peer_endpoint, Shape::Endpoint) else {
            continue;
        };
        let Some(&(p, peer)) =
            service(&endpoint.host, set.namespace(c)).and_then(|key| peers.get(&key))
        else {
            continue;
        };
        let peer_resource = &set.resources[p];
        let mut reasons = Vec::new();
        let mut d = Diagnostic::new(Code::EndpointApiClosed, String::new())
            .at(span_of(&set.resources[c], "spec.peerEndpoint"))
            .field("spec.peerEndpoint")
            .label(format!("{} is reached here", set.who(p)));
        let mut help = Vec::new();
        let mut notes: Vec<(Span, String)> = Vec::new();
        if !peer.api {
            reasons.push("its api is false, so the RPC API listens on 127.0.0.1 only".to_string());
            notes.push(match peer_resource.root.at("spec.api") {
                Some(node) => (node.span, "api is false here".to_string()),
                None => (set.name_span(p), "api defaults to false".to_string()),
            });
            help.push(format!("set `api: true` on {}", set.who(p)));
        }
        if peer.api_port != endpoint.port {
            reasons.push(format!(
                "it serves the RPC API on port {}, not {}",
                peer.api_port, endpoint.port
            ));
            notes.push(match peer_resource.root.at("spec.apiPort") {
                Some(node) => (node.span, format!("apiPort is {} here", peer.api_port)),
                None => (
                    set.name_span(p),
                    format!("apiPort defaults to {}", peer.api_port),
                ),
            });
            help.push(format!(
                "point peerEndpoint at port {}: {}",
                peer.api_port,
                cluster.peer_endpoint.replacen(
                    &format!("/tcp/{}", endpoint.port),
                    &format!("/tcp/{}", peer.api_port),
                    1
                )
            ));
        }
        if reasons.is_empty() {
            continue;
        }
        // Notes on the same place (two defaults, both at the Peer's name) are drawn once.
        notes.sort_by_key(|(span, _)| (span.line, span.col));
        let mut merged: Vec<(Span, String)> = Vec::new();
        for (span, note) in notes {
            match merged.last_mut() {
                Some((last, text)) if *last == span => *text = format!("{text}; {note}"),
                _ => merged.push((span, note)),
            }
        }
        for (span, note) in merged {
            d = d.related(span, format!("{}: {note}", set.who(p)));
        }
        d.message = format!(
            "{} cannot reach the RPC API of {}: {}",
            set.who(c),
            set.who(p),
            reasons.join("; ")
        );
        diagnostics.push(d.help(help.join(", and ")));
    }
}

/// A bootstrap address that names a ClusterPeer of the set must carry its ID and port, and
/// peers that bootstrap to each other should share a cluster secret.
fn bootstraps(set: &Set<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let clusters = index(set, set.cluster_peers());
    for (a, cluster) in set.cluster_peers() {
        let resource = &set.resources[a];
        for (path, text) in crate::model::parse::items(resource, "spec.bootstrapPeers") {
            let Some((address, b, target)) = named(set, &clusters, a, text) else {
                continue;
            };
            let target_resource = &set.resources[b];
            let span = span_of(resource, &path);
            let mut d = Diagnostic::new(Code::BootstrapMismatch, String::new())
                .at(span)
                .field(&path);
            let mut reasons = Vec::new();
            let wanted = target.id.as_deref().and_then(|id| PeerId::parse(id).ok());
            if let (Some(wanted), Some((written, given))) = (&wanted, &address.peer)
                && wanted != given
            {
                reasons.push(format!(
                    "its peer ID is {:?}, not {written:?}",
                    target.id.as_deref().unwrap_or_default()
                ));
                d = d.related(span_of(target_resource, "spec.id"), "its id is set here");
            }
            if address.port != CLUSTER_SWARM_PORT {
                reasons.push(format!(
                    "it listens for cluster peers on port {CLUSTER_SWARM_PORT}, not {}",
                    address.port
                ));
                d = d.related(set.name_span(b), format!("{} is defined here", set.who(b)));
            }
            if !reasons.is_empty() {
                d.message = format!(
                    "this bootstrap address names {}, but {}",
                    set.who(b),
                    reasons.join("; ")
                );
                diagnostics.push(d);
            }
            if target.cluster_secret_name != cluster.cluster_secret_name
                && !set.allowed[a].contains(&Code::ClusterSecretMismatch)
            {
                diagnostics.push(
                    Diagnostic::new(
                        Code::ClusterSecretMismatch,
                        format!(
                            "this bootstrap address names {}, whose cluster secret is {:?}, but \
                             this ClusterPeer's is {:?}",
                            set.who(b),
                            target.cluster_secret_name,
                            cluster.cluster_secret_name
                        ),
                    )
                    .at(span)
                    .field(&path)
                    .related(
                        span_of(target_resource, "spec.clusterSecretName"),
                        "its cluster secret",
                    )
                    .help(
                        "cluster peers connect only when their cluster secrets are equal; name \
                         the same Secret unless both Secrets hold the same value",
                    ),
                );
            }
        }
    }
}

/// A `kotalc.io/peering` address that names a Peer of the set must carry its fixed peer ID
/// and swarm port, and Peers that peer should share a swarm key: otherwise kubo dials an
/// address where nobody with that ID answers, or a handshake the swarm key refuses.
fn peerings(set: &Set<'_>, diagnostics: &mut Vec<Diagnostic>) {
    use crate::model::annotations::{IDENTITY_SECRET, PEER_ID, PEERING};
    let peers = index(set, set.peers());
    let field = format!("metadata.annotations[{PEERING}]");
    for (a, peer) in set.peers() {
        let resource = &set.resources[a];
        let Some((_, node)) = crate::model::parse::annotation(resource, PEERING) else {
            continue;
        };
        let entries: Vec<&str> = node
            .as_str()
            .map(|list| crate::model::annotations::list(list).collect())
            .unwrap_or_default();
        let spans = set.sources.locate(node.span, entries.iter().copied());
        for (entry, span) in entries.into_iter().zip(spans) {
            let Some((address, b, target)) = named(set, &peers, a, entry) else {
                continue;
            };
            let target_resource = &set.resources[b];
            let name = &target_resource.name;
            let mut d = Diagnostic::new(Code::PeeringMismatch, String::new())
                .at(span)
                .field(&field);
            let mut reasons = Vec::new();
            let mut fixed = entry.to_string();
            let wanted = target
                .identity
                .as_ref()
                .and_then(|identity| PeerId::parse(&identity.peer_id).ok());
            if let (Some(wanted), Some((written, given))) = (&wanted, &address.peer)
                && wanted != given
            {
                reasons.push(format!(
                    "its peer ID is {:?}, not {written:?}",
                    wanted.to_base58()
                ));
                fixed = fixed.replacen(
                    &format!("/p2p/{written}"),
                    &format!("/p2p/{}", wanted.to_base58()),
                    1,
                );
                if let Some((_, id)) = crate::model::parse::annotation(target_resource, PEER_ID) {
                    d = d.related(id.span, format!("the {PEER_ID} of {}", set.who(b)));
                }
            }
            if address.port != SWARM_PORT {
                reasons.push(format!(
                    "its swarm listens on port {SWARM_PORT}, not {}",
                    address.port
                ));
                fixed = fixed.replacen(
                    &format!("/tcp/{}/", address.port),
                    &format!("/tcp/{SWARM_PORT}/"),
                    1,
                );
                d = d.related(set.name_span(b), format!("{} is defined here", set.who(b)));
            }
            if !reasons.is_empty() {
                d.message = format!(
                    "this peering address names {}, but {}",
                    set.who(b),
                    reasons.join("; ")
                );
                diagnostics.push(d.help(format!("write the entry as {fixed}")));
            }
            if target.identity.is_none() && !set.allowed[a].contains(&Code::PeeringWithoutIdentity)
            {
                diagnostics.push(
                    Diagnostic::new(
                        Code::PeeringWithoutIdentity,
                        format!(
                            "this peering address names {}, which has no fixed identity: its \
                             peer ID is made when its repository is created, and changes when \
                             its volume is replaced, so no ID written here stays right",
                            set.who(b)
                        ),
                    )
                    .at(span)
                    .field(&field)
                    .related(set.name_span(b), format!("{} is defined here", set.who(b)))
                    .help(format!(
                        "give {} a fixed identity: `{}` prints the annotations {PEER_ID} and \
                         {IDENTITY_SECRET} to add to it",
                        set.who(b),
                        crate::diagnostic::shell::seal(
                            Some(set.namespace(b)).filter(|n| !n.is_empty()),
                            &format!("{name}-identity"),
                            &[
                                "--generate",
                                "peer-identity",
                                "-o",
                                &crate::kube::manifest::file(
                                    "SealedSecret",
                                    None,
                                    &format!("{name}-identity"),
                                ),
                            ],
                        ),
                    )),
                );
            }
            if target.swarm_key_secret_name != peer.swarm_key_secret_name
                && !set.allowed[a].contains(&Code::SwarmKeyMismatch)
            {
                let key = |name: &Option<String>| match name {
                    Some(name) => format!("the swarm key {name:?}"),
                    None => "no swarm key (it is public)".to_string(),
                };
                let mut d = Diagnostic::new(
                    Code::SwarmKeyMismatch,
                    format!(
                        "this peering address names {}, which has {}, but this Peer has {}",
                        set.who(b),
                        key(&target.swarm_key_secret_name),
                        key(&peer.swarm_key_secret_name)
                    ),
                )
                .at(span)
                .field(&field);
                d = match target_resource.root.at("spec.swarmKeySecretName") {
                    Some(node) => d.related(node.span, "its swarm key"),
                    None => d.related(set.name_span(b), format!("{} is defined here", set.who(b))),
                };
                diagnostics.push(d.help(
                    "peers connect only when both have the same swarm key, or both none; name \
                     the same Secret unless both Secrets hold the same key",
                ));
            }
        }
    }
}

/// Two peers with one ID would fight over the same identity in the cluster.
fn peer_ids(set: &Set<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<String, (usize, Span)> = BTreeMap::new();
    for r in set.references {
        let Some(id) = r.id.as_deref().and_then(|id| PeerId::parse(id).ok()) else {
            continue;
        };
        // The base58 form, so that one ID written in two forms is still one ID.
        let id = id.to_base58();
        let (span, field) = id_span(&set.resources[r.resource]);
        match seen.get(&id) {
            Some(&(first, first_span)) => diagnostics.push(
                Diagnostic::new(
                    Code::DuplicatePeerId,
                    format!(
                        "{} and {} claim the same peer ID {:?}",
                        set.who(r.resource),
                        set.who(first),
                        id
                    ),
                )
                .at(span)
                .field(field)
                .related(first_span, "claimed here first")
                .help("every peer needs an identity, a key pair, of its own"),
            ),
            None => {
                seen.insert(id, (r.resource, span));
            }
        }
    }
}

/// Where a resource states its peer ID: `spec.id`, or a Peer's `kotalc.io/peer-id`.
fn id_span(resource: &Resource) -> (Span, String) {
    match crate::model::parse::annotation(resource, crate::model::annotations::PEER_ID) {
        Some((_, node)) => (
            node.span,
            format!(
                "metadata.annotations[{}]",
                crate::model::annotations::PEER_ID
            ),
        ),
        None => (span_of(resource, "spec.id"), "spec.id".to_string()),
    }
}

/// What a referenced Secret is for, by the data key its users read.
fn purpose(key: &str) -> &'static str {
    match key {
        "swarm.key" => "swarm key",
        "secret" => "cluster secret",
        "credentials" => "REST credentials",
        _ => "private key",
    }
}

/// One Secret serves one purpose in a namespace, and a private key belongs to one peer.
fn secrets(set: &Set<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<(&str, &str), &Reference> = BTreeMap::new();
    for r in set.references {
        let key = (set.namespace(r.resource), r.name.as_str());
        let Some(&f) = first.get(&key) else {
            first.insert(key, r);
            continue;
        };
        let name = &r.name;
        let message = if r.key != f.key {
            format!(
                "Secret {name:?} is the {} of {} and the {} of {}",
                purpose(f.key),
                set.who(f.resource),
                purpose(r.key),
                set.who(r.resource)
            )
        } else if r.key == "key" && r.resource != f.resource {
            format!(
                "Secret {name:?} holds the private key of both {} and {}: two peers cannot \
                 share one identity",
                set.who(f.resource),
                set.who(r.resource)
            )
        } else {
            continue;
        };
        diagnostics.push(
            Diagnostic::new(Code::SecretConflict, message)
                .at(r.span)
                .field(&r.field)
                .related(f.span, format!("used as the {} here", purpose(f.key)))
                .help("give each purpose, and each peer's key, a Secret of its own"),
        );
    }
}
