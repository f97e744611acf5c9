//! What each template sees: the resolved spec plus everything derived from it (labels,
//! selector, ports, paths, scripts and their hash), computed once in Rust.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value as J, json};
use sha2::{Digest, Sha256};

use crate::model::defaults::Config;
use crate::model::parse::Resource;
use crate::model::{Consensus, Kind};

pub struct Plan {
    /// The templates the resource renders, in output order.
    pub templates: Vec<&'static str>,
    pub context: J,
}

/// A port a resource's pods listen on, as the container, the Service and the NetworkPolicy
/// name it.
#[derive(Serialize)]
pub struct Port {
    pub name: &'static str,
    pub port: u16,
    pub protocol: &'static str,
}

const fn tcp(name: &'static str, port: u16) -> Port {
    Port {
        name,
        port,
        protocol: "TCP",
    }
}

/// Kotal's labels for a kind: on every object, and the whole selector.
fn kotal_labels(kind: Kind, name: &str) -> BTreeMap<String, String> {
    let (app, component, controller) = match kind {
        // Swarms are lowered to Peers before rendering.
        Kind::Peer | Kind::Swarm => ("kubo", "ipfs-peer", "ipfs-peer-controller"),
        Kind::ClusterPeer => (
            "ipfs-cluster-service",
            "ipfs-clusterpeer",
            "ipfs-clusterpeer-controller",
        ),
    };
    [
        ("app.kubernetes.io/name", app),
        ("app.kubernetes.io/instance", name),
        ("app.kubernetes.io/component", component),
        ("app.kubernetes.io/managed-by", "kotal-operator"),
        ("app.kubernetes.io/created-by", controller),
        ("kotal.io/protocol", "ipfs"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The sha256 of a ConfigMap's data, over its canonical JSON (keys sorted).
pub fn config_sha256(data: &BTreeMap<String, String>) -> String {
    let canonical = serde_json::to_string(data).unwrap_or_default();
    crate::ipfs::keys::hex(&Sha256::digest(canonical.as_bytes()))
}

/// One argv element per flag: `--flag=value`, or `--flag` alone for `""`. Both programs parse
/// flags with Go's flag package (kubo through go-ipfs-cmds, ipfs-cluster-service through
/// urfave/cli v1), where a boolean takes no separate value: `--migrate true` is refused as an
/// extra argument, and `--stats false` switches stats on and leaves `false` as a stray
/// argument. The `=` form is read the same way for string flags.
fn flag_args(args: &BTreeMap<String, String>) -> Vec<String> {
    args.iter()
        .map(|(flag, value)| {
            let arg = if value.is_empty() {
                flag.clone()
            } else {
                format!("{flag}={value}")
            };
            kubelet_literal(&arg)
        })
        .collect()
}

/// A user's text as the kubelet must pass it on: it expands `$(NAME)` in a container's
/// command and args from the container's environment, and turns `$$` into `$`
/// (kubernetes third_party/forked/golang/expansion). Doubling every `$` makes every value
/// literal, so `$(CLUSTER_SECRET)` in an argument never puts the secret in argv.
pub fn kubelet_literal(text: &str) -> String {
    text.replace('$', "$$")
}

/// The metadata every object of a resource carries: its name and namespace, the user's labels
/// under Kotal's, and the user's annotations except kotalc's directives.
pub fn metadata(resource: &Resource) -> J {
    metadata_and_labels(resource).0
}

fn metadata_and_labels(resource: &Resource) -> (J, BTreeMap<String, String>) {
    let name = resource.name.as_str();
    let namespace = resource.namespace.as_deref();
    let selector = kotal_labels(resource.kind, name);
    let user = resource.object.as_ref().map(|o| match o {
        crate::model::parse::Object::Peer(p) => &p.metadata,
        crate::model::parse::Object::ClusterPeer(c) => &c.metadata,
        crate::model::parse::Object::Swarm(s) => &s.metadata,
    });
    let mut labels = user.map(|m| m.labels.clone()).unwrap_or_default();
    labels.extend(selector);
    let annotations: BTreeMap<String, String> = user
        .map(|m| {
            m.annotations
                .iter()
                .filter(|(k, _)| !k.starts_with(crate::model::annotations::PREFIX))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut metadata = json!({ "name": name, "labels": labels });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    if !annotations.is_empty() {
        metadata["annotations"] = json!(annotations);
    }
    (metadata, labels)
}

/// The ports a resource's pods listen on.
pub fn ports(config: &Config) -> Vec<Port> {
    match config {
        Config::Peer(peer) => {
            let mut ports = vec![tcp("swarm", 4001)];
            // Under a swarm key kubo refuses QUIC, WebTransport and WebRTC Direct
            // (core/node/libp2p/transport.go:35-58 at v0.28.0, :52-75 at v0.38.2) and listens on
            // TCP only: a private Peer's UDP port would reach nothing.
            if peer.swarm_key_secret_name.is_none() {
                ports.push(Port {
                    name: "swarm-udp",
                    port: 4001,
                    protocol: "UDP",
                });
            }
            if peer.api {
                ports.push(tcp("api", peer.api_port));
            }
            if peer.gateway {
                ports.push(tcp("gateway", peer.gateway_port));
            }
            ports
        }
        // Only ports something listens on, all on 0.0.0.0 (the StatefulSet template sets the
        // listeners). The swarm is TCP only: ipfs-cluster builds its host with
        // libp2p.NoTransports plus TCP and websocket (clusterhost.go:161 at v1.0.8, :189 at
        // v1.1.6), so its default QUIC address on UDP 9096 never listens; 6831 is where
        // tracing sends (to a Jaeger agent), and no cluster component serves 5001.
        Config::ClusterPeer(_) => vec![
            tcp("swarm", 9096),
            tcp("proxy-api", 9095),
            tcp("rest", 9094),
            tcp("metrics", 8888),
        ],
    }
}

pub fn plan(
    resource: &Resource,
    config: &Config,
    scripts: &BTreeMap<&'static str, String>,
) -> Plan {
    let name = resource.name.as_str();
    let namespace = resource.namespace.as_deref();
    let selector = kotal_labels(resource.kind, name);
    let (metadata, labels) = metadata_and_labels(resource);

    let (home, script_names, templates, ports, spec, extra_args): (
        _,
        Vec<&str>,
        _,
        Vec<Port>,
        J,
        _,
    ) = match config {
        Config::Peer(peer) => {
            let mut scripts = vec!["init_ipfs_config.sh", "copy_swarm_key.sh", "config_ipfs.sh"];
            // Only Peers that use the extensions carry their scripts, so that every other
            // Peer renders as the operator's.
            if peer.identity.is_some() {
                scripts.push("init_ipfs_identity.sh");
            }
            if peer.peering.is_some() {
                scripts.push("config_peering.sh");
            }
            (
                "/home/ipfs",
                scripts,
                crate::kube::manifest::templates(false).collect(),
                ports(config),
                serde_json::to_value(peer).unwrap_or_default(),
                flag_args(&peer.extra_args),
            )
        }
        Config::ClusterPeer(cluster) => {
            let mut scripts = vec!["init_ipfs_cluster_config.sh"];
            // Only a Raft peer that bootstraps needs the daemon wrapper (spec 5.3).
            if cluster.consensus == Consensus::Raft && !cluster.bootstrap_peers.is_empty() {
                scripts.push("start_ipfs_cluster.sh");
            }
            (
                "/home/ipfs-cluster",
                scripts,
                crate::kube::manifest::templates(true).collect(),
                ports(config),
                serde_json::to_value(cluster).unwrap_or_default(),
                flag_args(&cluster.extra_args),
            )
        }
    };
    let data: BTreeMap<String, String> = script_names
        .iter()
        .map(|s| {
            (
                (*s).to_string(),
                scripts.get(s).cloned().unwrap_or_default(),
            )
        })
        .collect();
    // The pods' labels: the objects', and the label that makes them members of their private
    // swarm or cluster, which the NetworkPolicies select them by.
    let mut pod_labels = labels.clone();
    if let Some((key, value)) = &config.policy().membership {
        pod_labels.insert((*key).to_string(), value.clone());
    }
    let context = json!({
        "name": name,
        "namespace": namespace,
        "metadata": metadata,
        "labels": labels,
        "pod_labels": pod_labels,
        "selector": selector,
        "spec": spec,
        "extra_args": extra_args,
        "ports": ports,
        // The same ports as a Service and a container spell them.
        "service_ports": ports.iter().map(|p| json!({
            "name": p.name, "port": p.port, "targetPort": p.name, "protocol": p.protocol,
        })).collect::<Vec<_>>(),
        "container_ports": ports.iter().map(|p| json!({
            "name": p.name, "containerPort": p.port, "protocol": p.protocol,
        })).collect::<Vec<_>>(),
        "paths": {
            "home": home,
            "data": format!("{home}/kotal-data"),
            "config": format!("{home}/kotal-config"),
            "secrets": format!("{home}/.kotal-secrets"),
            "identity": format!("{home}/.kotal-identity"),
        },
        "pod_security_context": {
            "runAsUser": 1000,
            "runAsGroup": 3000,
            "runAsNonRoot": true,
            "fsGroup": 2000,
            "fsGroupChangePolicy": "OnRootMismatch",
        },
        "config_sha256": config_sha256(&data),
        "data": data,
    });
    Plan { templates, context }
}
