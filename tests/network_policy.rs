//! What the rendered NetworkPolicies mean, as an independent evaluator computes it: cyclonus
//! (the NetworkPolicy simulator that SIG network-policy-api's policy-assistant grew from; the
//! Go module proxy serves cyclonus, not policy-assistant) answers, for every source, destination
//! and port of a rendered set, whether Kubernetes lets the connection through. Each matrix
//! below is written out by hand, cell by cell, from what the README promises: who reaches which
//! port, and, by omission, who does not. The policies' text is never compared with itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{Value as J, json};

use crate::common::{assert_exit, real_program, root, run, scratch, text};

/// A pod of the simulated cluster, or an address outside it.
#[derive(Clone, Debug)]
struct Endpoint {
    /// How the matrices name it: a StatefulSet's name, or a client's.
    name: String,
    /// `None` outside the cluster.
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
    ip: String,
    /// The ports probed on it, as `PORT/PROTOCOL`.
    ports: Vec<String>,
}

/// The rendered objects of a set of inputs.
fn build(dir: &Path) -> Vec<J> {
    let out = run(dir, &["build", "."]);
    assert_exit(&out, 0);
    serde_saphyr::from_multiple(&text(&out.stdout)).expect("kotalc prints a YAML stream")
}

/// The pods the StatefulSets run, each with the ports its containers declare.
fn pods(objects: &[J]) -> Vec<Endpoint> {
    objects
        .iter()
        .filter(|o| o["kind"] == "StatefulSet")
        .enumerate()
        .map(|(n, sts)| {
            let template = &sts["spec"]["template"];
            let labels =
                serde_json::from_value(template["metadata"]["labels"].clone()).expect("pod labels");
            let ports = template["spec"]["containers"]
                .as_array()
                .expect("containers")
                .iter()
                .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
                .map(|p| format!("{}/{}", p["containerPort"], p["protocol"].as_str().unwrap()))
                .collect();
            Endpoint {
                name: sts["metadata"]["name"].as_str().unwrap().to_string(),
                namespace: Some(sts["metadata"]["namespace"].as_str().unwrap().to_string()),
                labels,
                ip: format!("10.1.0.{}", n + 1),
                ports,
            }
        })
        .collect()
}

/// A pod no resource renders (a namespace), or an address outside the cluster (none): name,
/// namespace, labels, ports probed on it.
type Other<'a> = (
    &'a str,
    Option<&'a str>,
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
);

/// Pods and addresses that no resource renders: the clients and strangers of each matrix.
fn others(n: usize, list: &[Other<'_>]) -> Vec<Endpoint> {
    list.iter()
        .enumerate()
        .map(|(i, (name, namespace, labels, ports))| Endpoint {
            name: name.to_string(),
            namespace: namespace.map(String::from),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ip: if namespace.is_some() {
                format!("10.2.0.{}", n + i + 1)
            } else {
                format!("203.0.113.{}", i + 1)
            },
            ports: ports.iter().map(|p| p.to_string()).collect(),
        })
        .collect()
}

fn peer(e: &Endpoint) -> J {
    let mut peer = json!({ "IP": e.ip });
    if let Some(ns) = &e.namespace {
        peer["Internal"] = json!({
            "PodLabels": e.labels,
            "NamespaceLabels": { "kubernetes.io/metadata.name": ns },
            "Namespace": ns,
        });
    }
    peer
}

/// Every (source, destination, port) of `endpoints`, and whether cyclonus allows it.
fn evaluate(
    name: &str,
    objects: &[J],
    endpoints: &[Endpoint],
) -> BTreeMap<(String, String, String), bool> {
    let dir = scratch(&format!("network-policy-{name}"));
    let policies = dir.join("policies");
    fs::create_dir_all(&policies).unwrap();
    let mut count = 0;
    for (i, policy) in objects
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .enumerate()
    {
        fs::write(
            policies.join(format!("{i:03}.json")),
            serde_json::to_string(policy).unwrap(),
        )
        .unwrap();
        count += 1;
    }
    assert!(count > 0, "the set renders no NetworkPolicy");
    let mut cells = Vec::new();
    let mut traffic = Vec::new();
    for source in endpoints {
        for destination in endpoints {
            if source.name == destination.name {
                continue;
            }
            for port in &destination.ports {
                let (number, protocol) = port.split_once('/').unwrap();
                traffic.push(json!({
                    "Source": peer(source),
                    "Destination": peer(destination),
                    "Protocol": protocol,
                    "ResolvedPort": number.parse::<u16>().unwrap(),
                    "ResolvedPortName": "",
                }));
                cells.push((source.name.clone(), destination.name.clone(), port.clone()));
            }
        }
    }
    let traffic_path = dir.join("traffic.json");
    fs::write(&traffic_path, serde_json::to_string(&traffic).unwrap()).unwrap();
    let cyclonus = real_program("cyclonus-v0.5.6", "cyclonus");
    let out = Command::new(&cyclonus)
        .args(["analyze", "--mode", "query-traffic", "--policy-path"])
        .arg(&policies)
        .arg("--traffic-path")
        .arg(&traffic_path)
        .output()
        .expect("cyclonus runs");
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "cyclonus failed:\n{}\n{stdout}",
        text(&out.stderr)
    );
    // Each traffic's verdict is the footer of its table, in the order given.
    let verdicts: Vec<bool> = stdout
        .lines()
        .filter(|l| l.contains("IS ALLOWED?"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            match cells.get(2) {
                Some(&"TRUE") => true,
                Some(&"FALSE") => false,
                other => panic!("cyclonus printed {other:?} in {l:?}"),
            }
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        cells.len(),
        "one verdict per traffic:\n{stdout}"
    );
    cells.into_iter().zip(verdicts).collect()
}

/// The expected matrix: `DESTINATION PORT/PROTOCOL SOURCES...` per line, where SOURCES are
/// the only sources that reach it: names, `*` for every source, `-NAME` to take one out of
/// `*`, or `none`. Every probed (destination, port) has its line.
fn assert_matrix(actual: &BTreeMap<(String, String, String), bool>, expected: &str) {
    let sources: BTreeSet<&str> = actual.keys().map(|(s, _, _)| s.as_str()).collect();
    let mut lines: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for line in expected.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let destination = words.next().unwrap().to_string();
        let port = words.next().expect("a port").to_string();
        let mut reach = BTreeSet::new();
        for word in words {
            match word {
                "none" => {}
                "*" => reach.extend(sources.iter().map(|s| s.to_string())),
                _ => match word.strip_prefix('-') {
                    Some(out) => {
                        assert!(sources.contains(out), "unknown source {out} in {line:?}");
                        reach.remove(out);
                    }
                    None => {
                        assert!(sources.contains(word), "unknown source {word} in {line:?}");
                        reach.insert(word.to_string());
                    }
                },
            }
        }
        reach.remove(&destination);
        assert!(
            lines.insert((destination, port), reach).is_none(),
            "{line:?} is written twice"
        );
    }
    let mut wrong = Vec::new();
    let mut probed = BTreeSet::new();
    for ((source, destination, port), allowed) in actual {
        let key = (destination.clone(), port.clone());
        probed.insert(key.clone());
        let Some(reach) = lines.get(&key) else {
            wrong.push(format!("no expectation for {destination} {port}"));
            continue;
        };
        if reach.contains(source) != *allowed {
            wrong.push(format!(
                "{source} -> {destination} {port}: cyclonus says {}, expected {}",
                if *allowed { "allowed" } else { "denied" },
                if *allowed { "denied" } else { "allowed" },
            ));
        }
    }
    for key in lines.keys().filter(|k| !probed.contains(*k)) {
        wrong.push(format!("{} {} is expected but never probed", key.0, key.1));
    }
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The shipped example: a public gateway, a private swarm of two, and a pinning cluster.
#[test]
fn the_example_set_admits_exactly_its_clients() {
    let objects = build(&root().join("examples/ipfs"));
    let mut endpoints = pods(&objects);
    let n = endpoints.len();
    endpoints.extend(others(
        n,
        &[
            (
                "pinning-client",
                Some("ipfs"),
                &[("ipfs.kotal.io/cluster-client", "cluster-secret")],
                &[],
            ),
            ("stranger", Some("ipfs"), &[("app", "web")], &["80/TCP"]),
            ("elsewhere", Some("other"), &[("app", "web")], &["80/TCP"]),
            ("internet", None, &[], &["4001/TCP", "443/TCP", "53/UDP"]),
        ],
    ));
    let actual = evaluate("example", &objects, &endpoints);
    assert_matrix(
        &actual,
        "
        public-gateway   4001/TCP  * -private-1 -private-2 -pinning-cluster
        public-gateway   4001/UDP  * -private-1 -private-2 -pinning-cluster
        public-gateway   8080/TCP  * -private-1 -private-2 -pinning-cluster
        pinning-ipfs     4001/TCP  * -private-1 -private-2 -pinning-cluster
        pinning-ipfs     4001/UDP  * -private-1 -private-2 -pinning-cluster
        pinning-ipfs     5001/TCP  pinning-cluster
        private-1        4001/TCP  * -pinning-cluster
        private-2        4001/TCP  * -pinning-cluster
        pinning-cluster  9096/TCP  none
        pinning-cluster  9095/TCP  pinning-client
        pinning-cluster  9094/TCP  pinning-client
        pinning-cluster  8888/TCP  pinning-client
        stranger         80/TCP    public-gateway pinning-ipfs pinning-client elsewhere internet
        elsewhere        80/TCP    public-gateway pinning-ipfs pinning-client stranger internet
        internet         4001/TCP  public-gateway pinning-ipfs pinning-client stranger elsewhere
        internet         443/TCP   public-gateway pinning-ipfs pinning-client stranger elsewhere
        internet         53/UDP    * -internet
        ",
    );
}

const PRIVATE_1: &str = "12D3KooWSPxtv6yBwqW3Z5cgn9oPzTo7v8T6ifoHjTHXj97dZRzn";
const PRIVATE_2: &str = "12D3KooWFtFtRWymHbQXQ62s3RAYjQgcVDMZu1X6q1KjBGHMh7ij";

/// A private swarm of three: one peers with an address outside the cluster, one opens its
/// egress for a repo migration; a public Peer beside them.
#[test]
fn a_private_swarm_reaches_only_its_members() {
    let dir = scratch("network-policy-private-input");
    fs::write(
        dir.join("swarm.yaml"),
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: member-1\n  \
             namespace: ipfs\n  annotations:\n    kotalc.io/peering: \
             /dns4/member-2/tcp/4001/p2p/{PRIVATE_2},/ip4/198.51.100.9/tcp/4001/p2p/{PRIVATE_1}\n\
             spec:\n  swarmKeySecretName: swarm-key\n  api: true\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: member-2\n  \
             namespace: ipfs\nspec:\n  swarmKeySecretName: swarm-key\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: migrating\n  \
             namespace: ipfs\n  annotations:\n    kotalc.io/open-egress: \"true\"\n\
             spec:\n  swarmKeySecretName: swarm-key\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: public\n  \
             namespace: ipfs\n  annotations:\n    kotalc.io/api-clients: app=pinner\n\
             spec:\n  api: true\n"
        ),
    )
    .unwrap();
    let objects = build(&dir);
    let mut endpoints = pods(&objects);
    let n = endpoints.len();
    endpoints.extend(others(
        n,
        &[
            ("pinner", Some("ipfs"), &[("app", "pinner")], &[]),
            ("stranger", Some("ipfs"), &[("app", "web")], &["80/TCP"]),
            ("outside-member", None, &[], &[]),
            ("internet", None, &[], &["4001/TCP", "443/TCP", "53/UDP"]),
        ],
    ));
    // The outside member is the address member-1 peers with.
    let outside = endpoints
        .iter_mut()
        .find(|e| e.name == "outside-member")
        .unwrap();
    outside.ip = "198.51.100.9".into();
    outside.ports = vec!["4001/TCP".into(), "4001/UDP".into(), "443/TCP".into()];
    let actual = evaluate("private", &objects, &endpoints);
    assert_matrix(
        &actual,
        "
        member-1        4001/TCP  *
        member-1        5001/TCP  none
        member-2        4001/TCP  *
        migrating       4001/TCP  *
        public          4001/TCP  * -member-1 -member-2
        public          4001/UDP  * -member-1 -member-2
        public          5001/TCP  pinner
        stranger        80/TCP    migrating public pinner internet outside-member
        outside-member  4001/TCP  member-1 migrating public pinner stranger internet
        outside-member  4001/UDP  migrating public pinner stranger internet
        outside-member  443/TCP   migrating public pinner stranger internet
        internet        4001/TCP  migrating public pinner stranger outside-member
        internet        443/TCP   migrating public pinner stranger outside-member
        internet        53/UDP    * -internet
        ",
    );
}

/// Two clusters in one namespace that share nothing: neither reaches the other's peers, kubo
/// or APIs; each admits its own clients, and one admits a monitoring namespace too.
#[test]
fn two_clusters_that_share_nothing_stay_apart() {
    let dir = scratch("network-policy-clusters-input");
    let peer = |name: &str| {
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: {name}\n  \
             namespace: ipfs\nspec:\n  api: true\n---\n"
        )
    };
    let cluster = |name: &str, kubo: &str, secret: &str, annotations: &str| {
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: {name}\n  \
             namespace: ipfs\n{annotations}spec:\n  peerEndpoint: /dns4/{kubo}/tcp/5001\n  \
             clusterSecretName: {secret}\n---\n"
        )
    };
    let monitored = "  annotations:\n    kotalc.io/api-clients: monitoring:*\n";
    fs::write(
        dir.join("clusters.yaml"),
        [
            peer("a-ipfs"),
            cluster("a-1", "a-ipfs", "a-secret", ""),
            cluster("a-2", "a-ipfs", "a-secret", ""),
            peer("b-ipfs"),
            cluster("b-1", "b-ipfs", "b-secret", monitored),
        ]
        .concat(),
    )
    .unwrap();
    let objects = build(&dir);
    let mut endpoints = pods(&objects);
    let n = endpoints.len();
    endpoints.extend(others(
        n,
        &[
            (
                "a-client",
                Some("ipfs"),
                &[("ipfs.kotal.io/cluster-client", "a-secret")],
                &[],
            ),
            (
                "b-client",
                Some("ipfs"),
                &[("ipfs.kotal.io/cluster-client", "b-secret")],
                &[],
            ),
            (
                "prometheus",
                Some("monitoring"),
                &[("app", "prometheus")],
                &[],
            ),
            ("stranger", Some("ipfs"), &[("app", "web")], &["80/TCP"]),
        ],
    ));
    let actual = evaluate("clusters", &objects, &endpoints);
    assert_matrix(
        &actual,
        "
        a-ipfs    4001/TCP  * -a-1 -a-2 -b-1
        a-ipfs    4001/UDP  * -a-1 -a-2 -b-1
        a-ipfs    5001/TCP  a-1 a-2
        b-ipfs    4001/TCP  * -a-1 -a-2 -b-1
        b-ipfs    4001/UDP  * -a-1 -a-2 -b-1
        b-ipfs    5001/TCP  b-1
        a-1       9096/TCP  a-2
        a-2       9096/TCP  a-1
        b-1       9096/TCP  none
        a-1       9094/TCP  a-client
        a-1       9095/TCP  a-client
        a-1       8888/TCP  a-client
        a-2       9094/TCP  a-client
        a-2       9095/TCP  a-client
        a-2       8888/TCP  a-client
        b-1       9094/TCP  b-client prometheus
        b-1       9095/TCP  b-client prometheus
        b-1       8888/TCP  b-client prometheus
        stranger  80/TCP    a-ipfs b-ipfs a-client b-client prometheus
        ",
    );
}

/// With the flag, or the annotation on every resource, nothing is rendered, and nothing is
/// said about enforcement.
#[test]
fn policies_turn_off_by_flag_and_by_annotation() {
    let on = run(&root(), &["build", "examples/ipfs/"]);
    assert_exit(&on, 0);
    assert_eq!(text(&on.stdout).matches("kind: NetworkPolicy").count(), 5);
    assert_eq!(
        text(&on.stderr).matches("note[network-policies]").count(),
        1,
        "{}",
        text(&on.stderr)
    );
    let off = run(
        &root(),
        &["build", "--no-network-policies", "examples/ipfs/"],
    );
    assert_exit(&off, 0);
    assert!(!text(&off.stdout).contains("NetworkPolicy"));
    assert!(!text(&off.stderr).contains("network-policies"));

    let dir = scratch("network-policy-annotation-off");
    fs::write(
        dir.join("peer.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: quiet\n  \
         annotations:\n    kotalc.io/network-policies: \"false\"\nspec: {}\n",
    )
    .unwrap();
    let out = run(&dir, &["build", "."]);
    assert_exit(&out, 0);
    assert!(!text(&out.stdout).contains("NetworkPolicy"));
    assert!(!text(&out.stderr).contains("network-policies"));
}

/// No rule of any rendered policy has an empty peer list, which Kubernetes reads as
/// "everyone": a port without clients has no rule at all.
#[test]
fn no_rule_admits_everyone_by_an_empty_list() {
    let dir = scratch("network-policy-lonely");
    fs::write(
        dir.join("lonely.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: lonely\nspec:\n  \
         api: true\n  swarmKeySecretName: k\n---\napiVersion: ipfs.kotal.io/v1alpha1\n\
         kind: ClusterPeer\nmetadata:\n  name: alone\nspec:\n  peerEndpoint: \
         /ip4/192.0.2.1/tcp/5001\n  clusterSecretName: s\n",
    )
    .unwrap();
    let objects = build(&dir);
    let policies: Vec<&J> = objects
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .collect();
    assert_eq!(policies.len(), 2);
    for policy in policies {
        for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
            for rule in policy["spec"][direction].as_array().expect(direction) {
                if let Some(list) = rule.get(peers) {
                    assert!(!list.as_array().expect("a list").is_empty(), "{policy:#}");
                }
            }
        }
    }
}

/// A malformed policy annotation is a located error, and nothing is rendered.
#[test]
fn malformed_policy_annotations_are_errors() {
    let dir = scratch("network-policy-malformed");
    fs::write(
        dir.join("peer.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  annotations:\n    \
         kotalc.io/api-clients: \"*\"\n    kotalc.io/network-policies: \"no\"\n    \
         kotalc.io/open-egress: \"yes\"\nspec:\n  api: true\n",
    )
    .unwrap();
    let out = run(&dir, &["build", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    for (line, field) in [
        (6, "kotalc.io/api-clients"),
        (7, "kotalc.io/network-policies"),
        (8, "kotalc.io/open-egress"),
    ] {
        assert!(
            stderr.contains(&format!("peer.yaml:{line}:"))
                && stderr.contains(&format!("metadata.annotations[{field}]")),
            "{field}: {stderr}"
        );
    }
}

/// The REST credentials reach the daemon, and only it, from the named Secret; a placeholder
/// says how to make them; one cluster with two credentials is refused.
#[test]
fn rest_credentials_reach_the_daemon_and_one_cluster_shares_them() {
    let dir = scratch("network-policy-credentials");
    let cluster = |name: &str, credentials: &str| {
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: {name}\n  \
             namespace: ipfs\n  annotations:\n    kotalc.io/rest-credentials-secret: {credentials}\n\
             spec:\n  peerEndpoint: /dns4/kubo/tcp/5001\n  clusterSecretName: cluster-secret\n---\n"
        )
    };
    fs::write(
        dir.join("cluster.yaml"),
        [cluster("c-1", "rest"), cluster("c-2", "rest")].concat(),
    )
    .unwrap();
    let objects = build(&dir);
    for sts in objects.iter().filter(|o| o["kind"] == "StatefulSet") {
        let spec = &sts["spec"]["template"]["spec"];
        let daemon = &spec["containers"][0]["env"];
        let credentials: Vec<&J> = daemon
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == "CLUSTER_RESTAPI_BASICAUTHCREDENTIALS")
            .collect();
        assert_eq!(
            credentials,
            [&json!({
                "name": "CLUSTER_RESTAPI_BASICAUTHCREDENTIALS",
                "valueFrom": { "secretKeyRef": { "name": "rest", "key": "credentials" } },
            })]
        );
        assert!(
            !spec["initContainers"].to_string().contains("BASICAUTH"),
            "init needs no credentials"
        );
    }
    let placeholder = objects
        .iter()
        .find(|o| o["kind"] == "SealedSecret" && o["metadata"]["name"] == "rest")
        .expect("a placeholder for the credentials");
    assert!(
        placeholder["metadata"]["annotations"]["kotalc.io/placeholder"]
            .as_str()
            .unwrap()
            .contains("--generate rest-credentials"),
        "{placeholder:#}"
    );

    fs::write(
        dir.join("cluster.yaml"),
        [cluster("c-1", "rest"), cluster("c-2", "other-rest")].concat(),
    )
    .unwrap();
    let out = run(&dir, &["build", "."]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[rest-credentials-mismatch]")
            && stderr.contains("cluster.yaml:18:")
            && stderr.contains("ClusterPeer \"c-2\""),
        "{stderr}"
    );
}

/// Monitoring and an exposed gateway, against the same set without them: cyclonus's answers
/// differ in exactly these cells, and nowhere else. The named Prometheus pods reach each
/// resource's metrics port (a Peer's RPC API port, where kubo serves its metrics; a
/// ClusterPeer's 8888) and nothing else; the exposed gateway admits the controller's
/// namespace alone, where it admitted everyone.
#[test]
fn monitoring_and_an_exposed_gateway_change_only_their_cells() {
    let peers = |exposed: &str| {
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: exposed\n  \
             namespace: ipfs\n{exposed}spec:\n  api: true\n  gateway: true\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: inside\n  \
             namespace: ipfs\nspec:\n  gateway: true\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: cluster\n  \
             namespace: ipfs\nspec:\n  clusterSecretName: cluster-secret\n  \
             peerEndpoint: /dns4/exposed/tcp/5001\n"
        )
    };
    let base_dir = scratch("network-policy-ops-base-input");
    fs::write(base_dir.join("set.yaml"), peers("")).unwrap();
    let opted_dir = scratch("network-policy-ops-input");
    fs::write(
        opted_dir.join("set.yaml"),
        peers(
            "  annotations:\n    kotalc.io/gateway-host: ipfs.example.com\n    \
             kotalc.io/gateway-controller-namespace: ingress-nginx\n",
        ),
    )
    .unwrap();
    let base = build(&base_dir);
    let out = run(
        &opted_dir,
        &[
            "build",
            "--monitoring",
            "monitoring:app.kubernetes.io/name=prometheus",
            ".",
        ],
    );
    assert_exit(&out, 0);
    let opted: Vec<J> = serde_saphyr::from_multiple(&text(&out.stdout)).expect("YAML stream");
    let mut endpoints = pods(&opted);
    let n = endpoints.len();
    endpoints.extend(others(
        n,
        &[
            (
                "prometheus",
                Some("monitoring"),
                &[("app.kubernetes.io/name", "prometheus")],
                &[],
            ),
            (
                "other-monitor",
                Some("monitoring"),
                &[("app", "grafana")],
                &[],
            ),
            (
                "controller",
                Some("ingress-nginx"),
                &[("app", "controller")],
                &[],
            ),
            ("stranger", Some("ipfs"), &[("app", "web")], &["80/TCP"]),
            ("internet", None, &[], &["443/TCP"]),
        ],
    ));
    let before = evaluate("ops-base", &base, &endpoints);
    let after = evaluate("ops", &opted, &endpoints);
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(cell, allowed)| before.get(*cell) != Some(*allowed))
        .map(|((source, destination, port), allowed)| {
            format!("{source} -> {destination} {port}: {allowed}")
        })
        .collect();
    // Every pod but the controller loses the exposed gateway, which was open to all (the
    // ClusterPeer's own egress never allowed it: no change there).
    let mut expected: BTreeSet<String> = [
        "prometheus -> exposed 5001/TCP: true",
        "prometheus -> cluster 8888/TCP: true",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for source in [
        "inside",
        "prometheus",
        "other-monitor",
        "stranger",
        "internet",
    ] {
        expected.insert(format!("{source} -> exposed 8080/TCP: false"));
    }
    assert_eq!(changed, expected);
    // The controller still reaches the gateway, and only the gateway of `exposed`.
    for ((source, destination, port), allowed) in &after {
        if source == "controller" && destination == "exposed" {
            assert_eq!(
                *allowed,
                port == "8080/TCP" || port.starts_with("4001/"),
                "{port}"
            );
        }
    }
}
