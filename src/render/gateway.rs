//! A Peer's gateway exposed outside the cluster: an HTTPRoute (Gateway API,
//! `gateway.networking.k8s.io/v1`) attached to the named Gateway, or an Ingress
//! (`networking.k8s.io/v1`), for the gateway's Service port and nothing else, with the host
//! and, for a subdomain gateway, `*.ipfs.<host>` and `*.ipns.<host>`; and the NetworkPolicy
//! rule that admits the controller's namespace to the gateway port alone.

use serde_json::{Value as J, json};

use crate::kube::manifest::Object;
use crate::model::defaults::Config;
use crate::model::parse::Resource;

/// The label Kubernetes puts on every namespace, naming it.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The route of each Peer whose gateway is exposed, in resource order.
pub fn routes(resources: &[Resource], configs: &[Option<Config>]) -> Vec<Object> {
    resources
        .iter()
        .zip(configs)
        .filter_map(|(resource, config)| {
            let Some(Config::Peer(peer)) = config else {
                return None;
            };
            let exposure = peer.exposure.as_ref().filter(|_| peer.gateway)?;
            let port = peer.gateway_port;
            let metadata = crate::render::metadata(resource);
            let value = match &exposure.parent {
                Some((namespace, name)) => json!({
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "HTTPRoute",
                    "metadata": metadata,
                    "spec": {
                        "parentRefs": [{
                            "group": "gateway.networking.k8s.io",
                            "kind": "Gateway",
                            "namespace": namespace,
                            "name": name,
                        }],
                        "hostnames": exposure.hostnames(),
                        "rules": [{
                            "matches": [{ "path": { "type": "PathPrefix", "value": "/" } }],
                            "backendRefs": [{
                                "group": "",
                                "kind": "Service",
                                "name": resource.name,
                                "port": port,
                                "weight": 1,
                            }],
                        }],
                    },
                }),
                None => {
                    let backend =
                        json!({ "service": { "name": resource.name, "port": { "number": port } } });
                    let rules: Vec<J> = exposure
                        .hostnames()
                        .into_iter()
                        .map(|host| {
                            json!({ "host": host, "http": { "paths": [{
                                "path": "/", "pathType": "Prefix", "backend": backend,
                            }] } })
                        })
                        .collect();
                    json!({
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "Ingress",
                        "metadata": metadata,
                        "spec": { "rules": rules },
                    })
                }
            };
            Some(Object::from_value(value, resource.origin))
        })
        .collect()
}

/// The rule for an exposed gateway port: the controller's namespace only. `None` when the
/// gateway is not exposed (it then stays open to every pod, as before).
pub fn ingress(config: &Config, port: u16) -> Option<J> {
    let Config::Peer(peer) = config else {
        return None;
    };
    let exposure = peer.exposure.as_ref()?;
    Some(json!({
        "from": [{ "namespaceSelector": { "matchLabels": {
            NAMESPACE_NAME_LABEL: exposure.controller_namespace,
        } } }],
        "ports": [{ "port": port, "protocol": "TCP" }],
    }))
}
