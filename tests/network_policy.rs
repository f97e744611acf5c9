//! What the rendered NetworkPolicies mean, as an independent evaluator computes it: cyclonus
//! (the NetworkPolicy simulator that SIG network-policy-api's policy-assistant grew from; the
//! Go module proxy serves cyclonus, not policy-assistant) answers, for every source, destination
//! and port of a rendered set, whether Kubernetes lets the connection through. Each matrix
//! below is written out by hand, cell by cell, from what docs/network-policies.md promises: who reaches which
//! port, and, by omission, who does not. The policies' text is never compared with itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{Value as J, json};

use crate::common::{Kotalc, real_program, root, run, scratch, text};

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
    build_with(dir, &[])
}

/// The rendered objects of a set of inputs, built with `args`.
fn build_with(dir: &Path, args: &[&str]) -> Vec<J> {
    let mut argv = vec!["build", "."];
    argv.extend(args);
    let out = run(dir, &argv);
    out.code(0);
    let objects: Vec<J> =
        serde_saphyr::from_multiple(&text(&out.stdout)).expect("kotalc prints a YAML stream");
    no_peer_admits_every_namespace(&objects);
    objects
}

/// No peer of any rule selects pods of every namespace (`namespaceSelector: {}`).
fn no_peer_admits_every_namespace(objects: &[J]) {
    for policy in objects.iter().filter(|o| o["kind"] == "NetworkPolicy") {
        for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
            for rule in policy["spec"][direction].as_array().into_iter().flatten() {
                for peer in rule[peers].as_array().into_iter().flatten() {
                    if let Some(selector) = peer.get("namespaceSelector") {
                        assert!(
                            selector.as_object().is_some_and(|s| !s.is_empty()),
                            "a peer of every namespace: {policy:#}"
                        );
                    }
                }
            }
        }
    }
}

/// The cluster's DNS, as kube-dns and CoreDNS deployments label their pods.
const KUBE_DNS: Other<'static> = (
    "kube-dns",
    Some("kube-system"),
    &[("k8s-app", "kube-dns")],
    &["53/UDP", "53/TCP"],
);

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
            KUBE_DNS,
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
        stranger         80/TCP    public-gateway pinning-ipfs pinning-client elsewhere internet kube-dns
        elsewhere        80/TCP    public-gateway pinning-ipfs pinning-client stranger internet kube-dns
        internet         4001/TCP  public-gateway pinning-ipfs pinning-client stranger elsewhere kube-dns
        internet         443/TCP   public-gateway pinning-ipfs pinning-client stranger elsewhere kube-dns
        internet         53/UDP    * -private-1 -private-2 -pinning-cluster
        kube-dns         53/UDP    *
        kube-dns         53/TCP    *
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
            KUBE_DNS,
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
        stranger        80/TCP    migrating public pinner internet outside-member kube-dns
        outside-member  4001/TCP  member-1 migrating public pinner stranger internet kube-dns
        outside-member  4001/UDP  migrating public pinner stranger internet kube-dns
        outside-member  443/TCP   migrating public pinner stranger internet kube-dns
        internet        4001/TCP  migrating public pinner stranger outside-member kube-dns
        internet        443/TCP   migrating public pinner stranger outside-member kube-dns
        internet        53/UDP    * -member-1 -member-2
        kube-dns        53/UDP    *
        kube-dns        53/TCP    *
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
    on.code(0);
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
    off.code(0)
        .stdout_lacks("NetworkPolicy")
        .stderr_lacks("network-policies");

    let dir = scratch("network-policy-annotation-off");
    fs::write(
        dir.join("peer.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: quiet\n  \
         annotations:\n    kotalc.io/network-policies: \"false\"\nspec: {}\n",
    )
    .unwrap();
    let out = run(&dir, &["build", "."]);
    out.code(0)
        .stdout_lacks("NetworkPolicy")
        .stderr_lacks("network-policies");
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
    out.code(1);
    assert!(out.stdout.is_empty());
    for (line, field) in [
        (6, "kotalc.io/api-clients"),
        (7, "kotalc.io/network-policies"),
        (8, "kotalc.io/open-egress"),
    ] {
        out.stderr_has(format!("peer.yaml:{line}:"))
            .stderr_has(format!("metadata.annotations[{field}]"));
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
    out.code(1)
        .stderr_has("error[rest-credentials-mismatch]")
        .stderr_has("cluster.yaml:18:")
        .stderr_has("ClusterPeer \"c-2\"");
}

/// A ClusterPeer's YAML, in `namespace`, with `extra` lines under `spec`.
fn cluster_peer(name: &str, namespace: &str, secret: &str, extra: &str) -> String {
    format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: {name}\n  \
         namespace: {namespace}\nspec:\n  peerEndpoint: /ip4/192.0.2.1/tcp/5001\n  \
         clusterSecretName: {secret}\n{extra}---\n"
    )
}

/// The rendered pod labels of StatefulSet `name`.
fn pod_labels<'a>(objects: &'a [J], name: &str) -> &'a J {
    &objects
        .iter()
        .find(|o| o["kind"] == "StatefulSet" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no StatefulSet {name}"))["spec"]["template"]["metadata"]["labels"]
}

/// A label map as the pairs `others` takes.
fn pairs(labels: &J) -> Vec<(String, String)> {
    labels
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a label value").to_string()))
        .collect()
}

/// c1 and c2 share a secret in `ipfs`, c9 has the same secret's name in `pin`, and c2
/// bootstraps to c9: one cluster, which is a full mesh, so every peer reaches every other on
/// 9096, c1 and c9 included. A cluster that shares nothing stays apart, and a pod of another
/// namespace that copies the cluster's label reaches none of it.
#[test]
fn a_cluster_is_admitted_whole_across_namespaces_and_bootstraps() {
    let dir = scratch("network-policy-transitive-input");
    let bootstrap = format!("  bootstrapPeers:\n    - /dns4/c9.pin/tcp/9096/p2p/{PRIVATE_1}\n");
    fs::write(
        dir.join("clusters.yaml"),
        [
            cluster_peer("c1", "ipfs", "s1", ""),
            cluster_peer("c2", "ipfs", "s1", &bootstrap),
            cluster_peer("c9", "pin", "s1", ""),
            cluster_peer("c5", "ipfs", "s5", ""),
        ]
        .concat(),
    )
    .unwrap();
    let objects = build(&dir);
    let member = pairs(pod_labels(&objects, "c1"))
        .into_iter()
        .filter(|(k, _)| k == "ipfs.kotal.io/cluster")
        .collect::<Vec<_>>();
    assert_eq!(
        member.len(),
        1,
        "every cluster pod carries the cluster label"
    );
    assert_eq!(
        pod_labels(&objects, "c9")["ipfs.kotal.io/cluster"],
        pod_labels(&objects, "c1")["ipfs.kotal.io/cluster"],
        "one cluster, one label, whatever the namespace"
    );
    let impostor_labels: Vec<(&str, &str)> = member
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut endpoints = pods(&objects);
    let n = endpoints.len();
    endpoints.extend(others(
        n,
        &[
            (
                "client-s1",
                Some("ipfs"),
                &[("ipfs.kotal.io/cluster-client", "s1")],
                &[],
            ),
            ("impostor", Some("other"), &impostor_labels, &["9096/TCP"]),
            ("internet", None, &[], &["53/UDP"]),
            KUBE_DNS,
        ],
    ));
    let actual = evaluate("transitive", &objects, &endpoints);
    assert_matrix(
        &actual,
        "
        c1        9096/TCP  c2 c9
        c2        9096/TCP  c1 c9
        c9        9096/TCP  c1 c2
        c5        9096/TCP  none
        c1        9094/TCP  client-s1
        c1        9095/TCP  client-s1
        c1        8888/TCP  client-s1
        c2        9094/TCP  client-s1
        c2        9095/TCP  client-s1
        c2        8888/TCP  client-s1
        c9        9094/TCP  none
        c9        9095/TCP  none
        c9        8888/TCP  none
        c5        9094/TCP  none
        c5        9095/TCP  none
        c5        8888/TCP  none
        impostor  9096/TCP  * -c1 -c2 -c9 -c5
        internet  53/UDP    * -c1 -c2 -c9 -c5
        kube-dns  53/UDP    *
        kube-dns  53/TCP    *
        ",
    );
}

/// The attack: a ClusterPeer without a namespace names a Peer of `prod`, so that the Peer's
/// RPC API would admit pods with the ClusterPeer's labels from every namespace. kotalc refuses
/// it, at the reference, and says how to name the namespace; bootstrap and peering the same.
/// With `--namespace`, the grant names it, and a pod of another namespace with the
/// ClusterPeer's very labels does not reach the API.
#[test]
fn a_grant_never_admits_every_namespace() {
    let dir = scratch("network-policy-unknown-namespace");
    fs::write(
        dir.join("cluster.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: pinner\n\
         spec:\n  peerEndpoint: /dns4/kubo.prod/tcp/5001\n  clusterSecretName: s\n",
    )
    .unwrap();
    fs::write(
        dir.join("peer.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: kubo\n  \
         namespace: prod\nspec:\n  api: true\n",
    )
    .unwrap();
    let refused = run(&dir, &["build", "."]);
    refused.code(1);
    assert!(refused.stdout.is_empty());
    refused
        .stderr_has("error[policy-namespace-unknown]")
        .stderr_has("cluster.yaml:6:17")
        .stderr_has("spec.peerEndpoint")
        .stderr_has("--namespace")
        .stderr_has("metadata.namespace");
    // Without policies there is no grant to name.
    run(&dir, &["build", ".", "--no-network-policies"]).code(0);

    let objects = build_with(&dir, &["--namespace", "ipfs"]);
    let pinner = pairs(pod_labels(&objects, "pinner"));
    let pinner: Vec<(&str, &str)> = pinner
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut endpoints = pods(&objects);
    let n = endpoints.len();
    endpoints.extend(others(
        n,
        &[("impostor", Some("other"), &pinner, &[]), KUBE_DNS],
    ));
    let actual = evaluate("unknown-namespace", &objects, &endpoints);
    assert_matrix(
        &actual,
        "
        kubo      4001/TCP  * -pinner
        kubo      4001/UDP  * -pinner
        kubo      5001/TCP  pinner
        pinner    9096/TCP  none
        pinner    9094/TCP  none
        pinner    9095/TCP  none
        pinner    8888/TCP  none
        kube-dns  53/UDP    *
        kube-dns  53/TCP    *
        ",
    );

    // Bootstrap and peering across to a known namespace, from an unknown one.
    let dir = scratch("network-policy-unknown-namespace-links");
    fs::write(
        dir.join("set.yaml"),
        format!(
            "{}apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: joiner\n\
             spec:\n  peerEndpoint: /ip4/192.0.2.1/tcp/5001\n  clusterSecretName: s1\n  \
             bootstrapPeers:\n    - /dns4/c9.pin/tcp/9096/p2p/{PRIVATE_1}\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: v\n  \
             namespace: vault\nspec:\n  swarmKeySecretName: k\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: w\n  \
             annotations:\n    kotalc.io/peering: /dns4/v.vault/tcp/4001/p2p/{PRIVATE_2}\n\
             spec:\n  swarmKeySecretName: k\n",
            cluster_peer("c9", "pin", "s1", "")
        ),
    )
    .unwrap();
    let refused = run(&dir, &["build", "."]);
    refused.code(1);
    let stderr = text(&refused.stderr);
    for (place, field) in [
        ("set.yaml:18:7", "spec.bootstrapPeers[0]"),
        ("set.yaml:33:24", "metadata.annotations[kotalc.io/peering]"),
    ] {
        refused.stderr_has(place).stderr_has(field);
    }
    assert_eq!(
        stderr.matches("error[policy-namespace-unknown]").count(),
        2,
        "{stderr}"
    );
    build_with(&dir, &["-n", "ipfs"]);
}

/// The attack: a Peer labelled as a cluster's client, or as a swarm's or cluster's member, so
/// that its pods pass the policies as such. Each such label is an error where it is written.
#[test]
fn a_resource_may_not_carry_a_label_the_policies_admit_by() {
    let dir = scratch("network-policy-reserved-labels");
    fs::write(
        dir.join("sneaky.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: sneaky\n  \
         namespace: ipfs\n  labels:\n    team: a\n    ipfs.kotal.io/cluster-client: s1\n    \
         ipfs.kotal.io/swarm: ipfs_k\n---\napiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\n\
         metadata:\n  name: joiner\n  namespace: ipfs\n  labels:\n    \
         ipfs.kotal.io/cluster: ipfs_s1\nspec:\n  peerEndpoint: /ip4/192.0.2.1/tcp/5001\n  \
         clusterSecretName: s2\n",
    )
    .unwrap();
    for args in [
        &["build", "."][..],
        &["build", ".", "--no-network-policies"],
    ] {
        let out = run(&dir, args);
        out.code(1);
        assert!(out.stdout.is_empty());
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr.matches("error[reserved-label]").count(),
            3,
            "{stderr}"
        );
        for (place, key) in [
            ("sneaky.yaml:8:5", "ipfs.kotal.io/cluster-client"),
            ("sneaky.yaml:9:5", "ipfs.kotal.io/swarm"),
            ("sneaky.yaml:17:5", "ipfs.kotal.io/cluster"),
        ] {
            out.stderr_has(place)
                .stderr_has(format!("metadata.labels[{key}]"));
        }
    }
}

/// A private swarm's and a cluster's policies select their members by one label: the policy
/// of the first member is the same bytes in a set of 3 and in a set of 60. The label is on
/// the pods only: the StatefulSet's selector, which cannot change, is Kotal's six labels.
#[test]
fn a_policy_does_not_grow_with_its_swarm_or_cluster() {
    let policy_of = |count: usize| -> (String, String, J) {
        let dir = scratch(&format!("network-policy-size-{count}"));
        let mut set = String::new();
        for i in 1..=count {
            set.push_str(&format!(
                "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: m-{i}\n  \
                 namespace: ipfs\nspec:\n  swarmKeySecretName: swarm-key\n---\n"
            ));
            set.push_str(&cluster_peer(
                &format!("c-{i}"),
                "ipfs",
                "cluster-secret",
                "",
            ));
        }
        fs::write(dir.join("set.yaml"), set).unwrap();
        let out = run(&dir, &["build", ".", "--allow", "private-swarm-isolated"]);
        out.code(0);
        let docs: Vec<String> = text(&out.stdout)
            .split("\n---\n")
            .map(String::from)
            .collect();
        let find = |kind: &str, name: &str| {
            docs.iter()
                .find(|d| {
                    d.contains(&format!("kind: {kind}\n"))
                        && d.contains(&format!("  name: {name}\n"))
                })
                .unwrap_or_else(|| panic!("{kind} {name}"))
                .clone()
        };
        let objects: Vec<J> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
        let sts = objects
            .iter()
            .find(|o| o["kind"] == "StatefulSet" && o["metadata"]["name"] == "m-1")
            .unwrap()
            .clone();
        (
            find("NetworkPolicy", "m-1"),
            find("NetworkPolicy", "c-1"),
            sts,
        )
    };
    let (peer_3, cluster_3, sts_3) = policy_of(3);
    let (peer_60, cluster_60, sts_60) = policy_of(60);
    assert_eq!(peer_3, peer_60);
    assert_eq!(cluster_3, cluster_60);
    assert!(
        !peer_3.contains("m-2") && !cluster_3.contains("c-2"),
        "{peer_3}\n{cluster_3}"
    );
    assert_eq!(sts_3, sts_60);
    let selector = sts_3["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    assert_eq!(
        selector.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "app.kubernetes.io/component",
            "app.kubernetes.io/created-by",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/name",
            "kotal.io/protocol",
        ]
    );
    assert_eq!(
        sts_3["spec"]["template"]["metadata"]["labels"]["ipfs.kotal.io/swarm"],
        "ipfs_swarm-key"
    );
}

/// DNS goes to the cluster's DNS only: kube-system's kube-dns pods by default, elsewhere by
/// `--cluster-dns` for the run and `kotalc.io/cluster-dns` for one resource (here a
/// node-local cache's address). Port 53 of any other address stays closed.
#[test]
fn dns_goes_to_the_clusters_dns_only() {
    let dir = scratch("network-policy-dns");
    fs::write(
        dir.join("set.yaml"),
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p1\n  \
             namespace: ipfs\n  annotations:\n    kotalc.io/cluster-dns: 169.254.20.10\n\
             spec:\n  swarmKeySecretName: k\n---\n\
             apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p2\n  \
             namespace: ipfs\nspec:\n  swarmKeySecretName: k\n---\n{}",
            cluster_peer("c1", "ipfs", "s1", "")
        ),
    )
    .unwrap();
    let other_dns: Other<'static> = (
        "coredns",
        Some("cluster-dns"),
        &[("app.kubernetes.io/name", "coredns")],
        &["53/UDP", "53/TCP"],
    );
    let endpoints_of = |objects: &[J]| {
        let mut endpoints = pods(objects);
        let n = endpoints.len();
        endpoints.extend(others(
            n,
            &[
                KUBE_DNS,
                other_dns,
                ("node-local", None, &[], &["53/UDP", "53/TCP"]),
                ("internet", None, &[], &["53/UDP"]),
            ],
        ));
        let local = endpoints
            .iter_mut()
            .find(|e| e.name == "node-local")
            .unwrap();
        local.ip = "169.254.20.10".into();
        endpoints
    };
    let objects = build_with(&dir, &["--allow", "private-swarm-isolated"]);
    let actual = evaluate("dns-default", &objects, &endpoints_of(&objects));
    assert_matrix(
        &actual,
        "
        p1             4001/TCP  * -c1
        p2             4001/TCP  * -c1
        c1             9096/TCP  none
        c1             9094/TCP  none
        c1             9095/TCP  none
        c1             8888/TCP  none
        kube-dns       53/UDP    * -p1
        kube-dns       53/TCP    * -p1
        coredns        53/UDP    * -p1 -p2 -c1
        coredns        53/TCP    * -p1 -p2 -c1
        node-local     53/UDP    * -p2 -c1
        node-local     53/TCP    * -p2 -c1
        internet       53/UDP    * -p1 -p2 -c1
        ",
    );
    let objects = build_with(
        &dir,
        &[
            "--allow",
            "private-swarm-isolated",
            "--cluster-dns",
            "cluster-dns:app.kubernetes.io/name=coredns",
        ],
    );
    let actual = evaluate("dns-openshift", &objects, &endpoints_of(&objects));
    assert_matrix(
        &actual,
        "
        p1             4001/TCP  * -c1
        p2             4001/TCP  * -c1
        c1             9096/TCP  none
        c1             9094/TCP  none
        c1             9095/TCP  none
        c1             8888/TCP  none
        kube-dns       53/UDP    * -p1 -p2 -c1
        kube-dns       53/TCP    * -p1 -p2 -c1
        coredns        53/UDP    * -p1
        coredns        53/TCP    * -p1
        node-local     53/UDP    * -p2 -c1
        node-local     53/TCP    * -p2 -c1
        internet       53/UDP    * -p1 -p2 -c1
        ",
    );
}

/// The DNS setting, as every front end offers it: a malformed value is refused where it is
/// written (the annotation, at its line; the flag, as a usage error; the KRM function's and
/// Argo CD's configuration), and a good one reaches the policy.
#[test]
fn the_dns_setting_is_offered_by_every_front_end() {
    let dir = scratch("network-policy-dns-setting");
    let peer = |annotation: &str| {
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  \
             namespace: ipfs\n  annotations:\n    kotalc.io/allow: private-swarm-isolated\n\
             {annotation}spec:\n  swarmKeySecretName: k\n"
        )
    };
    fs::write(
        dir.join("p.yaml"),
        peer("    kotalc.io/cluster-dns: \"10.0.0.1/8, app=dns\"\n"),
    )
    .unwrap();
    let out = run(&dir, &["build", "."]);
    out.code(1)
        .stderr_has("p.yaml:8:28")
        .stderr_has("metadata.annotations[kotalc.io/cluster-dns]")
        .stderr_has("host bits");
    fs::write(dir.join("p.yaml"), peer("")).unwrap();
    let bad = run(&dir, &["build", ".", "--cluster-dns", "dns"]);
    bad.code(2);
    let dns_rule = |objects: &[J]| -> J {
        objects
            .iter()
            .find(|o| o["kind"] == "NetworkPolicy")
            .expect("a policy")["spec"]["egress"][0]
            .clone()
    };
    let expected = json!({
        "to": [{ "ipBlock": { "cidr": "10.96.0.10/32" } }],
        "ports": [{ "port": 53, "protocol": "UDP" }, { "port": 53, "protocol": "TCP" }],
    });
    assert_eq!(
        dns_rule(&build_with(&dir, &["--cluster-dns", "10.96.0.10"])),
        expected
    );
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  \
         apiVersion: kotalc.io/v1alpha1\n  kind: KotalcBuild\n  metadata:\n    name: x\n  \
         spec:\n    clusterDns: {}\nitems:\n- {}\n",
        "{}",
        peer("").lines().collect::<Vec<_>>().join("\n  ")
    );
    for (value, ok) in [("10.96.0.10", true), ("10.96.0.10/8", false)] {
        let out = Kotalc::new()
            .current_dir(&dir)
            .args(["krm"])
            .stdin(list.replacen("{}", value, 1).as_bytes())
            .run();
        let output: J = serde_saphyr::from_str(&text(&out.stdout)).expect("ResourceList");
        if ok {
            out.code(0);
            let items = output["items"].as_array().expect("items").clone();
            assert_eq!(dns_rule(&items), expected);
        } else {
            assert_ne!(out.status.code(), Some(0));
            assert!(output.to_string().contains("clusterDns"), "{output:#}");
        }
    }
    let argocd = |value: &str| {
        Kotalc::new()
            .args(["build", "--argocd", "."])
            .current_dir(&dir)
            .env_clear()
            .env("ARGOCD_APP_NAMESPACE", "ipfs")
            .env("ARGOCD_ENV_KOTALC_CLUSTER_DNS", value)
            .env("ARGOCD_ENV_KOTALC_SECRET_MODE", "none")
            .run()
    };
    let out = argocd("10.96.0.10");
    out.code(0);
    let objects: Vec<J> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
    assert_eq!(dns_rule(&objects), expected);
    let out = argocd("nope");
    out.code(2).stderr_has("ARGOCD_ENV_KOTALC_CLUSTER_DNS");
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
    out.code(0);
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
