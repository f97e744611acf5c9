//! The NetworkPolicy annotations of one resource, checked.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::annotations::{API_CLIENTS, NETWORK_POLICIES, OPEN_EGRESS};
use crate::model::defaults::Config;
use crate::model::parse::Resource;
use crate::model::policy::{CLIENTS_HELP, CLUSTER_CLIENT_LABEL, clients};

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
}
