//! A Peer's exposed gateway (`kotalc.io/gateway-*`): well-formed annotations, and an exposure
//! that reaches the gateway and nothing else. A ClusterPeer refuses the annotations as
//! Peer-only directives: its APIs are never exposed this way.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::annotations::GATEWAY_HOST;
use crate::model::defaults::Config;
use crate::model::parse::{Resource, annotation};

pub fn check(resource: &Resource, config: &Config, diagnostics: &mut Vec<Diagnostic>) {
    let Config::Peer(peer) = config else { return };
    let annotations = match resource.object.as_ref() {
        Some(crate::model::parse::Object::Peer(p)) => &p.metadata.annotations,
        _ => return,
    };
    let at = |key: &str| {
        let field = format!("metadata.annotations[{key}]");
        match annotation(resource, key) {
            Some((_, node)) => (Some(node.span), field),
            None => (None, field),
        }
    };
    match crate::model::gateway::exposure(annotations) {
        Err((key, problem)) => {
            let (span, field) = at(key);
            let mut d = Diagnostic::new(Code::InvalidAnnotation, problem).field(field);
            if let Some(span) = span {
                d = d.at(span);
            }
            diagnostics.push(d);
        }
        Ok(Some(_)) => {
            let (span, field) = at(GATEWAY_HOST);
            let refuse = |message: String, help: &str| {
                let mut d = Diagnostic::new(Code::GatewayExposure, message)
                    .field(field.clone())
                    .help(help.to_string());
                if let Some(span) = span {
                    d = d.at(span);
                }
                d
            };
            if !peer.gateway {
                diagnostics.push(refuse(
                    "the gateway to expose listens on 127.0.0.1 only: `gateway` is false".into(),
                    "set `spec.gateway: true`, or remove the kotalc.io/gateway-* annotations",
                ));
            } else if peer.gateway_port == peer.api_port {
                diagnostics.push(refuse(
                    format!(
                        "the gateway port {} is the RPC API's: exposing it would expose the RPC \
                         API, which kotalc never does",
                        peer.gateway_port
                    ),
                    "give the gateway its own port (`spec.gatewayPort`, default 8080)",
                ));
            }
        }
        Ok(None) => {}
    }
}
