//! Rendered ClusterPeers run against a stand-in ipfs-cluster-service (tests/stubs/) that keeps
//! its configuration and Raft state as the real one does at v1.0.8 and v1.1.6. The containers
//! run in order with their env, mounts and arguments, as a kubelet runs them; the assertions
//! are on the configuration the daemon would run with.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value as J, json};

use crate::common::{Run, root, scratch, text};

const VERSIONS: [&str; 2] = ["1.0.8", "1.1.6"];
const ID: &str = "12D3KooWKFhjXMpRU4xTRnQhpdd6EhAiJJoLF2QYRJgQ1qGGKVfw";
const OTHER: &str = "12D3KooWP4akbTJ7gzE4W3n8gmNZaQeztRMtBCNEGkwAjENtJgGx";
const KEY: &str = "CAESQstub-private-key-of-the-test";
const SECRET_1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const SECRET_2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// The objects kotalc renders for one ClusterPeer, by kind.
struct Rendered {
    statefulset: J,
    service: J,
    configmap: J,
}

fn render(dir: &Path, yaml: &str) -> Rendered {
    let input = dir.join("input");
    let _ = fs::remove_dir_all(&input);
    fs::create_dir_all(&input).expect("mkdir");
    fs::write(input.join("cluster.yaml"), yaml).expect("input");
    let objects = crate::spec_fields::operator_objects(input);
    let get = |kind: &str| {
        objects
            .iter()
            .find(|o| o.kind == kind)
            .map(|o| o.value.clone())
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    Rendered {
        statefulset: get("StatefulSet"),
        service: get("Service"),
        configmap: get("ConfigMap"),
    }
}

/// One pod of a StatefulSet on a node: the claim's directory survives restarts, the ConfigMap
/// volume is written afresh on each start, and Secrets come from `secrets`.
struct Node {
    dir: PathBuf,
    claim: PathBuf,
    version: &'static str,
}

impl Node {
    fn new(name: &str, version: &'static str) -> Node {
        let dir = scratch(&format!("cluster-runtime-{name}-{version}"));
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).expect("mkdir");
        let stub = bin.join("ipfs-cluster-service");
        fs::copy(root().join("tests/stubs/ipfs-cluster-service"), &stub).expect("stub");
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
        let claim = dir.join("claim");
        fs::create_dir_all(&claim).expect("mkdir");
        Node {
            dir,
            claim,
            version,
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.join("daemon.log")
    }

    /// Runs the pod's init containers, then its container, and returns what the daemon
    /// recorded of this start.
    fn start(&self, pod: &Rendered, secrets: &[(&str, &str, &str)], extra: &[(&str, &str)]) -> J {
        let config = self.dir.join("configmap");
        let _ = fs::remove_dir_all(&config);
        fs::create_dir_all(&config).expect("mkdir");
        for (file, body) in pod.configmap["data"].as_object().expect("data") {
            fs::write(config.join(file), body.as_str().expect("text")).expect("script");
        }
        let spec = &pod.statefulset["spec"]["template"]["spec"];
        let volumes: BTreeMap<&str, &Path> = spec["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .map(|v| {
                let name = v["name"].as_str().expect("name");
                let host: &Path = if v.get("persistentVolumeClaim").is_some() {
                    &self.claim
                } else {
                    &config
                };
                (name, host)
            })
            .collect();
        let before = fs::read_to_string(self.log()).unwrap_or_default();
        let containers = spec["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(spec["containers"].as_array().expect("containers"));
        for container in containers {
            self.run(container, &volumes, secrets, extra);
        }
        let after = fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = after[before.len()..].lines().collect();
        assert_eq!(lines.len(), 1, "one daemon start recorded");
        serde_json::from_str(lines[0]).expect("record")
    }

    fn run(
        &self,
        container: &J,
        volumes: &BTreeMap<&str, &Path>,
        secrets: &[(&str, &str, &str)],
        extra: &[(&str, &str)],
    ) {
        // Paths inside the container map to the volumes mounted there, and only those.
        let mounts: Vec<(String, String)> = container["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .map(|m| {
                let host = volumes[m["name"].as_str().expect("volume")];
                (
                    m["mountPath"].as_str().expect("path").to_string(),
                    host.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let translate = |s: &str| {
            mounts.iter().fold(s.to_string(), |s, (inside, host)| {
                s.replace(inside.as_str(), host)
            })
        };
        let mut argv: Vec<String> = container["command"]
            .as_array()
            .expect("command")
            .iter()
            .chain(container["args"].as_array().into_iter().flatten())
            .map(|a| translate(a.as_str().expect("argument")))
            .collect();
        if argv[0] == "/bin/sh" {
            argv[0] = "sh".into();
        }
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        for (name, _) in std::env::vars() {
            if name.starts_with("CLUSTER_")
                || name.starts_with("IPFS_")
                || name.starts_with("KOTAL")
            {
                command.env_remove(name);
            }
        }
        for var in container["env"].as_array().into_iter().flatten() {
            let name = var["name"].as_str().expect("env name");
            let value = match (&var["value"], &var["valueFrom"]["secretKeyRef"]) {
                (J::String(v), _) => translate(v),
                (_, J::Object(r)) => secrets
                    .iter()
                    .find(|(s, k, _)| r["name"] == *s && r["key"] == *k)
                    .map(|(_, _, v)| (*v).to_string())
                    .unwrap_or_else(|| panic!("no Secret {r:?}: the pod would not start")),
                _ => String::new(),
            };
            command.env(name, value);
        }
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = command
            .env("PATH", path)
            .env("STUB_LOG", self.log())
            .env("STUB_VERSION", self.version)
            .envs(extra.iter().copied())
            .current_dir(&self.dir)
            .output()
            .expect("container runs");
        assert!(
            out.status.success(),
            "container {} failed: {}{}",
            container["name"],
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    fn on_disk(&self) -> J {
        let file = fs::read_to_string(self.claim.join("service.json")).expect("service.json");
        serde_json::from_str(&file).expect("JSON")
    }
}

fn cluster_peer(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: {name}\n  \
         namespace: ipfs\nspec:\n  clusterSecretName: cluster-secret\n{spec}"
    )
}

/// The settings kotalc renders, as the daemon would run with them: secret, peer name, IPFS
/// node of the connector and of the proxy, REST and proxy listeners, metrics on and where.
fn settings(config: &J) -> J {
    json!([
        config["cluster"]["secret"],
        config["cluster"]["peername"],
        config["ipfs_connector"]["ipfshttp"]["node_multiaddress"],
        config["api"]["ipfsproxy"]["node_multiaddress"],
        config["api"]["restapi"]["http_listen_multiaddress"],
        config["api"]["ipfsproxy"]["listen_multiaddress"],
        config["observations"]["metrics"]["enable_stats"],
        config["observations"]["metrics"]["prometheus_endpoint"],
        config["consensus"]["crdt"]["trusted_peers"],
    ])
}

/// Every setting but the identity reaches a peer that already has its service.json: a rotated
/// secret, a new peerEndpoint and a new trust list take effect on the next start.
#[test]
fn cluster_settings_reach_the_running_peer() {
    for version in VERSIONS {
        let node = Node::new("settings", version);
        let identity = format!(
            "  id: {ID}\n  privateKeySecretName: peer-identity\n  logging: debug\n  \
             trustedPeers: [{ID}]\n"
        );
        let first = render(
            &node.dir,
            &cluster_peer(
                "pinning",
                &format!("  peerEndpoint: /dns4/kubo-a/tcp/5001\n{identity}"),
            ),
        );
        let pod = &first.statefulset["spec"]["template"]["spec"];
        let daemon_env: Vec<&str> = pod["containers"][0]["env"]
            .as_array()
            .expect("env")
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert!(
            !daemon_env.contains(&"CLUSTER_ID") && !daemon_env.contains(&"CLUSTER_PRIVATEKEY"),
            "the identity is the init container's alone: {daemon_env:?}"
        );
        let secrets = |secret| {
            [
                ("cluster-secret", "secret", secret),
                ("peer-identity", "key", KEY),
            ]
        };

        let started = node.start(&first, &secrets(SECRET_1), &[]);
        assert_eq!(started["loglevel"], "debug", "{version}");
        assert_eq!(started["bootstrap"], json!([]));
        assert_eq!(
            settings(&started["config"]),
            json!([
                SECRET_1,
                "pinning",
                "/dns4/kubo-a/tcp/5001",
                "/dns4/kubo-a/tcp/5001",
                "/ip4/0.0.0.0/tcp/9094",
                "/ip4/0.0.0.0/tcp/9095",
                true,
                "/ip4/0.0.0.0/tcp/8888",
                [ID]
            ]),
            "{version}"
        );
        assert_eq!(started["identity"], json!({"id": ID, "private_key": KEY}));

        // The secret is rotated, the Peer moves and the trust list grows.
        let second = render(
            &node.dir,
            &cluster_peer(
                "pinning",
                &format!("  peerEndpoint: /dns4/kubo-b/tcp/5001\n{identity}")
                    .replace(&format!("[{ID}]"), &format!("[{ID}, {OTHER}]")),
            ),
        );
        let restarted = node.start(&second, &secrets(SECRET_2), &[]);
        assert_eq!(
            settings(&restarted["config"]),
            json!([
                SECRET_2,
                "pinning",
                "/dns4/kubo-b/tcp/5001",
                "/dns4/kubo-b/tcp/5001",
                "/ip4/0.0.0.0/tcp/9094",
                "/ip4/0.0.0.0/tcp/9095",
                true,
                "/ip4/0.0.0.0/tcp/8888",
                [ID, OTHER]
            ]),
            "{version}"
        );
        assert_eq!(restarted["identity"]["id"], ID);
        // service.json was made once and still holds the first values: only the daemon's
        // own environment carried the new ones.
        let on_disk = node.on_disk();
        assert_eq!(on_disk["cluster"]["secret"], SECRET_1);
        assert_eq!(
            on_disk["ipfs_connector"]["ipfshttp"]["node_multiaddress"],
            "/dns4/kubo-a/tcp/5001"
        );
    }
}

/// A Raft peer joins its bootstrap peers on its first start only; later starts keep the state
/// that `--bootstrap` would move aside.
#[test]
fn raft_peer_bootstraps_once_and_keeps_its_state() {
    let peers = format!("/dns4/raft-0/tcp/9096/p2p/{OTHER}");
    let spec = format!(
        "  consensus: raft\n  peerEndpoint: /dns4/kubo/tcp/5001\n  bootstrapPeers: [{peers}]\n"
    );
    let secrets = [("cluster-secret", "secret", SECRET_1)];
    for version in VERSIONS {
        let node = Node::new("raft", version);
        let pod = render(&node.dir, &cluster_peer("raft-1", &spec));
        let raft = node.claim.join("raft");

        let first = node.start(&pod, &secrets, &[]);
        assert_eq!(first["bootstrap"], json!([peers]), "{version}");
        assert_eq!(first["raft"]["outcome"], "joined");
        for start in 2..=3 {
            let again = node.start(&pod, &secrets, &[]);
            assert_eq!(again["bootstrap"], json!([]), "start {start} ({version})");
            assert_eq!(again["raft_cleanup"], J::Null);
            assert_eq!(again["raft"]["outcome"], "existing-state");
        }
        assert!(
            !node.claim.join("raft.old.0").exists(),
            "no state was moved aside"
        );
        assert_eq!(
            fs::read_dir(raft.join("snapshots"))
                .expect("snapshots")
                .count(),
            3
        );

        // Passing --bootstrap on every start, as the operator renders it, moves the state
        // aside each time: the stand-in does what ipfs-cluster does.
        let out = Run::of(
            Command::new(node.dir.join("bin/ipfs-cluster-service"))
                .args(["daemon", "--bootstrap", &peers])
                .env("IPFS_CLUSTER_PATH", &node.claim)
                .env("CLUSTER_SECRET", SECRET_1)
                .env("STUB_LOG", node.log()),
            "stub",
        );
        out.code(0);
        assert!(node.claim.join("raft.old.0/snapshots").is_dir());
    }
}

/// A first join that finds no leader (the joiner started before its leader) leaves raft.db
/// with the "CurrentTerm" key at 0, as every start of the real daemon writes it: the next start
/// joins again instead of bootstrapping a cluster of its own.
#[test]
fn raft_peer_without_state_joins_again() {
    let peers = format!("/dns4/raft-0/tcp/9096/p2p/{OTHER}");
    let spec = format!(
        "  consensus: raft\n  peerEndpoint: /dns4/kubo/tcp/5001\n  bootstrapPeers: [{peers}]\n"
    );
    let secrets = [("cluster-secret", "secret", SECRET_1)];
    let node = Node::new("raft-rejoin", "1.1.6");
    let pod = render(&node.dir, &cluster_peer("raft-1", &spec));
    let failed = node.start(&pod, &secrets, &[("STUB_RAFT_JOIN", "fail")]);
    assert_eq!(failed["raft"]["outcome"], "join-failed");
    let db = fs::read(node.claim.join("raft/raft.db")).expect("raft.db");
    let at = db
        .windows(11)
        .position(|w| w == b"CurrentTerm")
        .expect("every start writes CurrentTerm");
    assert_eq!(db[at + 11..at + 19], [0; 8], "term 0 after a failed join");
    let retried = node.start(&pod, &secrets, &[]);
    assert_eq!(retried["bootstrap"], json!([peers]));
    assert_eq!(retried["raft"]["outcome"], "joined");
}

/// Every port of a ClusterPeer's Service names a container port that the daemon listens on,
/// on 0.0.0.0, whatever the consensus, bootstrap list or extra flags.
#[test]
fn every_service_port_reaches_a_listener() {
    let cases = [
        ("crdt", "  peerEndpoint: /dns4/kubo/tcp/5001\n".to_string()),
        (
            "crdt-bootstrap",
            format!(
                "  peerEndpoint: /dns4/kubo/tcp/5001\n  bootstrapPeers: \
                 [/dns4/c0/tcp/9096/p2p/{OTHER}]\n  trustedPeers: [{ID}]\n"
            ),
        ),
        (
            "raft",
            "  consensus: raft\n  peerEndpoint: /dns4/kubo/tcp/5001\n".to_string(),
        ),
        (
            "raft-bootstrap",
            format!(
                "  consensus: raft\n  peerEndpoint: /dns4/kubo/tcp/5001\n  bootstrapPeers: \
                 [/dns4/r0/tcp/9096/p2p/{OTHER}]\n  extraArgs:\n    --stats: \"\"\n"
            ),
        ),
    ];
    for version in VERSIONS {
        for (name, spec) in &cases {
            let node = Node::new(&format!("ports-{name}"), version);
            let pod = render(&node.dir, &cluster_peer(name, spec));
            let started = node.start(&pod, &[("cluster-secret", "secret", SECRET_1)], &[]);
            let listening: Vec<&str> = started["listeners"]
                .as_array()
                .expect("listeners")
                .iter()
                .filter_map(|l| l["address"].as_str())
                .collect();
            let container = &pod.statefulset["spec"]["template"]["spec"]["containers"][0];
            let service_ports = pod.service["spec"]["ports"].as_array().expect("ports");
            assert!(!service_ports.is_empty());
            for port in service_ports {
                let target = &port["targetPort"];
                let container_port = container["ports"]
                    .as_array()
                    .expect("container ports")
                    .iter()
                    .find(|p| p["name"] == *target)
                    .unwrap_or_else(|| panic!("{name}: no container port {target}"));
                assert_eq!(port["protocol"], "TCP", "{name}: {port}");
                assert_eq!(container_port["protocol"], "TCP");
                let address = format!("/ip4/0.0.0.0/tcp/{}", container_port["containerPort"]);
                assert!(
                    listening.contains(&address.as_str()),
                    "{name} ({version}): Service port {} reaches nothing; the daemon listens \
                     on {listening:?}",
                    port["name"]
                );
            }
            // The livenessProbe, read as the kubelet's API types read it, asks the REST
            // API's /health on a port the daemon listens on for the pod's address.
            let typed: StatefulSet =
                serde_json::from_value(pod.statefulset.clone()).expect("a StatefulSet");
            let probe = typed
                .spec
                .and_then(|s| s.template.spec)
                .and_then(|s| s.containers.into_iter().next())
                .and_then(|c| c.liveness_probe)
                .unwrap_or_else(|| panic!("{name}: no livenessProbe"));
            let http = probe.http_get.expect("an httpGet probe");
            assert_eq!(http.path.as_deref(), Some("/health"));
            let IntOrString::Int(port) = http.port else {
                panic!("{name}: a named probe port")
            };
            let address = format!("/ip4/0.0.0.0/tcp/{port}");
            assert!(
                listening.contains(&address.as_str()),
                "{name} ({version}): the livenessProbe asks {address}; the daemon listens on \
                 {listening:?}"
            );
        }
    }
}

/// Under crdt, `--bootstrap` only trusts and joins: it is passed on every start, and the
/// bootstrap peer is trusted beside the listed ones.
#[test]
fn crdt_peer_bootstraps_on_every_start() {
    let peers = format!("/dns4/crdt-0/tcp/9096/p2p/{OTHER}");
    let spec = format!(
        "  peerEndpoint: /dns4/kubo/tcp/5001\n  trustedPeers: [{ID}]\n  bootstrapPeers: [{peers}]\n"
    );
    let node = Node::new("crdt-bootstrap", "1.0.8");
    let pod = render(&node.dir, &cluster_peer("crdt-1", &spec));
    for start in 1..=2 {
        let started = node.start(&pod, &[("cluster-secret", "secret", SECRET_1)], &[]);
        assert_eq!(started["bootstrap"], json!([peers]), "start {start}");
        assert_eq!(
            started["config"]["consensus"]["crdt"]["trusted_peers"],
            json!([ID, OTHER])
        );
        assert!(!node.claim.join("raft").exists());
    }
}

/// extraArgs are `--flag=value`: ipfs-cluster-service's booleans (urfave/cli v1, Go's flag
/// package) take no separate value, so `--stats false` switched stats on and left `false` as
/// a stray argument. `--stats=false` turns them off.
#[test]
fn extra_args_are_one_argument_each() {
    let spec = "  peerEndpoint: /dns4/kubo/tcp/5001\n  extraArgs:\n    --stats: \"false\"\n    \
                --leave: \"\"\n";
    let node = Node::new("extra-args", "1.1.6");
    let pod = render(&node.dir, &cluster_peer("crdt-0", spec));
    let container = &pod.statefulset["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["args"],
        json!(["daemon", "--leave", "--stats=false"])
    );
    let started = node.start(&pod, &[("cluster-secret", "secret", SECRET_1)], &[]);
    assert_eq!(started["positional"], json!([]));
    // kotalc's CLUSTER_METRICS_ENABLESTATS=true stays: --stats only ever switches stats on.
    assert_eq!(
        started["config"]["observations"]["metrics"]["enable_stats"],
        true
    );
}
