//! The REST credentials, on the real ipfs-cluster-service v1.1.6: a ClusterPeer with
//! `kotalc.io/rest-credentials-secret` is rendered and its pod run by the pod runner, as the
//! kubelet runs it (the rendered init container writes the configuration, the daemon container
//! starts with the Secrets' values in its environment). Without credentials the REST API
//! answers 401, with the wrong ones 401, with the right ones 200; `/health` answers without
//! any; `ipfs-cluster-ctl` reaches it as docs/network-policies.md writes it.

use std::fs;
use std::time::Duration;

use serde_json::Value as J;

use crate::common::{run, scratch, text};
use crate::pods::{Cluster, wait_for};

const SECRET: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const CREDENTIALS: &str = "admin:0123456789abcdef0123456789abcdef";

#[test]
fn the_real_rest_api_refuses_requests_without_the_credentials() {
    let dir = scratch("rest-auth");
    fs::write(
        dir.join("cluster.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: guarded\n  \
         namespace: ipfs\n  annotations:\n    kotalc.io/rest-credentials-secret: guarded-rest\n\
         spec:\n  image: kotalco/ipfs-cluster:v1.1.6\n  peerEndpoint: /ip4/127.0.0.1/tcp/5001\n  \
         clusterSecretName: guarded-secret\n",
    )
    .expect("input");
    let out = run(&dir, &["build", ".", "--secret-mode", "none"]);
    out.code(0);
    let objects: Vec<J> = serde_saphyr::from_multiple(&text(&out.stdout)).expect("YAML");
    let mut cluster = Cluster::new("rest-auth");
    cluster.secret("guarded-secret", "secret", SECRET);
    cluster.secret("guarded-rest", "credentials", CREDENTIALS);
    cluster.apply_manifests(&objects);
    let pod = cluster.start("guarded").unwrap_or_else(|e| panic!("{e}"));
    let request = |path: &str, credentials: Option<&str>| {
        pod.http_as("GET", 9094, path, credentials)
            .map(|(status, _)| status)
    };
    wait_for(
        "the REST API answers /health on the pod's address",
        Duration::from_secs(240),
        || request("/health", None).is_some_and(|s| (200..300).contains(&s)),
        || pod.logs(),
    );
    for (label, credentials, expected) in [
        ("without credentials", None, 401),
        ("with the wrong password", Some("admin:wrong"), 401),
        ("with the credentials", Some(CREDENTIALS), 200),
    ] {
        assert_eq!(
            request("/id", credentials),
            Some(expected),
            "/id {label}\n{}",
            pod.logs()
        );
    }
    // ipfs-cluster-ctl in the pod, as `kubectl exec` runs it.
    let ctl = |extra: &[&str]| {
        let mut argv = vec!["ipfs-cluster-ctl", "--host", "/ip4/127.0.0.1/tcp/9094"];
        argv.extend_from_slice(extra);
        argv.push("id");
        pod.exec("cluster-peer", &argv)
    };
    let refused = ctl(&[]);
    assert!(
        !refused.status.success(),
        "ipfs-cluster-ctl without credentials: {}",
        text(&refused.stdout)
    );
    let allowed = ctl(&["--basic-auth", CREDENTIALS, "--force-http"]);
    assert!(
        allowed.status.success(),
        "ipfs-cluster-ctl with the credentials: {}{}",
        text(&allowed.stdout),
        text(&allowed.stderr)
    );
    let log = pod.log("cluster-peer");
    assert!(
        log.contains("authenticated"),
        "the daemon says its REST API is authenticated:\n{log}"
    );
    let password = CREDENTIALS.split(':').nth(1).expect("password");
    assert!(!pod.logs().contains(password), "the password is in a log");
    assert!(
        !pod.argv("cluster-peer").join(" ").contains(password),
        "the password is in the daemon's argv"
    );
}
