//! Writes a synthetic repository of Kotal resources for the benchmark: N Peers and N/4
//! ClusterPeers with varied specs, in nested directories and multi-document files, from a
//! fixed seed so that every run measures the same input.
//!
//! cargo bench --bench generate -- N DIR [LIST] [--one-per-file | --private-swarm]
//!
//! With LIST, the same resources are also written there as one KRM ResourceList, the input
//! of `kotalc krm`. With `--one-per-file`, each resource is a file of its own (five to a file
//! otherwise): a repository where reading the files costs the most. With `--private-swarm`,
//! N Peers of one namespace that share one swarm key, and nothing else: the set whose
//! NetworkPolicies once listed every member.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use rand::{RngExt, SeedableRng};

const PROFILES: &[&str] = &[
    "server",
    "lowpower",
    "local-discovery",
    "default-networking",
];
const ROUTING: &[&str] = &["dht", "dhtclient", "dhtserver", "none"];

fn main() {
    let one_per_file = std::env::args().any(|a| a == "--one-per-file");
    let private_swarm = std::env::args().any(|a| a == "--private-swarm");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench" && a != "--one-per-file" && a != "--private-swarm")
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let dir = PathBuf::from(args.get(1).map_or("target/bench-input", String::as_str));
    let _ = fs::remove_dir_all(&dir);
    if private_swarm {
        write_private_swarm(n, &dir);
        return;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6b6f74616c63);
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut list =
        String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    let per_file = if one_per_file { 1 } else { 5 };
    let clusters = n / 4;
    for i in 0..n + clusters {
        let file = i / per_file;
        let team = file % 17;
        let ns = format!("team-{team}");
        let path = dir
            .join(format!("region-{}", file % 3))
            .join(&ns)
            .join(format!("resources-{file:05}.yaml"));
        let mut doc = String::new();
        if i < n {
            // Every fourth Peer is the IPFS peer of a ClusterPeer, which needs its API open.
            let api = i % 4 == 0 || rng.random_bool(0.5);
            let _ = write!(
                doc,
                "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: peer-{i}\n  namespace: {ns}\n  labels:\n    team: t{team}\nspec:\n  api: {api}\n  gateway: {}\n  routing: {}\n  profiles: [{}]\n  resources:\n    cpu: \"{}\"\n    cpuLimit: \"{}\"\n    memory: {}Gi\n    memoryLimit: {}Gi\n    storage: {}Gi\n",
                rng.random_bool(0.3),
                ROUTING[rng.random_range(0..ROUTING.len())],
                PROFILES[rng.random_range(0..PROFILES.len())],
                rng.random_range(1..3),
                rng.random_range(3..5),
                rng.random_range(1..4),
                rng.random_range(5..9),
                rng.random_range(10..500),
            );
            if rng.random_bool(0.2) {
                let _ = write!(
                    doc,
                    "  extraArgs:\n    --enable-gc: \"\"\n    --migrate: \"true\"\n"
                );
            }
        } else {
            let target = (i - n) * 4;
            let target_team = (target / per_file) % 17;
            let _ = write!(
                doc,
                "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: cluster-{i}\n  namespace: {ns}\nspec:\n  clusterSecretName: cluster-secret\n  peerEndpoint: /dns4/peer-{target}.team-{target_team}.svc/tcp/5001\n  consensus: {}\n  trustedPeers: [\"*\"]\n",
                if rng.random_bool(0.8) { "crdt" } else { "raft" },
            );
        }
        for (j, line) in doc.lines().enumerate() {
            list.push_str(if j == 0 { "- " } else { "  " });
            list.push_str(line);
            list.push('\n');
        }
        match files.last_mut() {
            Some((p, text)) if *p == path => {
                text.push_str("---\n");
                text.push_str(&doc);
            }
            _ => files.push((path, doc)),
        }
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, text).expect("write");
    }
    if let Some(path) = args.get(2) {
        fs::write(path, &list).expect("write the ResourceList");
    }
    eprintln!(
        "{} resources in {} files under {}",
        n + clusters,
        files.len(),
        dir.display()
    );
}

/// N Peers of namespace `ipfs` sharing the swarm key `swarm-key`, five to a file.
fn write_private_swarm(n: usize, dir: &std::path::Path) {
    fs::create_dir_all(dir).expect("mkdir");
    for file in 0..n.div_ceil(5) {
        let mut text = String::new();
        for i in file * 5..((file + 1) * 5).min(n) {
            if !text.is_empty() {
                text.push_str("---\n");
            }
            let _ = write!(
                text,
                "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: peer-{i}\n  namespace: ipfs\n  annotations:\n    kotalc.io/allow: private-swarm-isolated\nspec:\n  swarmKeySecretName: swarm-key\n"
            );
        }
        fs::write(dir.join(format!("peers-{file:05}.yaml")), text).expect("write");
    }
    eprintln!("{n} private Peers under {}", dir.display());
}
