//! What a resource's annotations say about its NetworkPolicy: on or off, the clients its API
//! admits, open egress. `render::policy` builds the policies from these settings.

use std::collections::BTreeMap;

use crate::model::annotations::{API_CLIENTS, NETWORK_POLICIES, OPEN_EGRESS};

/// The label that admits a pod to a cluster's REST API, proxy and metrics; its value is the
/// cluster secret's name, which every peer of one cluster shares.
pub const CLUSTER_CLIENT_LABEL: &str = "ipfs.kotal.io/cluster-client";

/// A client that `kotalc.io/api-clients` names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Client {
    /// Pods with the label `key=value`, in `namespace` or the resource's own.
    Pods {
        namespace: Option<String>,
        key: String,
        value: String,
    },
    /// Every pod of a namespace.
    Namespace(String),
}

pub const CLIENTS_HELP: &str = "a comma-separated list of KEY=VALUE (pods of the resource's \
    namespace with that label), NS:KEY=VALUE (such pods of namespace NS) or NS:* (every pod of \
    namespace NS)";

/// The entries of `kotalc.io/api-clients`, or why one is malformed.
pub fn clients(text: &str) -> Result<Vec<Client>, String> {
    let mut out = Vec::new();
    for entry in crate::model::annotations::list(text) {
        let (namespace, label) = match entry.split_once(':') {
            Some((ns, rest)) => (Some(ns.trim()), rest.trim()),
            None => (None, entry),
        };
        if let Some(ns) = namespace
            && let Some(problem) = crate::kube::names::dns_label(ns, 63)
        {
            return Err(format!("{entry:?}: the namespace {ns:?} {problem}"));
        }
        let client = match (namespace, label) {
            (Some(ns), "*") => Client::Namespace(ns.to_string()),
            (_, label) => {
                let Some((key, value)) = label.split_once('=') else {
                    return Err(format!("{entry:?} is not KEY=VALUE, NS:KEY=VALUE or NS:*"));
                };
                let (key, value) = (key.trim(), value.trim());
                if let Some(problem) = crate::kube::names::qualified_name(key) {
                    return Err(format!("{entry:?}: the label key {key:?}: {problem}"));
                }
                if let Some(problem) = crate::kube::names::label_value(value) {
                    return Err(format!("{entry:?}: the label value {value:?} {problem}"));
                }
                Client::Pods {
                    namespace: namespace.map(String::from),
                    key: key.to_string(),
                    value: value.to_string(),
                }
            }
        };
        if !out.contains(&client) {
            out.push(client);
        }
    }
    Ok(out)
}

/// What a resource's annotations say about its policy.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Settings {
    pub enabled: bool,
    pub clients: Vec<Client>,
    pub open_egress: bool,
}

/// The settings; malformed values are reported by [`crate::check::policy::check`] and read as
/// their default.
pub fn settings(annotations: &BTreeMap<String, String>) -> Settings {
    let flag = |key: &str| annotations.get(key).map(String::as_str);
    Settings {
        enabled: flag(NETWORK_POLICIES) != Some("false"),
        clients: annotations
            .get(API_CLIENTS)
            .and_then(|text| clients(text).ok())
            .unwrap_or_default(),
        open_egress: flag(OPEN_EGRESS) == Some("true"),
    }
}
