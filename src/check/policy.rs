//! The NetworkPolicy annotations and labels of one resource, and the namespaces of the grants
//! between resources, checked.

use std::collections::BTreeMap;

use crate::check::set::service;
use crate::diagnostic::settings::{Front, Setting};
use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml::Value;
use crate::ipfs::multiaddr::{self, Shape};
use crate::model::Kind;
use crate::model::annotations::{API_CLIENTS, CLUSTER_DNS, NETWORK_POLICIES, OPEN_EGRESS, PEERING};
use crate::model::defaults::Config;
use crate::model::parse::{Resource, span_of};
use crate::model::policy::{
    CLIENTS_HELP, CLUSTER_CLIENT_LABEL, CLUSTER_LABEL, DNS_HELP, POLICY_LABELS, SWARM_LABEL,
    clients, dns,
};

/// Reports malformed policy annotations of one resource, and, when its policy renders, a
/// cluster secret name too long to be the client label's value.
pub fn check(
    resource: &Resource,
    config: &Config,
    policies: bool,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let field = |key: &str| format!("metadata.annotations[{key}]");
    if let Config::ClusterPeer(cluster) = config
        && policies
        && cluster.policy.enabled
        && let Some(problem) = crate::kube::names::label_value(&cluster.cluster_secret_name)
    {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidLabel,
                format!(
                    "the cluster secret's name is the value of the client label \
                     {CLUSTER_CLIENT_LABEL} that the NetworkPolicy admits, and it {problem}"
                ),
            )
            .at(crate::model::parse::span_of(
                resource,
                "spec.clusterSecretName",
            ))
            .field("spec.clusterSecretName")
            .help(format!(
                "name a Secret of at most 63 characters, or turn the policy off with the \
                 annotation {NETWORK_POLICIES}: \"false\""
            )),
        );
    }
    for key in [NETWORK_POLICIES, OPEN_EGRESS] {
        if let Some((_, node)) = crate::model::parse::annotation(resource, key)
            && let Some(text) = node.as_str()
            && text != "true"
            && text != "false"
        {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidAnnotation,
                    format!("{key:?} is \"true\" or \"false\", not {text:?}"),
                )
                .at(node.span)
                .field(field(key)),
            );
        }
    }
    if let Some((_, node)) = crate::model::parse::annotation(resource, API_CLIENTS)
        && let Some(text) = node.as_str()
        && let Err(problem) = clients(text)
    {
        diagnostics.push(
            Diagnostic::new(Code::InvalidAnnotation, format!("Invalid value: {problem}"))
                .at(node.span)
                .field(field(API_CLIENTS))
                .help(CLIENTS_HELP),
        );
    }
    if let Some((_, node)) = crate::model::parse::annotation(resource, CLUSTER_DNS)
        && let Some(text) = node.as_str()
        && let Err(problem) = dns(text)
    {
        diagnostics.push(
            Diagnostic::new(Code::InvalidAnnotation, format!("Invalid value: {problem}"))
                .at(node.span)
                .field(field(CLUSTER_DNS))
                .help(DNS_HELP),
        );
    }
    reserved_labels(resource, diagnostics);
}

/// A resource's own label that kotalc's policies admit pods by: its pods, which carry it,
/// would pass as a cluster's client or a swarm's or cluster's member.
fn reserved_labels(resource: &Resource, diagnostics: &mut Vec<Diagnostic>) {
    let Some(Value::Map(labels)) = resource.root.at("metadata.labels").map(|n| &n.value) else {
        return;
    };
    for (key, _) in labels
        .iter()
        .filter(|(k, _)| POLICY_LABELS.contains(&k.name.as_str()))
    {
        diagnostics.push(
            Diagnostic::new(
                Code::ReservedLabel,
                format!(
                    "the label {:?} is one that kotalc's NetworkPolicies admit pods by; on {} {:?} \
                     it would make its pods pass as another resource's client or peer",
                    key.name,
                    resource.kind.name(),
                    resource.name
                ),
            )
            .at(key.span)
            .field(format!("metadata.labels[{}]", key.name))
            .help(format!(
                "remove the label: kotalc alone sets {SWARM_LABEL} and {CLUSTER_LABEL} on the \
                 pods of a private swarm or a cluster, and {CLUSTER_CLIENT_LABEL} belongs on a \
                 client's own pods, not on a Peer or ClusterPeer"
            )),
        );
    }
}

/// A grant across namespaces where kotalc knows only one of them: a resource without a
/// namespace (and no `--namespace`) names a resource of another namespace, whose policy would
/// have to admit pods of a namespace it cannot name. Refused, never widened to every
/// namespace.
pub fn namespaces(
    resources: &[Resource],
    configs: &[Option<Config>],
    sources: &Sources,
    front: Front,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut index: BTreeMap<(Kind, &str, &str), usize> = BTreeMap::new();
    for (i, r) in resources.iter().enumerate() {
        if configs[i].is_some() {
            index.insert((r.kind, r.namespace_or_empty(), r.name.as_str()), i);
        }
    }
    // The resource of `kind` that `text`, written by resource `a`, names, if its namespace is
    // known and `a`'s is not.
    let named = |a: usize, text: &str, shape: Shape, kind: Kind| -> Option<usize> {
        if !resources[a].namespace_or_empty().is_empty() {
            return None;
        }
        let address = multiaddr::parse(text, shape).ok()?;
        let (ns, name) = service(&address.host, "")?;
        let &b = index.get(&(kind, ns.as_str(), name.as_str()))?;
        (!ns.is_empty()).then_some(b)
    };
    let enabled = |i: usize| configs[i].as_ref().is_some_and(|c| c.policy().enabled);
    let mut refuse = |a: usize, b: usize, span, path: &str, what: &str| {
        let (ra, rb) = (&resources[a], &resources[b]);
        diagnostics.push(
            Diagnostic::new(
                Code::PolicyNamespaceUnknown,
                format!(
                    "{} {:?} has no namespace, and {what} {} {:?} of namespace {:?}: kotalc \
                     cannot name the namespace that {:?} is applied to, and its NetworkPolicies \
                     never admit every namespace",
                    ra.kind.name(),
                    ra.name,
                    rb.kind.name(),
                    rb.name,
                    rb.namespace_or_empty(),
                    ra.name,
                ),
            )
            .at(span)
            .field(path)
            .label(format!(
                "names {:?} of namespace {:?}",
                rb.name,
                rb.namespace_or_empty()
            ))
            .help(format!(
                "set metadata.namespace on {} {:?}, or {} with the namespace it is applied to",
                ra.kind.name(),
                ra.name,
                front.set(Setting::Namespace, None),
            )),
        );
    };
    for (a, config) in configs.iter().enumerate() {
        match config {
            Some(Config::ClusterPeer(cluster)) => {
                if let Some(p) = named(a, &cluster.peer_endpoint, Shape::Endpoint, Kind::Peer)
                    && enabled(p)
                    && matches!(&configs[p], Some(Config::Peer(peer)) if peer.api)
                {
                    let path = "spec.peerEndpoint";
                    refuse(
                        a,
                        p,
                        span_of(&resources[a], path),
                        path,
                        "its peerEndpoint names",
                    );
                }
                for (path, text) in crate::model::parse::items(&resources[a], "spec.bootstrapPeers")
                {
                    // Every policy of the cluster admits its namespaces, not only a's and b's.
                    if let Some(b) = named(a, text, Shape::WithPeer, Kind::ClusterPeer) {
                        refuse(
                            a,
                            b,
                            span_of(&resources[a], &path),
                            &path,
                            "it bootstraps to",
                        );
                    }
                }
            }
            Some(Config::Peer(peer)) if peer.swarm_key_secret_name.is_some() => {
                let Some((_, node)) = crate::model::parse::annotation(&resources[a], PEERING)
                else {
                    continue;
                };
                let entries: Vec<&str> = node
                    .as_str()
                    .map(|list| crate::model::annotations::list(list).collect())
                    .unwrap_or_default();
                let spans = sources.locate(node.span, entries.iter().copied());
                for (entry, span) in entries.into_iter().zip(spans) {
                    if let Some(b) = named(a, entry, Shape::WithPeer, Kind::Peer)
                        && matches!(&configs[b], Some(Config::Peer(q)) if q.swarm_key_secret_name.is_some())
                        && (enabled(a) || enabled(b))
                    {
                        refuse(
                            a,
                            b,
                            span,
                            &format!("metadata.annotations[{PEERING}]"),
                            "it peers with",
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
