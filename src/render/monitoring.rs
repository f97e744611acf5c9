//! Opt-in monitoring: a PodMonitor (prometheus-operator's `monitoring.coreos.com/v1`) for each
//! resource that names its scrapers, and the NetworkPolicy rule that admits those pods to its
//! metrics port and no other. kubo serves `/debug/metrics/prometheus` only on its RPC API
//! listener (cmd/ipfs/kubo/daemon.go serveHTTPApi at v0.28.0, v0.38.2 and v0.43.0; the
//! gateway's listener has no metrics), so a Peer's scrapers reach its RPC API port;
//! ipfs-cluster serves `/metrics` on its own port, 8888.

use serde_json::{Value as J, json};

use crate::kube::manifest::Object;
use crate::model::defaults::Config;
use crate::model::parse::Resource;
use crate::model::policy::Client;

/// The label Kubernetes puts on every namespace, naming it.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Where a resource's metrics are: the container port's name and number, and the path.
pub fn endpoint(config: &Config) -> (&'static str, u16, &'static str) {
    match config {
        Config::Peer(peer) => ("api", peer.api_port, "/debug/metrics/prometheus"),
        Config::ClusterPeer(_) => ("metrics", 8888, "/metrics"),
    }
}

/// The PodMonitor of each monitored resource, in resource order.
pub fn pod_monitors(resources: &[Resource], configs: &[Option<Config>]) -> Vec<Object> {
    resources
        .iter()
        .zip(configs)
        .filter_map(|(resource, config)| {
            let config = config.as_ref()?;
            if config.monitoring().is_empty() {
                return None;
            }
            let (port, _, path) = endpoint(config);
            let component = match config {
                Config::Peer(_) => "ipfs-peer",
                Config::ClusterPeer(_) => "ipfs-clusterpeer",
            };
            let value = json!({
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PodMonitor",
                "metadata": crate::render::metadata(resource),
                "spec": {
                    "selector": { "matchLabels": {
                        "app.kubernetes.io/component": component,
                        "app.kubernetes.io/instance": resource.name,
                    } },
                    "podMetricsEndpoints": [{ "port": port, "path": path, "scheme": "http" }],
                },
            });
            Some(Object::from_value(value, resource.origin))
        })
        .collect()
}

/// The NetworkPolicy ingress rule of a monitored resource: its scrapers, on its metrics port
/// alone; none when nothing scrapes it.
pub fn ingress(config: &Config, namespace: &str) -> Option<J> {
    let scrapers = config.monitoring();
    if scrapers.is_empty() {
        return None;
    }
    let from: Vec<J> = scrapers
        .iter()
        .map(|scraper| match scraper {
            Client::Namespace(ns) => {
                json!({ "namespaceSelector": { "matchLabels": { NAMESPACE_NAME_LABEL: ns } } })
            }
            // Scrapers are pods; a block is only ever the DNS setting's, and reads as one.
            Client::Block(cidr) => json!({ "ipBlock": { "cidr": cidr } }),
            Client::Pods {
                namespace: ns,
                key,
                value,
            } => {
                let mut peer = json!({ "podSelector": { "matchLabels": { key: value } } });
                if let Some(ns) = ns.as_deref().filter(|ns| *ns != namespace) {
                    peer["namespaceSelector"] =
                        json!({ "matchLabels": { NAMESPACE_NAME_LABEL: ns } });
                }
                peer
            }
        })
        .collect();
    let (_, port, _) = endpoint(config);
    Some(json!({ "from": from, "ports": [{ "port": port, "protocol": "TCP" }] }))
}
