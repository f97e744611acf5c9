//! Rendered Peers and ClusterPeers run on the real programs (kubo at every version
//! `tests/tools/build.sh` builds, ipfs-cluster), by the pod runner of `pods.rs`: every Peer
//! scenario on every kubo version. Waits are for conditions (ports, peer lists, pin status)
//! under hang guards far above a normal run; a failure prints the programs' logs.

use std::fs;
use std::time::Duration;

use kotalc::ipfs::keys::{Material, generate};
use kotalc::kube::manifest::Object;

use crate::common::{real_program, scratch, text, yaml_files};
use crate::pods::{Cluster, KUBO, Pod, wait_for};
use crate::seal::unsealed;

/// Hang guard of a wait for a daemon or a network condition.
const BOUND: Duration = Duration::from_secs(240);

fn render(name: &str, yaml: &str) -> Vec<Object> {
    let input = scratch(&format!("real-input-{name}"));
    fs::write(input.join("resources.yaml"), yaml).expect("input");
    crate::spec_fields::operator_objects(input)
}

/// Fresh material from kotalc's generator: the value, and the peer ID of an identity.
fn material(kind: Material) -> (String, String) {
    let generated = generate(kind).expect("randomness");
    (
        String::from_utf8(generated.value).expect("text"),
        generated
            .peer_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    )
}

fn logs(pods: &[&Pod]) -> String {
    pods.iter().map(|p| p.logs()).collect()
}

fn out(pod: &Pod, container: &str, argv: &[&str]) -> Result<String, String> {
    let output = pod.exec(container, argv);
    if output.status.success() {
        Ok(text(&output.stdout))
    } else {
        Err(format!("{}{}", text(&output.stdout), text(&output.stderr)))
    }
}

/// The daemon's RPC API inside a Peer pod: `ipfs` commands go there and never open the
/// repository, whose lock a starting daemon needs.
const API: &str = "--api=/ip4/127.0.0.1/tcp/5001";

/// An `ipfs` command against the pod's daemon, as `kubectl exec` runs it.
fn ipfs(pod: &Pod, args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["ipfs", API];
    argv.extend_from_slice(args);
    out(pod, "peer", &argv)
}

/// Starts a pod; its failure fails the test with the logs.
fn start(cluster: &Cluster, name: &str) -> Pod {
    cluster.start(name).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until kubo's RPC API answers inside the pod (its daemon is up).
fn kubo_up(pod: &Pod) {
    wait_for(
        &format!("kubo of pod {} answers `ipfs id`", pod.name),
        BOUND,
        || ipfs(pod, &["id", "-f=<id>"]).is_ok(),
        || pod.logs(),
    );
}

fn peer_id(pod: &Pod) -> String {
    ipfs(pod, &["id", "-f=<id>"])
        .unwrap_or_else(|e| panic!("{e}\n{}", pod.logs()))
        .trim()
        .to_string()
}

fn swarm_peers(pod: &Pod) -> String {
    ipfs(pod, &["swarm", "peers"]).unwrap_or_default()
}

fn peer_yaml(name: &str, image: &str, spec: &str, annotations: &str) -> String {
    format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: {name}\n  \
         namespace: ipfs\n  annotations:\n    test.example/scenario: real\n{annotations}spec:\n  \
         image: kotalco/kubo:{image}\n{spec}---\n"
    )
}

/// A Peer with a fixed identity peering with `others` (name, peer ID).
fn fixed_peer(name: &str, image: &str, id: &str, others: &[(&str, &str)], spec: &str) -> String {
    let peering: Vec<String> = others
        .iter()
        .map(|(other, other_id)| format!("/dns4/{other}/tcp/4001/p2p/{other_id}"))
        .collect();
    let mut annotations =
        format!("    kotalc.io/peer-id: {id}\n    kotalc.io/identity-secret: {name}-identity\n");
    if !peering.is_empty() {
        annotations.push_str(&format!("    kotalc.io/peering: {}\n", peering.join(",")));
    }
    peer_yaml(name, image, spec, &annotations)
}

/// Scenario 1: a public Peer with `api` and `gateway`: both answer on the pod's address.
#[test]
fn real_public_peer_answers_on_its_address() {
    for version in KUBO {
        let mut cluster = Cluster::new(&format!("public-{version}"));
        cluster.apply(&render(
            &format!("public-{version}"),
            &peer_yaml("public", version, "  api: true\n  gateway: true\n", ""),
        ));
        let pod = start(&cluster, "public");
        wait_for(
            &format!("{version}: the API answers on {}:5001", pod.addr),
            BOUND,
            || {
                pod.http("POST", 5001, "/api/v0/id")
                    .is_some_and(|(s, _)| s == 200)
            },
            || pod.logs(),
        );
        wait_for(
            &format!("{version}: the gateway answers on {}:8080", pod.addr),
            BOUND,
            || {
                // bafkqaaa: the empty identity CID, which needs no network.
                pod.http("GET", 8080, "/ipfs/bafkqaaa")
                    .is_some_and(|(s, _)| s == 200)
            },
            || pod.logs(),
        );
        // Nothing outside is reachable: the public bootstrap list found nobody.
        assert_eq!(swarm_peers(&pod).trim(), "", "{version}\n{}", pod.logs());
    }
}

struct Pair {
    cluster: Cluster,
    ids: Vec<(String, String)>,
}

/// Two private Peers with fixed identities peering with each other, on the given images,
/// and two outsiders: a public Peer with the `local-discovery` profile (mDNS and NAT port
/// mapping on: what the bridge would see from a Peer that looks for a LAN), and a private one
/// with another swarm key.
fn private_pair(name: &str, images: [&str; 2]) -> Pair {
    let (key, _) = material(Material::SwarmKey);
    let (other_key, _) = material(Material::SwarmKey);
    let mut cluster = Cluster::new(name);
    cluster.secret("swarm-key", "swarm.key", &key);
    cluster.secret("other-swarm-key", "swarm.key", &other_key);
    let mut ids = Vec::new();
    for peer in [
        "private-a",
        "private-b",
        "outsider-public",
        "outsider-other-key",
    ] {
        let (value, id) = material(Material::PeerIdentity);
        cluster.secret(&format!("{peer}-identity"), "key", &value);
        ids.push((peer.to_string(), id));
    }
    let (a, b) = (ids[0].1.clone(), ids[1].1.clone());
    let private = "  swarmKeySecretName: swarm-key\n";
    let yaml = [
        fixed_peer("private-a", images[0], &a, &[("private-b", &b)], private),
        fixed_peer("private-b", images[1], &b, &[("private-a", &a)], private),
        fixed_peer(
            "outsider-public",
            images[0],
            &ids[2].1,
            &[],
            "  routing: dht\n  profiles: [local-discovery]\n",
        ),
        fixed_peer(
            "outsider-other-key",
            images[1],
            &ids[3].1,
            &[],
            "  swarmKeySecretName: other-swarm-key\n",
        ),
    ]
    .concat();
    cluster.apply(&render(name, &yaml));
    Pair { cluster, ids }
}

/// `ipfs block put` on one node, `ipfs block get` on the other.
fn block_moves(from: &Pod, to: &Pod, label: &str) {
    let data = format!("kotalc block {label} {}", from.name);
    let cid = out(
        from,
        "peer",
        &[
            "sh",
            "-c",
            &format!("printf %s '{data}' | ipfs {API} block put"),
        ],
    )
    .unwrap_or_else(|e| panic!("block put on {}: {e}", from.name));
    let got = ipfs(to, &["block", "get", "--timeout=120s", cid.trim()]).unwrap_or_else(|e| {
        panic!(
            "{label}: {} fetching {cid}: {e}\n{}",
            to.name,
            logs(&[from, to])
        )
    });
    assert_eq!(got, data, "{label}");
}

/// Which of a private pair starts first.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    AFirst,
    BFirst,
}

fn run_private_pair(name: &str, images: [&str; 2], order: Order) {
    let Pair { cluster, ids } = private_pair(name, images);
    let (a, b) = match order {
        Order::AFirst => {
            let a = start(&cluster, "private-a");
            (a, start(&cluster, "private-b"))
        }
        Order::BFirst => {
            let b = start(&cluster, "private-b");
            (start(&cluster, "private-a"), b)
        }
    };
    let (id_a, id_b) = (&ids[0].1, &ids[1].1);
    wait_for(
        &format!("{name}: the private peers connect through their peering lists"),
        BOUND,
        || swarm_peers(&a).contains(id_b.as_str()) && swarm_peers(&b).contains(id_a.as_str()),
        || logs(&[&a, &b]),
    );
    for pod in [&a, &b] {
        clean_start(pod, name);
        no_discovery(&cluster, pod, name);
    }
    block_moves(&a, &b, name);
    block_moves(&b, &a, name);
    if order == Order::BFirst {
        return;
    }
    // The outsiders, each on its own thread (its processes end with it).
    std::thread::scope(|scope| {
        for (outsider, id) in &ids[2..] {
            let (cluster, a) = (&cluster, &a);
            scope.spawn(move || {
                let pod = start(cluster, outsider);
                kubo_up(&pod);
                let dial = format!("/dns4/private-a/tcp/4001/p2p/{id_a}");
                let connect = ipfs(&pod, &["swarm", "connect", "--timeout=30s", &dial]);
                assert!(
                    connect.is_err() && !swarm_peers(a).contains(id.as_str()),
                    "{name}: {outsider} joined the private swarm: {connect:?}\n{}",
                    logs(&[a, &pod])
                );
                if outsider == "outsider-public" {
                    // The bridge sees a Peer that looks for a LAN: the count is not blind.
                    wait_for(
                        &format!("{name}: the bridge counts the local-discovery Peer's packets"),
                        BOUND,
                        || cluster.discovery_packets(&pod) > 0,
                        || pod.logs(),
                    );
                }
            });
        }
    });
    // Longer up than the outsider that was seen looking, the private peers still sent nothing.
    for pod in [&a, &b] {
        no_discovery(&cluster, pod, name);
    }
    // The swarm key gone from the volume and the daemon restarted (as the kubelet restarts
    // it; init containers do not run again): LIBP2P_FORCE_PNET keeps it from going public.
    out(&a, "peer", &["sh", "-c", "rm \"$IPFS_PATH/swarm.key\""]).expect("rm swarm.key");
    a.restart("peer");
    wait_for(
        &format!("{name}: the daemon without its swarm key refuses to start"),
        BOUND,
        || a.exited("peer").is_some(),
        || a.logs(),
    );
    assert!(
        a.log("peer")
            .contains("private network was not configured but is enforced"),
        "{name}: the keyless daemon stopped for another reason\n{}",
        a.logs()
    );
}

/// A private peer does not look for a LAN or a router: mDNS and NAT port mapping are off in
/// its kubo's configuration, and the bridge has seen no mDNS, SSDP or NAT-PMP packet from it.
fn no_discovery(cluster: &Cluster, pod: &Pod, label: &str) {
    for (key, expected) in [
        ("Discovery.MDNS.Enabled", "false"),
        ("Swarm.DisableNatPortMap", "true"),
    ] {
        let value = ipfs(pod, &["config", key]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value.trim(), expected, "{label}: {} {key}", pod.name);
    }
    assert_eq!(
        cluster.discovery_packets(pod),
        0,
        "{label}: {} sent mDNS, SSDP or NAT-PMP packets",
        pod.name
    );
}

/// A private peer starts clean: none of the ERRORs that kubo v0.38 and later logged under a
/// swarm key (AutoConf's `auto` placeholders, AutoTLS, ShareTCPListener), and no telemetry.
/// One ERROR is not the configuration's: the DHT's "Ignored key without a value", which
/// go-libp2p-kad-dht's `closestPeersToQuery` logs through zap with a value and no key
/// (`logger.Infow("no closer peers to send", from)`, in kubo v0.38.2 and v0.43.0).
fn clean_start(pod: &Pod, label: &str) {
    let log = pod.log("peer");
    let noise: Vec<&str> = log
        .lines()
        .filter(|l| {
            (l.contains("ERROR") && !l.contains("Ignored key without a value"))
                || l.to_lowercase().contains("telemetry will be enabled")
        })
        .collect();
    assert!(
        noise.is_empty(),
        "{label}: {} did not start clean: {noise:#?}",
        pod.name
    );
}

/// Scenario 2: two private Peers with fixed identities and peering start clean, connect and move a
/// block both ways; a node without the key and one with another key stay out; a peer whose key went
/// missing does not start.
#[test]
fn real_private_pair_connects_and_keeps_outsiders_out() {
    for version in KUBO {
        run_private_pair(
            &format!("private-{version}"),
            [version, version],
            Order::AFirst,
        );
    }
}

/// Scenario 2, the other start order: the pod started second fetches from the one started
/// first, and the other way.
#[test]
fn real_private_pair_started_the_other_way_moves_blocks_both_ways() {
    for version in KUBO {
        run_private_pair(
            &format!("private-reverse-{version}"),
            [version, version],
            Order::BFirst,
        );
    }
}

/// Scenario 2 with both pods started at once (as a rollout of both does): their peering
/// lists dial each other at the same moment, and they still end on one connection that moves
/// blocks both ways.
#[test]
fn real_private_pair_started_together_moves_blocks_both_ways() {
    for version in KUBO {
        let name = format!("together-{version}");
        let Pair { cluster, ids } = private_pair(&name, [version, version]);
        let (id_a, id_b) = (&ids[0].1, &ids[1].1);
        // Each pod lives on the thread that started it (its processes end with that thread),
        // until this one lets go of the gate, which it does when done or failing.
        let gate = std::sync::RwLock::new(());
        std::thread::scope(|scope| {
            let closed = gate.write().unwrap_or_else(|e| e.into_inner());
            let (sent, received) = std::sync::mpsc::channel();
            for peer in ["private-a", "private-b"] {
                let (cluster, sent, gate) = (&cluster, sent.clone(), &gate);
                scope.spawn(move || {
                    let pod = std::sync::Arc::new(start(cluster, peer));
                    let _ = sent.send(pod.clone());
                    drop(gate.read());
                });
            }
            drop(sent);
            let mut pods: Vec<std::sync::Arc<Pod>> = received.iter().take(2).collect();
            assert_eq!(pods.len(), 2, "{name}: a pod did not start");
            pods.sort_by(|x, y| x.name.cmp(&y.name));
            let (a, b) = (&pods[0], &pods[1]);
            wait_for(
                &format!("{name}: the private peers connect through their peering lists"),
                BOUND,
                || swarm_peers(a).contains(id_b.as_str()) && swarm_peers(b).contains(id_a.as_str()),
                || logs(&[a, b]),
            );
            block_moves(a, b, &name);
            block_moves(b, a, &name);
            drop(pods);
            drop(closed);
        });
    }
}

/// Scenario 2 on a mixed pair, the oldest kubo with the newest, in both start orders.
#[test]
fn real_private_mixed_pair_moves_blocks_both_ways() {
    let images = [KUBO[0], KUBO[KUBO.len() - 1]];
    run_private_pair("private-mixed", images, Order::AFirst);
    run_private_pair("private-mixed-reverse", images, Order::BFirst);
}

/// Three private Peers, each peering with the other two, started in order: all connect, and a
/// block put on any one is fetched by each other one.
#[test]
fn real_private_swarm_of_three_moves_blocks_every_way() {
    for version in KUBO {
        let name = format!("swarm3-{version}");
        let (key, _) = material(Material::SwarmKey);
        let mut cluster = Cluster::new(&name);
        cluster.secret("swarm-key", "swarm.key", &key);
        let names = ["member-a", "member-b", "member-c"];
        let mut ids = Vec::new();
        for peer in names {
            let (value, id) = material(Material::PeerIdentity);
            cluster.secret(&format!("{peer}-identity"), "key", &value);
            ids.push(id);
        }
        let yaml: String = names
            .iter()
            .zip(&ids)
            .map(|(peer, id)| {
                let others: Vec<(&str, &str)> = names
                    .iter()
                    .zip(&ids)
                    .filter(|(other, _)| other != &peer)
                    .map(|(other, id)| (*other, id.as_str()))
                    .collect();
                fixed_peer(
                    peer,
                    version,
                    id,
                    &others,
                    "  swarmKeySecretName: swarm-key\n",
                )
            })
            .collect();
        cluster.apply(&render(&name, &yaml));
        let pods: Vec<Pod> = names.iter().map(|n| start(&cluster, n)).collect();
        let refs: Vec<&Pod> = pods.iter().collect();
        wait_for(
            &format!("{name}: every member connects to the other two"),
            BOUND,
            || {
                pods.iter().zip(&ids).all(|(pod, own)| {
                    let peers = swarm_peers(pod);
                    ids.iter()
                        .filter(|id| *id != own)
                        .all(|id| peers.contains(id))
                })
            },
            || logs(&refs),
        );
        for pod in &pods {
            clean_start(pod, &name);
            no_discovery(&cluster, pod, &name);
        }
        for from in &pods {
            for to in pods.iter().filter(|p| p.name != from.name) {
                block_moves(from, to, &format!("{name} to {}", to.name));
            }
        }
    }
}

/// Scenario 3: a repository made by the v0.28.0 pod, then the same Peer on each newer image: with
/// the 15-to-16 migration on PATH it migrates and keeps its peer ID; without it (no egress) the
/// failure names what it needs.
#[test]
fn real_upgrade_from_v0_28_migrates_or_names_the_migration() {
    let old = KUBO[0];
    for version in &KUBO[1..] {
        let name = format!("upgrade-{version}");
        let mut cluster = Cluster::new(&name);
        cluster.apply(&render(
            &format!("{name}-old"),
            &peer_yaml("upgraded", old, "", ""),
        ));
        let id = {
            let pod = start(&cluster, "upgraded");
            kubo_up(&pod);
            peer_id(&pod)
        };
        let claim = cluster.claim("upgraded");
        let copy = cluster.dir.join("claim-before-upgrade");
        assert!(
            std::process::Command::new("cp")
                .args(["-a"])
                .arg(&claim)
                .arg(&copy)
                .status()
                .expect("cp")
                .success()
        );
        cluster.apply(&render(&name, &peer_yaml("upgraded", version, "", "")));

        // Without the migration: config-ipfs fails, naming it.
        let failure = match cluster.start("upgraded") {
            Ok(pod) => panic!("{version}: started without the migration\n{}", pod.logs()),
            Err(e) => e,
        };
        assert!(
            failure.contains("config-ipfs") && failure.contains("fs-repo-15-to-16"),
            "{version}: the failure does not name the migration:\n{failure}"
        );

        // With it on PATH (as an image that carries it would have it).
        fs::remove_dir_all(&claim).expect("rm");
        fs::rename(&copy, &claim).expect("restore");
        cluster.extra_bins = vec![real_program(
            "fs-repo-migrations-v1.0.1",
            "fs-repo-15-to-16",
        )];
        let pod = start(&cluster, "upgraded");
        kubo_up(&pod);
        assert_eq!(
            peer_id(&pod),
            id,
            "{version}: the peer ID changed\n{}",
            pod.logs()
        );
        let repo = ipfs(&pod, &["version", "--repo"]).expect("repo version");
        assert_ne!(repo.trim(), "15", "{version}: not migrated");
    }
}

/// Scenario 4: the swarm key removed from the spec: the peer is public again (a node without a key
/// connects to it).
#[test]
fn real_swarm_key_removed_makes_the_peer_public() {
    for version in KUBO {
        let name = format!("unkeyed-{version}");
        let (key, _) = material(Material::SwarmKey);
        let (value, id) = material(Material::PeerIdentity);
        let (public_value, public_id) = material(Material::PeerIdentity);
        let mut cluster = Cluster::new(&name);
        cluster.secret("swarm-key", "swarm.key", &key);
        cluster.secret("unkeyed-identity", "key", &value);
        cluster.secret("public-identity", "key", &public_value);
        let public = fixed_peer("public", version, &public_id, &[], "");
        let private = fixed_peer(
            "unkeyed",
            version,
            &id,
            &[],
            "  swarmKeySecretName: swarm-key\n",
        );
        cluster.apply(&render(
            &format!("{name}-private"),
            &format!("{private}{public}"),
        ));
        {
            let pod = start(&cluster, "unkeyed");
            kubo_up(&pod);
        }
        assert!(cluster.claim("unkeyed").join("swarm.key").is_file());
        let unkeyed = fixed_peer("unkeyed", version, &id, &[], "");
        cluster.apply(&render(&name, &format!("{unkeyed}{public}")));
        let pod = start(&cluster, "unkeyed");
        kubo_up(&pod);
        assert!(
            !cluster.claim("unkeyed").join("swarm.key").exists(),
            "{version}: swarm.key stayed"
        );
        let outsider = start(&cluster, "public");
        kubo_up(&outsider);
        let dial = format!("/dns4/unkeyed/tcp/4001/p2p/{id}");
        wait_for(
            &format!("{version}: a public node connects to the formerly private peer"),
            BOUND,
            || ipfs(&outsider, &["swarm", "connect", "--timeout=30s", &dial]).is_ok(),
            || logs(&[&pod, &outsider]),
        );
    }
}

/// Scenario 5: every profile and routing value that validation accepts starts: datastore profiles
/// as initProfiles (they are refused later, with the init-only-profile warning), the others as
/// profiles, applied at every start.
#[test]
fn real_every_profile_and_routing_value_starts() {
    let init_only = ["flatfs", "badgerds", "default-datastore"];
    let profiles = [
        "server",
        "randomports",
        "local-discovery",
        "test",
        "default-networking",
        "lowpower",
    ];
    let routing = ["none", "dht", "dhtclient", "dhtserver"];
    for version in KUBO {
        let mut cluster = Cluster::new(&format!("profiles-{version}"));
        let mut yaml = String::new();
        let mut names = Vec::new();
        for (i, profile) in init_only.iter().chain(&profiles).enumerate() {
            let field = if init_only.contains(profile) {
                "initProfiles"
            } else {
                "profiles"
            };
            let name = format!("profile-{profile}");
            yaml.push_str(&peer_yaml(
                &name,
                version,
                &format!(
                    "  {field}: [{profile}]\n  routing: {}\n",
                    routing[i % routing.len()]
                ),
                "",
            ));
            names.push(name);
        }
        cluster.apply(&render(&format!("profiles-{version}"), &yaml));
        // Each pod lives and ends on its own thread (its processes die with that thread).
        std::thread::scope(|scope| {
            for name in &names {
                let cluster = &cluster;
                scope.spawn(move || kubo_up(&start(cluster, name)));
            }
        });
    }
}

fn cluster_peer_yaml(name: &str, id: &str, endpoint: &str, consensus: &str, extra: &str) -> String {
    format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: {name}\n  \
         namespace: ipfs\nspec:\n  image: kotalco/ipfs-cluster:v1.1.6\n  id: {id}\n  \
         privateKeySecretName: {name}-identity\n  clusterSecretName: cluster-secret\n  \
         consensus: {consensus}\n  peerEndpoint: /dns4/{endpoint}/tcp/5001\n{extra}---\n"
    )
}

fn ctl(pod: &Pod, args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["ipfs-cluster-ctl", "--host", "/ip4/127.0.0.1/tcp/9094"];
    argv.extend_from_slice(args);
    out(pod, "cluster-peer", &argv)
}

/// Whether `ipfs-cluster-ctl peers ls` on `pod` lists every one of `ids` without error.
fn sees(pod: &Pod, ids: &[&str]) -> bool {
    ctl(pod, &["peers", "ls"]).is_ok_and(|o| {
        ids.iter().all(|id| o.contains(id))
            && !o.to_lowercase().contains("error")
            && o.contains(&format!("Sees {} other peers", ids.len() - 1))
    })
}

/// A block added on a kubo pod, for the cluster to pin.
fn block(pod: &Pod, data: &str) -> String {
    out(
        pod,
        "peer",
        &[
            "sh",
            "-c",
            &format!("printf %s '{data}' | ipfs {API} block put --pin=false"),
        ],
    )
    .unwrap_or_else(|e| panic!("block put: {e}"))
    .trim()
    .to_string()
}

/// Scenario 6: two crdt ClusterPeers on each kubo: /health answers 204 and 9094, 9095 and 8888
/// listen on the pod address; a pin made through one is pinned on both; a rotated secret reaches a
/// running peer at its restart.
#[test]
fn real_crdt_cluster_pins_on_both_peers() {
    for version in KUBO {
        let name = format!("crdt-{version}");
        let mut cluster = Cluster::new(&name);
        let (secret, _) = material(Material::ClusterSecret);
        cluster.secret("cluster-secret", "secret", &secret);
        let mut ids = Vec::new();
        for peer in ["kubo-a", "kubo-b", "cluster-a", "cluster-b"] {
            let (value, id) = material(Material::PeerIdentity);
            cluster.secret(&format!("{peer}-identity"), "key", &value);
            ids.push(id);
        }
        let api = "  api: true\n";
        let bootstrap = format!(
            "  bootstrapPeers: [/dns4/cluster-a/tcp/9096/p2p/{}]\n",
            ids[2]
        );
        let yaml = [
            fixed_peer("kubo-a", version, &ids[0], &[("kubo-b", &ids[1])], api),
            fixed_peer("kubo-b", version, &ids[1], &[("kubo-a", &ids[0])], api),
            cluster_peer_yaml("cluster-a", &ids[2], "kubo-a", "crdt", ""),
            cluster_peer_yaml("cluster-b", &ids[3], "kubo-b", "crdt", &bootstrap),
        ]
        .concat();
        cluster.apply(&render(&name, &yaml));
        let kubo_a = start(&cluster, "kubo-a");
        let kubo_b = start(&cluster, "kubo-b");
        kubo_up(&kubo_a);
        kubo_up(&kubo_b);
        let a = start(&cluster, "cluster-a");
        let mut b = start(&cluster, "cluster-b");
        let all = || logs(&[&kubo_a, &kubo_b, &a, &b]);
        for pod in [&a, &b] {
            wait_for(
                &format!(
                    "{version}: /health of {} answers 204 on {}",
                    pod.name, pod.addr
                ),
                BOUND,
                || {
                    pod.http("GET", 9094, "/health")
                        .is_some_and(|(s, _)| s == 204)
                },
                all,
            );
            for port in [9094, 9095, 8888] {
                assert!(
                    pod.listens(port),
                    "{version}: {} does not listen on {}:{port}",
                    pod.name,
                    pod.addr
                );
            }
        }
        let (ida, idb) = (ids[2].as_str(), ids[3].as_str());
        wait_for(
            &format!("{version}: the cluster peers see each other"),
            BOUND,
            || sees(&a, &[ida, idb]) && sees(&b, &[ida, idb]),
            all,
        );
        let cid = block(&kubo_a, &format!("kotalc crdt {version}"));
        ctl(&a, &["pin", "add", &cid]).unwrap_or_else(|e| panic!("pin add: {e}\n{}", all()));
        wait_for(
            &format!("{version}: {cid} pinned on both peers"),
            BOUND,
            || ctl(&b, &["status", &cid]).is_ok_and(|o| o.matches("PINNED").count() == 2),
            all,
        );

        // A rotated secret: cluster-b restarted with it leaves the cluster of the old one,
        // and cluster-a restarted with it too joins it again.
        let (rotated, _) = material(Material::ClusterSecret);
        cluster.secret("cluster-secret", "secret", &rotated);
        drop(b);
        b = start(&cluster, "cluster-b");
        let all = || logs(&[&a, &b]);
        wait_for(
            &format!("{version}: cluster-b runs with the new secret"),
            BOUND,
            || sees(&b, &[idb]),
            all,
        );
        assert!(
            !sees(&b, &[ida, idb]),
            "{version}: cluster-b kept the old secret\n{}",
            all()
        );
        drop(a);
        let a = start(&cluster, "cluster-a");
        let all = || logs(&[&a, &b]);
        wait_for(
            &format!("{version}: both peers rejoin under the rotated secret"),
            BOUND,
            || sees(&a, &[ida, idb]) && sees(&b, &[ida, idb]),
            all,
        );
    }
}

/// Scenario 7, in order: raft-a, then raft-b joining it.
#[test]
fn real_raft_pair_in_order_keeps_its_state() {
    raft_pair(false);
}

/// Scenario 7, joiner first: raft-b fails its first join and hangs in its shutdown (ipfs-cluster
/// v1.1.6 does not exit); its livenessProbe on the REST API's /health fails, the kubelet
/// restarts it, and once raft-a runs, that restart must still pass `--bootstrap` (its Raft
/// state is a term of 0).
#[test]
fn real_raft_pair_joiner_first_joins_at_its_restart() {
    raft_pair(true);
}

/// A raft pair, started in order or joiner first: both end in one cluster, a restart keeps
/// its state without `--bootstrap`, and a pin survives.
fn raft_pair(joiner_first: bool) {
    let version = KUBO[KUBO.len() - 1];
    {
        let name = format!("raft-{}", if joiner_first { "reverse" } else { "in-order" });
        let mut cluster = Cluster::new(&name);
        let (secret, _) = material(Material::ClusterSecret);
        cluster.secret("cluster-secret", "secret", &secret);
        let mut ids = Vec::new();
        for peer in ["raft-a", "raft-b"] {
            let (value, id) = material(Material::PeerIdentity);
            cluster.secret(&format!("{peer}-identity"), "key", &value);
            ids.push(id);
        }
        let bootstrap = format!("  bootstrapPeers: [/dns4/raft-a/tcp/9096/p2p/{}]\n", ids[0]);
        let yaml = [
            peer_yaml("kubo", version, "  api: true\n", ""),
            cluster_peer_yaml("raft-a", &ids[0], "kubo", "raft", ""),
            cluster_peer_yaml("raft-b", &ids[1], "kubo", "raft", &bootstrap),
        ]
        .concat();
        cluster.apply(&render(&name, &yaml));
        let kubo = start(&cluster, "kubo");
        kubo_up(&kubo);
        let (ida, idb) = (ids[0].as_str(), ids[1].as_str());
        let (a, b) = if joiner_first {
            let b = start(&cluster, "raft-b");
            // The joiner cannot reach its leader: its consensus start times out.
            wait_for(
                &format!("{name}: raft-b fails to join before raft-a exists"),
                BOUND,
                || {
                    b.exited("cluster-peer").is_some()
                        || b.log("cluster-peer")
                            .contains("This peer was not able to become part of the cluster")
                },
                || b.logs(),
            );
            let a = start(&cluster, "raft-a");
            (a, b)
        } else {
            let a = start(&cluster, "raft-a");
            wait_for(
                &format!("{name}: raft-a is up"),
                BOUND,
                || sees(&a, &[ida]),
                || a.logs(),
            );
            (a, start(&cluster, "raft-b"))
        };
        // The kubelet restarts a container that exits or fails its livenessProbe: the
        // joiner, hung after its failed join, is restarted and joins with `--bootstrap`.
        wait_for(
            &format!("{name}: raft-a and raft-b form one cluster"),
            BOUND,
            || {
                a.kubelet("cluster-peer");
                b.kubelet("cluster-peer");
                sees(&a, &[ida, idb]) && sees(&b, &[ida, idb])
            },
            || logs(&[&a, &b]),
        );
        let cid = block(&kubo, &format!("kotalc raft {name}"));
        ctl(&a, &["pin", "add", &cid])
            .unwrap_or_else(|e| panic!("pin add: {e}\n{}", logs(&[&a, &b])));
        wait_for(
            &format!("{name}: the pin reaches raft-b"),
            BOUND,
            || ctl(&b, &["pin", "ls"]).is_ok_and(|o| o.contains(&cid)),
            || logs(&[&a, &b]),
        );

        b.restart("cluster-peer");
        wait_for(
            &format!("{name}: raft-b back in the cluster after a restart"),
            BOUND,
            || sees(&b, &[ida, idb]),
            || logs(&[&a, &b]),
        );
        let restarted = b.log("cluster-peer");
        let last_start = restarted.rsplit("kotalc: ").next().unwrap_or_default();
        assert!(
            last_start.starts_with("Raft state found"),
            "{name}: the restart did not keep the Raft state:\n{restarted}"
        );
        assert!(
            ctl(&b, &["pin", "ls"]).is_ok_and(|o| o.contains(&cid)),
            "{name}: the pin did not survive\n{}",
            logs(&[&a, &b])
        );
    }
}

/// extraArgs whose value names a variable: the secret never reaches the daemon's argv.
#[test]
fn real_cluster_extra_args_never_expand_a_secret() {
    let mut cluster = Cluster::new("extra-args");
    let (secret, _) = material(Material::ClusterSecret);
    let (value, id) = material(Material::PeerIdentity);
    cluster.secret("cluster-secret", "secret", &secret);
    cluster.secret("leaky-identity", "key", &value);
    let extra = "  extraArgs:\n    --loglevel: $(CLUSTER_SECRET)\n";
    let yaml = [
        peer_yaml("kubo", KUBO[0], "  api: true\n", ""),
        cluster_peer_yaml("leaky", &id, "kubo", "crdt", extra),
    ]
    .concat();
    cluster.apply(&render("extra-args", &yaml));
    let kubo = start(&cluster, "kubo");
    kubo_up(&kubo);
    let pod = start(&cluster, "leaky");
    let argv = pod.argv("cluster-peer").join(" ");
    assert!(
        !argv.contains(&secret),
        "the kubelet would pass the secret: {argv}"
    );
    // The process's argv, from the runner's exec chain (nsenter, setpriv: the daemon's argv
    // is theirs too) to the daemon itself (the same PID throughout), until it is the
    // daemon's or the daemon has ended: ipfs-cluster-service takes --loglevel before
    // `daemon` only, so it stops at once with "flag provided but not defined".
    let pid = pod.pid("cluster-peer");
    let daemon = "ipfs-cluster-service daemon --loglevel=";
    let mut seen: Vec<String> = Vec::new();
    wait_for(
        "the daemon's cmdline is read",
        BOUND,
        || {
            if let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) {
                seen.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
            seen.last().is_some_and(|c| c.starts_with(daemon))
                || pod.exited("cluster-peer").is_some()
        },
        || pod.logs(),
    );
    // The daemon refuses the flag and ends at once: on a quiet machine it may be gone before
    // its argv is read (a zombie's cmdline is empty). Then its own words show that the flag
    // reached it as a flag, and the argv the runner executed (checked above) is the proof.
    let read = seen
        .iter()
        .any(|c| c.contains(&format!("{daemon}$(CLUSTER_SECRET)")));
    assert!(
        read || pod
            .logs()
            .contains("flag provided but not defined: -loglevel"),
        "neither the daemon's argv nor its refusal of the flag was seen: {seen:?}\n{}",
        pod.logs()
    );
    for cmdline in &seen {
        assert!(
            !cmdline.contains(&secret),
            "the secret is in the daemon's argv: {cmdline}"
        );
    }
    assert!(!pod.logs().contains(&secret), "the secret is in the logs");
}

/// What `kotalc new private-swarm NAME --peers 2 --cluster` writes, built with `--deny-warnings`,
/// runs as written: with its SealedSecrets unsealed as the controller would, the two Peers (on
/// their default image) start clean under the identities their annotations record, connect
/// through their kotalc.io/peering lists and move a block both ways, and a pin made through one
/// ClusterPeer is pinned on both.
#[test]
fn real_new_private_swarm_runs() {
    let work = scratch("real-new-private-swarm");
    let (new, build) = crate::new::new_swarm_built(&work, 2, true);
    new.code(0);
    build.code(0);

    let rendered = yaml_files(&work.join("rendered/ipfs"));
    let mut cluster = Cluster::new("new-private-swarm");
    for sealed in rendered.values().filter(|o| o["kind"] == "SealedSecret") {
        let name = sealed["metadata"]["name"].as_str().expect("name");
        let keys = sealed["spec"]["encryptedData"]
            .as_object()
            .expect("encryptedData");
        for key in keys.keys() {
            cluster.secret(name, key, &text(&unsealed(sealed, key)));
        }
    }
    cluster.apply_manifests(rendered.values());

    let resources = yaml_files(&work.join("swarm"));
    let annotation = |peer: &str, key: &str| -> String {
        resources[&format!("peer-{peer}.yaml")]["metadata"]["annotations"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{peer} has no {key}"))
            .to_string()
    };
    // Each Peer's peering list, as the peer IDs it names.
    let peering = |peer: &str| -> Vec<String> {
        annotation(peer, "kotalc.io/peering")
            .split(',')
            .filter_map(|entry| entry.rsplit_once("/p2p/"))
            .map(|(_, id)| id.to_string())
            .collect()
    };
    let a = start(&cluster, "demo-0");
    let b = start(&cluster, "demo-1");
    for pod in [&a, &b] {
        kubo_up(pod);
        assert_eq!(
            peer_id(pod),
            annotation(&pod.name, "kotalc.io/peer-id"),
            "{} runs under another identity than its annotation records",
            pod.name
        );
    }
    assert_eq!(peering("demo-0"), [peer_id(&b)]);
    assert_eq!(peering("demo-1"), [peer_id(&a)]);
    wait_for(
        "new private-swarm: the Peers connect through their peering lists",
        BOUND,
        || {
            [&a, &b].iter().all(|pod| {
                let peers = swarm_peers(pod);
                peering(&pod.name).iter().all(|id| peers.contains(id))
            })
        },
        || logs(&[&a, &b]),
    );
    for pod in [&a, &b] {
        clean_start(pod, "new private-swarm");
    }
    block_moves(&a, &b, "new private-swarm");
    block_moves(&b, &a, "new private-swarm");

    let cluster_id = |member: &str| -> String {
        resources[&format!("clusterpeer-{member}.yaml")]["spec"]["id"]
            .as_str()
            .expect("spec.id")
            .to_string()
    };
    let (id0, id1) = (cluster_id("demo-cluster-0"), cluster_id("demo-cluster-1"));
    let c0 = start(&cluster, "demo-cluster-0");
    let c1 = start(&cluster, "demo-cluster-1");
    let all = || logs(&[&a, &b, &c0, &c1]);
    wait_for(
        "new private-swarm: the ClusterPeers see each other",
        BOUND,
        || sees(&c0, &[&id0, &id1]) && sees(&c1, &[&id0, &id1]),
        all,
    );
    let cid = block(&a, "kotalc new private-swarm pin");
    ctl(&c0, &["pin", "add", &cid]).unwrap_or_else(|e| panic!("pin add: {e}\n{}", all()));
    wait_for(
        &format!("new private-swarm: {cid} pinned on both ClusterPeers"),
        BOUND,
        || ctl(&c1, &["status", &cid]).is_ok_and(|o| o.matches("PINNED").count() == 2),
        all,
    );
}
