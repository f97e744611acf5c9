//! `kotalc new private-swarm`: the swarm it writes builds with `--deny-warnings` at once, its
//! peering graph is complete and consistent, every key unseals with the controller's key to
//! the identity its resources name, no plaintext reaches a file or a message, and it never
//! writes over anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::Value as J;

use crate::common::{Run, root, run, scratch, text, yaml_files};
use crate::seal::{controller_cert, unsealed};

fn strings(value: &J) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(J::as_str).collect())
        .unwrap_or_default()
}

/// Checks the written swarm against what it promises and returns every plaintext it sealed.
fn check_swarm(dir: &Path, name: &str, peers: usize, cluster: bool) -> Vec<String> {
    let objects = yaml_files(dir);
    let by_kind = |kind: &str| -> BTreeMap<String, &J> {
        objects
            .values()
            .filter(|o| o["kind"] == kind)
            .map(|o| (o["metadata"]["name"].as_str().expect("name").to_string(), o))
            .collect()
    };
    let sealed = by_kind("SealedSecret");
    let mut plaintexts = Vec::new();
    let identity = |secret: &str, plaintexts: &mut Vec<String>| -> String {
        let object = sealed
            .get(secret)
            .unwrap_or_else(|| panic!("no SealedSecret {secret}"));
        let key = unsealed(object, "key");
        let id = kotalc::ipfs::keys::check_private_key(&key)
            .expect("a valid private key")
            .to_base58();
        assert_eq!(
            object["metadata"]["annotations"]["kotalc.io/peer-id"], id,
            "{secret} records the peer ID of the key it holds"
        );
        plaintexts.push(text(&key));
        id
    };

    let swarm_key = format!("{name}-swarm-key");
    let peer_objects = by_kind("Peer");
    assert_eq!(peer_objects.len(), peers);
    // Every Peer: private with the one swarm key, its ID that of its sealed key.
    let mut ids = BTreeMap::new();
    for (peer_name, peer) in &peer_objects {
        let annotations = &peer["metadata"]["annotations"];
        assert_eq!(peer["metadata"]["namespace"], "ipfs");
        assert_eq!(peer["spec"]["swarmKeySecretName"], swarm_key.as_str());
        let secret = annotations["kotalc.io/identity-secret"]
            .as_str()
            .expect("identity-secret");
        let id = identity(secret, &mut plaintexts);
        assert_eq!(annotations["kotalc.io/peer-id"], id.as_str());
        assert!(ids.insert(peer_name.clone(), id).is_none());
    }
    assert_eq!(
        ids.values().collect::<BTreeSet<_>>().len(),
        peers,
        "each Peer has an identity of its own"
    );
    // The peering graph is complete: each Peer lists every other at its swarm port, with its
    // ID, and nothing else.
    for (peer_name, peer) in &peer_objects {
        let list = peer["metadata"]["annotations"]["kotalc.io/peering"]
            .as_str()
            .expect("a peering list, empty for a swarm of one");
        let listed: BTreeSet<String> = list
            .split(',')
            .filter(|e| !e.is_empty())
            .map(String::from)
            .collect();
        let expected: BTreeSet<String> = ids
            .iter()
            .filter(|(other, _)| *other != peer_name)
            .map(|(other, id)| format!("/dns4/{other}/tcp/4001/p2p/{id}"))
            .collect();
        assert_eq!(listed, expected, "{peer_name} peers with every other Peer");
        assert_eq!(peer["spec"]["api"].as_bool().unwrap_or(false), cluster);
    }
    let key = unsealed(sealed[&swarm_key], "swarm.key");
    kotalc::ipfs::keys::check_swarm_key(&key).expect("a valid swarm key");
    plaintexts.push(text(&key).lines().last().expect("key line").to_string());

    let cluster_objects = by_kind("ClusterPeer");
    assert_eq!(cluster_objects.len(), if cluster { peers } else { 0 });
    let mut cluster_ids = BTreeMap::new();
    for (member, object) in &cluster_objects {
        let spec = &object["spec"];
        let id = identity(
            spec["privateKeySecretName"].as_str().expect("key secret"),
            &mut plaintexts,
        );
        assert_eq!(spec["id"], id.as_str());
        cluster_ids.insert(member.clone(), id);
    }
    for (i, (member, object)) in cluster_objects.iter().enumerate() {
        let spec = &object["spec"];
        assert_eq!(spec["consensus"], "crdt");
        assert_eq!(
            spec["clusterSecretName"],
            format!("{name}-cluster-secret").as_str()
        );
        let peer = format!("{name}-{}", member.rsplit('-').next().expect("index"));
        assert!(peer_objects.contains_key(&peer), "{member} has a Peer");
        assert_eq!(
            spec["peerEndpoint"],
            format!("/dns4/{peer}/tcp/5001").as_str()
        );
        let bootstrap: BTreeSet<String> = strings(&spec["bootstrapPeers"])
            .into_iter()
            .map(String::from)
            .collect();
        let expected: BTreeSet<String> = cluster_ids
            .iter()
            .filter(|(other, _)| *other != member)
            .map(|(other, id)| format!("/dns4/{other}/tcp/9096/p2p/{id}"))
            .collect();
        assert_eq!(bootstrap, expected, "{member} bootstraps to every other");
        let trusted: BTreeSet<&str> = strings(&spec["trustedPeers"]).into_iter().collect();
        assert_eq!(
            trusted,
            cluster_ids.values().map(String::as_str).collect(),
            "{member} trusts exactly the cluster's peers"
        );
        assert!(i < peers);
    }
    if cluster {
        let secret = unsealed(sealed[&format!("{name}-cluster-secret")], "secret");
        kotalc::ipfs::keys::check_cluster_secret(&secret).expect("a valid cluster secret");
        plaintexts.push(text(&secret));
    }
    assert_eq!(
        sealed.len(),
        1 + peers + if cluster { 1 + peers } else { 0 },
        "one SealedSecret per secret, no more"
    );
    plaintexts
}

/// Fails if any file below `dir` or any of `outputs` holds a plaintext, or a long piece of it.
fn assert_no_plaintext(dir: &Path, outputs: &[String], plaintexts: &[String]) {
    let mut scanned: Vec<(String, String)> = outputs
        .iter()
        .map(|o| ("command output".to_string(), o.clone()))
        .collect();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let content = fs::read_to_string(entry.path()).expect("text");
            scanned.push((entry.path().display().to_string(), content));
        }
    }
    for plaintext in plaintexts {
        assert!(plaintext.len() >= 44, "a whole secret: {}", plaintext.len());
        for (what, content) in &scanned {
            assert!(
                !content.contains(plaintext.as_str()) && !content.contains(&plaintext[..24]),
                "{what} holds a secret's plaintext"
            );
        }
    }
}

/// Runs `kotalc new private-swarm demo --peers PEERS [--cluster]` with the test controller's
/// certificate into `work/swarm`, then `kotalc build swarm --deny-warnings` into
/// `work/rendered`: the outputs of both.
pub fn new_swarm_built(work: &Path, peers: usize, cluster: bool) -> (Run, Run) {
    let peers = peers.to_string();
    let cert = controller_cert();
    let mut args = vec![
        "new",
        "private-swarm",
        "demo",
        "--peers",
        &peers,
        "--cert",
        &cert,
        "-n",
        "ipfs",
        "-o",
        "swarm",
    ];
    if cluster {
        args.push("--cluster");
    }
    let new = run(work, &args);
    let build = run(
        work,
        &["build", "swarm", "--deny-warnings", "-o", "rendered"],
    );
    (new, build)
}

#[test]
fn a_new_private_swarm_builds_at_once_and_is_peered_and_sealed() {
    for (peers, cluster) in [(3, true), (4, false), (1, true)] {
        let work = scratch(&format!("new-private-swarm-{peers}-{cluster}"));
        let (out, build) = new_swarm_built(&work, peers, cluster);
        let new_stderr = text(&out.stderr);
        out.success();
        assert!(out.stdout.is_empty());
        let resources = peers * if cluster { 2 } else { 1 };
        let files = 1 + 2 * peers + if cluster { 1 + 2 * peers } else { 0 };
        assert_eq!(
            new_stderr,
            format!(
                "kotalc: {resources} resource{}, 0 errors, 0 warnings; wrote {files} files to swarm\n",
                if resources == 1 { "" } else { "s" }
            )
        );

        let build_stderr = text(&build.stderr);
        build.success();
        // Nothing but the note every build with NetworkPolicies carries, and the summary.
        assert!(
            build_stderr.starts_with("note[network-policies]: ")
                && build_stderr.lines().count() == 3
                && build_stderr.contains(" 0 errors, 0 warnings, 1 note; "),
            "nothing but the network-policies note and the summary: {build_stderr}"
        );
        let plaintexts = check_swarm(&work.join("swarm"), "demo", peers, cluster);
        assert_no_plaintext(
            &work,
            &[new_stderr, build_stderr, text(&build.stdout)],
            &plaintexts,
        );
    }
}

/// Every file below `dir`, with its content.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let content = fs::read(e.path()).expect("read");
            (e.path().display().to_string(), content)
        })
        .collect()
}

#[test]
fn new_never_writes_over_anything() {
    let work = scratch("new-refusals");
    let cert = controller_cert();
    let new = |dir: &str, name: &str| {
        run(
            &work,
            &[
                "new",
                "private-swarm",
                name,
                "--peers",
                "2",
                "--cert",
                &cert,
                "-n",
                "ipfs",
                "-o",
                dir,
            ],
        )
    };
    new("swarm", "demo").success();
    let before = tree(&work.join("swarm"));
    // Its own output too: fresh keys would orphan the identities of running peers.
    let again = new("swarm", "demo");
    again
        .code(1)
        .stderr_has("error[output-dir]")
        .stderr_has("nothing written");
    let after = tree(&work.join("swarm"));
    assert_eq!(before, after, "the first swarm is untouched");

    fs::create_dir(work.join("mine")).expect("mkdir");
    fs::write(work.join("mine/notes.txt"), "mine").expect("write");
    new("mine", "demo").code(1);
    assert_eq!(
        fs::read_to_string(work.join("mine/notes.txt")).expect("kept"),
        "mine"
    );
    assert_eq!(fs::read_dir(work.join("mine")).expect("dir").count(), 1);

    // A name whose resources Kubernetes would refuse, and a bad certificate: usage and input
    // errors, nothing written.
    let long = "a".repeat(51);
    for name in ["Demo", "demo_1", long.as_str()] {
        let out = new("refused", name);
        out.code(2);
        assert!(!work.join("refused").exists());
    }
    let out = run(
        &work,
        &[
            "new",
            "private-swarm",
            "demo",
            "--peers",
            "2",
            "--cert",
            &root().join("tests/data/expired.crt").to_string_lossy(),
            "-n",
            "ipfs",
            "-o",
            "refused",
        ],
    );
    out.code(1).stderr_has("error[invalid-certificate]");
    assert!(!work.join("refused").exists());
}

/// `--monitoring` writes the scrapers on every resource and opens the Peers' RPC APIs, where
/// kubo serves its metrics: the swarm builds with `--deny-warnings`, with a PodMonitor per
/// resource and each NetworkPolicy admitting the scrapers.
#[test]
fn a_new_private_swarm_can_be_monitored() {
    let work = scratch("new-private-swarm-monitored");
    let cert = controller_cert();
    let scrapers = "monitoring:app.kubernetes.io/name=prometheus";
    let out = run(
        &work,
        &[
            "new",
            "private-swarm",
            "watched",
            "--peers",
            "2",
            "--cluster",
            "--monitoring",
            scrapers,
            "--cert",
            &cert,
            "-n",
            "ipfs",
            "-o",
            "swarm",
        ],
    );
    out.success();
    let build = run(&work, &["build", "--deny-warnings", "swarm"]);
    build.success();
    let objects: Vec<J> = serde_saphyr::from_multiple(&text(&build.stdout)).expect("YAML");
    let monitors: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "PodMonitor")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        monitors,
        BTreeSet::from([
            "watched-0",
            "watched-1",
            "watched-cluster-0",
            "watched-cluster-1"
        ])
    );
    for policy in objects.iter().filter(|o| o["kind"] == "NetworkPolicy") {
        let admits = policy["spec"]["ingress"].as_array().is_some_and(|rules| {
            rules.iter().any(|r| {
                r["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "prometheus"
            })
        });
        assert!(admits, "{policy}");
    }
}
