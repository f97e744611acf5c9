//! An exposed gateway on the real kubo (every tested version): the rendered pod's
//! `Gateway.PublicGateways` is the annotation's host, a subdomain gateway answers
//! `Host: <cid>.ipfs.<host>` and sends a path request there, and a path gateway answers
//! `<host>/ipfs/<cid>`. Requests go to the gateway port inside the pod, with the Host header a
//! route would pass on.

use std::fs;
use std::time::Duration;

use kotalc::kube::manifest::Object;

use crate::common::{scratch, text};
use crate::pods::{Cluster, KUBO, Pod, wait_for};

const BOUND: Duration = Duration::from_secs(240);
/// The empty identity CID: kubo serves it without any network.
const CID: &str = "bafkqaaa";

fn render(name: &str, yaml: &str) -> Vec<Object> {
    let input = scratch(&format!("gateway-input-{name}"));
    fs::write(input.join("resources.yaml"), yaml).expect("input");
    crate::spec_fields::operator_objects(input)
}

fn peer(name: &str, version: &str, host: &str, subdomains: bool) -> String {
    format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: {name}\n  \
         namespace: ipfs\n  annotations:\n    kotalc.io/gateway-host: {host}\n    \
         kotalc.io/gateway-subdomains: \"{subdomains}\"\n    \
         kotalc.io/gateway-controller-namespace: ingress-nginx\nspec:\n  \
         image: kotalco/kubo:{version}\n  gateway: true\n---\n"
    )
}

/// `curl` inside the pod: the status and the Location header of a GET with this Host.
fn get(pod: &Pod, host: &str, path: &str) -> (String, String) {
    let output = pod.exec(
        "peer",
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "-H",
            &format!("Host: {host}"),
            &format!("http://127.0.0.1:8080{path}"),
        ],
    );
    let out = text(&output.stdout);
    let (status, location) = out.split_once(' ').unwrap_or((&out, ""));
    (status.to_string(), location.trim().to_string())
}

#[test]
fn real_kubo_serves_the_exposed_gateway_as_configured() {
    for version in KUBO {
        let mut cluster = Cluster::new(&format!("gateway-{version}"));
        let yaml = [
            peer("sub", version, "ipfs.example.test", true),
            peer("paths", version, "paths.example.test", false),
        ]
        .concat();
        cluster.apply(&render(version, &yaml));
        for name in ["sub", "paths"] {
            let pod = cluster.start(name).unwrap_or_else(|e| panic!("{e}"));
            wait_for(
                &format!("{version}: the gateway of {name} answers"),
                BOUND,
                || pod.listens(8080),
                || pod.logs(),
            );
            let config = pod.exec(
                "peer",
                &[
                    "ipfs",
                    "--api=/ip4/127.0.0.1/tcp/5001",
                    "config",
                    "Gateway.PublicGateways",
                ],
            );
            let config: serde_json::Value =
                serde_json::from_slice(&config.stdout).unwrap_or_default();
            let host = if name == "sub" {
                "ipfs.example.test"
            } else {
                "paths.example.test"
            };
            assert_eq!(
                config[host]["UseSubdomains"],
                name == "sub",
                "{version} {name}: {config}\n{}",
                pod.logs()
            );
            assert_eq!(config[host]["Paths"], serde_json::json!(["/ipfs", "/ipns"]));
            if name == "sub" {
                // The subdomain request is served; the path request is sent to it.
                let sub = get(&pod, &format!("{CID}.ipfs.{host}"), "/");
                assert_eq!(sub.0, "200", "{version}: {sub:?}\n{}", pod.logs());
                let path = get(&pod, host, &format!("/ipfs/{CID}"));
                assert!(
                    path.0.starts_with('3')
                        && path.1.starts_with(&format!("http://{CID}.ipfs.{host}")),
                    "{version}: {path:?}"
                );
            } else {
                let path = get(&pod, host, &format!("/ipfs/{CID}"));
                assert_eq!(path.0, "200", "{version}: {path:?}\n{}", pod.logs());
            }
        }
    }
}
