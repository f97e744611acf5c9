//! A Peer's gateway exposed outside the cluster, opt in: `kotalc.io/gateway-host` names the
//! host, `kotalc.io/gateway-parent` the Gateway API Gateway (`NS/NAME`) that an HTTPRoute
//! attaches to (without it, an Ingress), `kotalc.io/gateway-controller-namespace` the
//! namespace whose pods (the ingress or gateway controller) the NetworkPolicy admits to the
//! gateway port, and `kotalc.io/gateway-subdomains: "false"` makes it a path gateway.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::annotations::{
    GATEWAY_CONTROLLER_NAMESPACE, GATEWAY_HOST, GATEWAY_PARENT, GATEWAY_SUBDOMAINS,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub host: String,
    /// A subdomain gateway (`<cid>.ipfs.<host>`), else a path gateway (`<host>/ipfs/<cid>`).
    pub subdomains: bool,
    /// The Gateway an HTTPRoute attaches to; `None`: an Ingress.
    pub parent: Option<(String, String)>,
    pub controller_namespace: String,
    /// kubo's `Gateway.PublicGateways`, as JSON.
    pub public_gateways: String,
}

/// The exposure the annotations ask for: `None` without `kotalc.io/gateway-host`, or why
/// they are malformed, with the annotation at fault.
pub fn exposure(
    annotations: &BTreeMap<String, String>,
) -> Result<Option<Exposure>, (&'static str, String)> {
    let Some(host) = annotations.get(GATEWAY_HOST).map(|h| h.trim().to_string()) else {
        for key in [
            GATEWAY_PARENT,
            GATEWAY_CONTROLLER_NAMESPACE,
            GATEWAY_SUBDOMAINS,
        ] {
            if annotations.contains_key(key) {
                return Err((
                    key,
                    format!("{key:?} needs {GATEWAY_HOST:?}, the host to expose"),
                ));
            }
        }
        return Ok(None);
    };
    if host.starts_with("*.")
        || crate::kube::names::dns_subdomain(&host).is_some()
        || !host.contains('.')
    {
        return Err((
            GATEWAY_HOST,
            format!(
                "{host:?} is not a DNS name such as ipfs.example.com (lower case, with a dot, no wildcard: kotalc adds *.ipfs. and *.ipns.)"
            ),
        ));
    }
    let subdomains = match annotations.get(GATEWAY_SUBDOMAINS).map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err((
                GATEWAY_SUBDOMAINS,
                format!("{GATEWAY_SUBDOMAINS:?} is \"true\" or \"false\", not {other:?}"),
            ));
        }
    };
    let parent = match annotations.get(GATEWAY_PARENT) {
        None => None,
        Some(text) => {
            let Some((ns, name)) = text.trim().split_once('/') else {
                return Err((
                    GATEWAY_PARENT,
                    format!("{text:?} is not NAMESPACE/NAME of a Gateway"),
                ));
            };
            for (what, value) in [("namespace", ns), ("name", name)] {
                if let Some(problem) = crate::kube::names::dns_label(value, 63) {
                    return Err((
                        GATEWAY_PARENT,
                        format!("{text:?}: the {what} {value:?} {problem}"),
                    ));
                }
            }
            Some((ns.to_string(), name.to_string()))
        }
    };
    let Some(controller_namespace) = annotations
        .get(GATEWAY_CONTROLLER_NAMESPACE)
        .map(|n| n.trim().to_string())
    else {
        return Err((
            GATEWAY_HOST,
            format!(
                "{GATEWAY_HOST:?} needs {GATEWAY_CONTROLLER_NAMESPACE:?}: the namespace of the ingress or gateway controller's pods, the only ones the NetworkPolicy admits to the gateway port"
            ),
        ));
    };
    if let Some(problem) = crate::kube::names::dns_label(&controller_namespace, 63) {
        return Err((
            GATEWAY_CONTROLLER_NAMESPACE,
            format!("{controller_namespace:?} {problem}"),
        ));
    }
    let spec =
        serde_json::json!({ &host: { "Paths": ["/ipfs", "/ipns"], "UseSubdomains": subdomains } });
    Ok(Some(Exposure {
        public_gateways: spec.to_string(),
        host,
        subdomains,
        parent,
        controller_namespace,
    }))
}

impl Exposure {
    /// The hosts the route answers: the gateway's, and for a subdomain gateway the wildcards
    /// kubo serves content on.
    pub fn hostnames(&self) -> Vec<String> {
        let mut hosts = vec![self.host.clone()];
        if self.subdomains {
            hosts.push(format!("*.ipfs.{}", self.host));
            hosts.push(format!("*.ipns.{}", self.host));
        }
        hosts
    }
}
