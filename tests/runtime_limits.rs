//! Memory and storage from the spec, on the real programs: a rendered Peer started by the pod
//! runner on every kubo version shows the derived `Swarm.ResourceMgr.MaxMemory`,
//! `Datastore.StorageMax` and `StorageGCWatermark` in `ipfs config`, kubo's resource manager
//! runs with that memory, and the daemon's environment holds `GOMEMLIMIT`; a grown claim
//! reaches the repository at the next start, and `diff` names the new value. The real
//! ipfs-cluster-service runs with `GOMEMLIMIT` and answers on its metrics port, and so does
//! kubo on the metrics path of its RPC API, where its PodMonitor points.

use std::fs;
use std::time::Duration;

use kotalc::ipfs::keys::{Material, generate};
use kotalc::kube::manifest::Object;

use crate::common::{Kotalc, scratch, text};
use crate::pods::{CLUSTER, Cluster, KUBO, Pod, wait_for};

/// Hang guard of a wait for a daemon.
const BOUND: Duration = Duration::from_secs(240);
/// The RPC API inside the pod: `ipfs` commands go to the daemon, never to the locked
/// repository.
const API: &str = "--api=/ip4/127.0.0.1/tcp/5001";

fn render(name: &str, yaml: &str) -> Vec<Object> {
    let input = scratch(&format!("limits-input-{name}"));
    fs::write(input.join("resources.yaml"), yaml).expect("input");
    crate::spec_fields::operator_objects(input)
}

fn peer(version: &str, storage: &str) -> String {
    format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: sized\n  \
         namespace: ipfs\nspec:\n  image: kotalco/kubo:{version}\n  api: true\n  \
         resources:\n    memory: 1Gi\n    memoryLimit: 3Gi\n    storage: {storage}\n"
    )
}

fn ipfs(pod: &Pod, args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["ipfs", API];
    argv.extend_from_slice(args);
    let output = pod.exec("peer", &argv);
    if output.status.success() {
        Ok(text(&output.stdout).trim().to_string())
    } else {
        Err(format!("{}{}", text(&output.stdout), text(&output.stderr)))
    }
}

/// The environment of a main container's process, as the kernel holds it.
fn environment(pod: &Pod, container: &str) -> Vec<String> {
    let environ = fs::read(format!("/proc/{}/environ", pod.pid(container))).unwrap_or_default();
    environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// The memory limit of kubo's resource manager (`ipfs swarm resources`), which writes a
/// 64-bit limit as a JSON string (go-libp2p's LimitVal64).
fn system_memory(pod: &Pod) -> Option<u64> {
    let limits = ipfs(pod, &["swarm", "resources", "--enc=json"])
        .unwrap_or_else(|e| panic!("{e}\n{}", pod.logs()));
    let limits: serde_json::Value = serde_json::from_str(&limits).expect("JSON");
    let memory = &limits["System"]["Memory"];
    memory
        .as_u64()
        .or_else(|| memory.as_str().and_then(|m| m.parse().ok()))
}

fn start(cluster: &Cluster, name: &str) -> Pod {
    cluster.start(name).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the peer until its API answers, then hands it to `check`.
fn with_kubo(cluster: &Cluster, version: &str, check: impl FnOnce(&Pod)) {
    let pod = start(cluster, "sized");
    wait_for(
        &format!("{version}: kubo answers `ipfs id`"),
        BOUND,
        || ipfs(&pod, &["id", "-f=<id>"]).is_ok(),
        || pod.logs(),
    );
    check(&pod);
}

#[test]
fn real_kubo_runs_with_memory_and_storage_from_the_spec() {
    for version in KUBO {
        let mut cluster = Cluster::new(&format!("limits-{version}"));
        cluster.apply(&render(version, &peer(version, "20Gi")));
        with_kubo(&cluster, version, |pod| {
            let config = |key: &str| ipfs(pod, &["config", key]).unwrap_or_else(|e| e);
            // Half of the 3Gi limit; 90% of the 20Gi claim, GC at 90% of that.
            assert_eq!(
                config("Swarm.ResourceMgr.MaxMemory"),
                "1536MiB",
                "{version}"
            );
            assert_eq!(config("Datastore.StorageMax"), "18GiB", "{version}");
            assert_eq!(config("Datastore.StorageGCWatermark"), "90", "{version}");
            // kubo's resource manager runs with that memory, not half of the machine's.
            assert_eq!(system_memory(pod), Some(1536 << 20), "{version}");
            // The metrics path a PodMonitor scrapes, on the pod's address (the RPC API).
            let metrics = pod.http("GET", 5001, "/debug/metrics/prometheus");
            assert!(
                metrics
                    .as_ref()
                    .is_some_and(|(status, body)| *status == 200 && body.contains("go_goroutines")),
                "{version}: {:?}\n{}",
                metrics.as_ref().map(|(status, _)| status),
                pod.logs()
            );
            // 80% of the 3Gi limit, in whole MiB.
            let env = environment(pod, "peer");
            assert!(
                env.contains(&"GOMEMLIMIT=2457MiB".to_string()),
                "{version}: {env:?}"
            );
            // The Go runtime took it: from v0.38 kubo's Prometheus client reports the limit
            // (/gc/gomemlimit:bytes); v0.28.0's predates that metric.
            if version != "v0.28.0" {
                let limit = metrics.as_ref().and_then(|(_, body)| {
                    body.lines()
                        .find_map(|l| l.strip_prefix("go_gc_gomemlimit_bytes "))
                        .and_then(|v| v.parse::<f64>().ok())
                });
                assert_eq!(limit, Some((2457u64 << 20) as f64), "{version}");
            }
        });
        // The claim grows: the next start sets the new StorageMax.
        cluster.apply(&render(&format!("{version}-grown"), &peer(version, "40Gi")));
        with_kubo(&cluster, version, |pod| {
            assert_eq!(
                ipfs(pod, &["config", "Datastore.StorageMax"]).unwrap_or_else(|e| e),
                "36GiB",
                "{version}\n{}",
                pod.logs()
            );
        });
    }
}

/// A user's "off" leaves the repository's own value (set with `ipfs config` in the pod) at
/// every start, and sets no GOMEMLIMIT.
#[test]
fn real_kubo_keeps_the_users_own_settings() {
    let version = KUBO[0];
    let mut cluster = Cluster::new("limits-off");
    let yaml = peer(version, "20Gi").replace(
        "  namespace: ipfs\n",
        "  namespace: ipfs\n  annotations:\n    kotalc.io/go-memory-limit: \"off\"\n    \
         kotalc.io/resource-manager-memory: \"off\"\n    kotalc.io/storage-max: 7Gi\n",
    );
    cluster.apply(&render("off", &yaml));
    with_kubo(&cluster, version, |pod| {
        assert_eq!(
            ipfs(pod, &["config", "Datastore.StorageMax"]).unwrap_or_else(|e| e),
            "7GiB"
        );
        ipfs(pod, &["config", "Swarm.ResourceMgr.MaxMemory", "700MiB"])
            .unwrap_or_else(|e| panic!("{e}"));
        let env = environment(pod, "peer");
        assert!(!env.iter().any(|v| v.starts_with("GOMEMLIMIT=")), "{env:?}");
    });
    with_kubo(&cluster, version, |pod| {
        assert_eq!(
            ipfs(pod, &["config", "Swarm.ResourceMgr.MaxMemory"]).unwrap_or_else(|e| e),
            "700MiB",
            "{}",
            pod.logs()
        );
        assert_eq!(system_memory(pod), Some(700 << 20));
    });
}

#[test]
fn real_cluster_peer_runs_with_gomemlimit() {
    let mut cluster = Cluster::new("limits-cluster");
    let secret = generate(Material::ClusterSecret).expect("randomness");
    let identity = generate(Material::PeerIdentity).expect("randomness");
    let id = identity.peer_id.expect("peer ID").to_string();
    cluster.secret(
        "cluster-secret",
        "secret",
        &String::from_utf8(secret.value).expect("text"),
    );
    cluster.secret(
        "metered-identity",
        "key",
        &String::from_utf8(identity.value).expect("text"),
    );
    let yaml = format!(
        "{}---\napiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  \
         name: metered\n  namespace: ipfs\nspec:\n  image: kotalco/ipfs-cluster:{}\n  \
         id: {id}\n  privateKeySecretName: metered-identity\n  clusterSecretName: \
         cluster-secret\n  peerEndpoint: /dns4/sized/tcp/5001\n  resources:\n    \
         memory: 512Mi\n    memoryLimit: 1Gi\n",
        peer(KUBO[0], "10Gi"),
        CLUSTER.trim_start_matches("ipfs-cluster-")
    );
    cluster.apply(&render("cluster", &yaml));
    let kubo = start(&cluster, "sized");
    let pod = start(&cluster, "metered");
    wait_for(
        "ipfs-cluster-service serves Prometheus metrics on 8888",
        BOUND,
        || {
            pod.kubelet("cluster-peer");
            pod.http("GET", 8888, "/metrics")
                .is_some_and(|(status, body)| status == 200 && body.contains("go_goroutines"))
        },
        || format!("{}{}", kubo.logs(), pod.logs()),
    );
    // 80% of the 1Gi limit.
    let env = environment(&pod, "cluster-peer");
    assert!(
        env.contains(&"GOMEMLIMIT=819MiB".to_string()),
        "{env:?}\n{}",
        pod.logs()
    );
}

/// `diff` of a claim that grows shows the claim and the new StorageMax beside it.
#[test]
fn diff_of_a_grown_claim_shows_the_new_storage_max() {
    let dir = scratch("limits-diff");
    let input = dir.join("input");
    fs::create_dir_all(&input).expect("mkdir");
    fs::write(input.join("peer.yaml"), peer(KUBO[0], "20Gi")).expect("input");
    let out = dir.join("rendered");
    let built = Kotalc::new()
        .args(["build", "--no-network-policies", "-o"])
        .arg(&out)
        .arg(&input)
        .run();
    built.success();
    fs::write(input.join("peer.yaml"), peer(KUBO[0], "40Gi")).expect("input");
    let diff = Kotalc::new()
        .args(["diff", "--no-network-policies", "--against"])
        .arg(&out)
        .arg(&input)
        .run();
    for expected in ["KOTAL_STORAGE_MAX", "18GiB", "36GiB", "40Gi"] {
        diff.stdout_has(expected);
    }
}
