//! What a resource's annotations say about its NetworkPolicy: on or off, the clients its API
//! admits, open egress, where its DNS is. `render::policy` builds the policies from these
//! settings.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::model::annotations::{API_CLIENTS, CLUSTER_DNS, NETWORK_POLICIES, OPEN_EGRESS};

/// The label that admits a pod to a cluster's REST API, proxy and metrics; its value is the
/// cluster secret's name, which every peer of one cluster shares.
pub const CLUSTER_CLIENT_LABEL: &str = "ipfs.kotal.io/cluster-client";

/// The label kotalc sets on every pod of a private swarm (one swarm key Secret in one
/// namespace), by which the swarm's policies admit each other: one selector, whatever the
/// swarm's size.
pub const SWARM_LABEL: &str = "ipfs.kotal.io/swarm";

/// The label kotalc sets on every pod of a cluster (the ClusterPeers that share a cluster
/// secret in one namespace or bootstrap to one another, transitively), by which the cluster's
/// policies admit each other to 9096.
pub const CLUSTER_LABEL: &str = "ipfs.kotal.io/cluster";

/// The labels kotalc's policies admit pods by and that only kotalc may set: a resource's own
/// label of one of these keys would make its pods another's client or peer.
pub const POLICY_LABELS: &[&str] = &[CLUSTER_CLIENT_LABEL, SWARM_LABEL, CLUSTER_LABEL];

/// The value of [`SWARM_LABEL`] or [`CLUSTER_LABEL`] for the Secret `secret` of `namespace`
/// (`""` when unknown): `NAMESPACE_SECRET`, or `SECRET` without a namespace, when that fits a
/// label value; otherwise `h__` and 32 hex digits of its sha256. Neither namespaces nor Secret
/// names hold `_`, so no two Secrets share a value.
pub fn member_value(namespace: &str, secret: &str) -> String {
    let readable = if namespace.is_empty() {
        secret.to_string()
    } else {
        format!("{namespace}_{secret}")
    };
    if readable.len() <= 63 {
        return readable;
    }
    let digest = Sha256::digest(format!("{namespace}/{secret}").as_bytes());
    format!("h__{}", &crate::ipfs::keys::hex(&digest)[..32])
}

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
    /// An address block, as a NetworkPolicy's `ipBlock.cidr` (the DNS setting only).
    Block(String),
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

/// Where a cluster's DNS usually runs: kube-system's pods with the label that kube-dns and
/// CoreDNS deployments carry.
pub const DEFAULT_DNS: &str = "kube-system:k8s-app=kube-dns";

/// [`DEFAULT_DNS`], parsed.
pub fn default_dns() -> Vec<Client> {
    vec![Client::Pods {
        namespace: Some("kube-system".into()),
        key: "k8s-app".into(),
        value: "kube-dns".into(),
    }]
}

pub const DNS_HELP: &str = "a comma-separated list of NS:KEY=VALUE (pods of namespace NS with \
    that label), NS:* (every pod of namespace NS) or an IP address or CIDR (such as a node-local \
    DNS cache's 169.254.20.10); the default is kube-system:k8s-app=kube-dns";

/// The DNS servers that `kotalc.io/cluster-dns` or `--cluster-dns` names, or why one entry is
/// malformed.
pub fn dns(text: &str) -> Result<Vec<Client>, String> {
    let mut out = Vec::new();
    for entry in crate::model::annotations::list(text) {
        let server = match cidr(entry) {
            Some(block) => Client::Block(block?),
            None => match clients(entry)?.pop() {
                Some(Client::Pods {
                    namespace: None, ..
                }) => {
                    return Err(format!(
                        "{entry:?} names no namespace: write NS:KEY=VALUE, the namespace the \
                         DNS pods run in"
                    ));
                }
                Some(client) => client,
                None => continue,
            },
        };
        if !out.contains(&server) {
            out.push(server);
        }
    }
    if out.is_empty() {
        return Err("it names no DNS server".into());
    }
    Ok(out)
}

/// An entry that is an IP address (`None` when it is not): the address as a one-address CIDR,
/// or a CIDR whose host bits are zero, as a NetworkPolicy's `ipBlock` takes it.
fn cidr(entry: &str) -> Option<Result<String, String>> {
    use std::net::IpAddr;
    let (address, prefix) = match entry.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (entry, None),
    };
    let ip: IpAddr = address.parse().ok()?;
    let bits: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => bits,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if n <= bits && p.bytes().all(|b| b.is_ascii_digit()) && p == n.to_string() => n,
            _ => return Some(Err(format!("{entry:?}: the prefix length is 0 to {bits}"))),
        },
    };
    let host = match ip {
        IpAddr::V4(v4) => {
            u128::from(u32::from(v4)) & (u128::from(u32::MAX).checked_shr(prefix).unwrap_or(0))
        }
        IpAddr::V6(v6) => u128::from(v6) & u128::MAX.checked_shr(prefix).unwrap_or(0),
    };
    if host != 0 {
        return Some(Err(format!(
            "{entry:?} has host bits set: write the network's first address"
        )));
    }
    Some(Ok(format!("{ip}/{prefix}")))
}

/// What a resource's annotations say about its policy.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Settings {
    pub enabled: bool,
    pub clients: Vec<Client>,
    pub open_egress: bool,
    /// The DNS servers its pods may ask: `kotalc.io/cluster-dns`, else the run's
    /// `--cluster-dns`, else [`DEFAULT_DNS`] (set by the compile, which knows the run's).
    pub dns: Option<Vec<Client>>,
    /// The label that makes its pods members of their swarm or cluster, set from the whole
    /// set before the render (see `render::policy::memberships`).
    pub membership: Option<(&'static str, String)>,
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
        dns: annotations.get(CLUSTER_DNS).and_then(|text| dns(text).ok()),
        membership: None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Client, dns, member_value};

    #[test]
    fn member_values_are_label_values_and_never_shared() {
        let long = "s".repeat(250);
        let values = [
            member_value("ipfs", "swarm-key"),
            member_value("", "ipfs.swarm-key"),
            member_value("", "swarm-key"),
            member_value("ipfs", &long),
            member_value("ipfs2", &long),
            member_value(&"n".repeat(63), "k"),
        ];
        assert_eq!(values[0], "ipfs_swarm-key");
        assert_eq!(values[2], "swarm-key");
        assert!(values[3].starts_with("h__") && values[3].len() == 35);
        for value in &values {
            assert_eq!(crate::kube::names::label_value(value), None, "{value}");
        }
        // Secret names and namespaces hold no `_`, which joins them.
        let distinct: std::collections::BTreeSet<&String> = values.iter().collect();
        assert_eq!(distinct.len(), values.len(), "{values:?}");
    }

    #[test]
    fn dns_servers_are_pods_of_a_namespace_or_address_blocks() {
        assert_eq!(
            dns("kube-system:k8s-app=kube-dns, 169.254.20.10, fd00::/64, dns:*"),
            Ok(vec![
                Client::Pods {
                    namespace: Some("kube-system".into()),
                    key: "k8s-app".into(),
                    value: "kube-dns".into(),
                },
                Client::Block("169.254.20.10/32".into()),
                Client::Block("fd00::/64".into()),
                Client::Namespace("dns".into()),
            ])
        );
        for bad in [
            "",
            "app=dns",
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "dns",
        ] {
            assert!(dns(bad).is_err(), "{bad:?}");
        }
    }
}
