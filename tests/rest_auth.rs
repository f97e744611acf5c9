//! The REST credentials, on the real ipfs-cluster-service v1.1.6: a ClusterPeer with
//! `kotalc.io/rest-credentials-secret` is rendered, and its daemon container's environment
//! (the Secrets' values filled in, as the kubelet does) starts the real daemon in a network
//! namespace with only loopback. Without credentials the REST API answers 401, with the wrong
//! ones 401, with the right ones 200; `/health` answers without any; `ipfs-cluster-ctl` reaches
//! it as the README writes it.

use std::fs;
use std::process::Command;

use serde_json::Value as J;

use crate::common::{assert_exit, real_program, run, scratch, text};

const SECRET: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const CREDENTIALS: &str = "admin:0123456789abcdef0123456789abcdef";

#[test]
fn the_real_rest_api_refuses_requests_without_the_credentials() {
    let service = real_program("ipfs-cluster-v1.1.6", "ipfs-cluster-service");
    let ctl = real_program("ipfs-cluster-v1.1.6", "ipfs-cluster-ctl");
    let dir = scratch("rest-auth");
    fs::write(
        dir.join("cluster.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: guarded\n  \
         namespace: ipfs\n  annotations:\n    kotalc.io/rest-credentials-secret: guarded-rest\n\
         spec:\n  peerEndpoint: /ip4/127.0.0.1/tcp/5001\n  clusterSecretName: guarded-secret\n",
    )
    .unwrap();
    let out = run(&dir, &["build", ".", "--secret-mode", "none"]);
    assert_exit(&out, 0);
    let objects: Vec<J> = serde_saphyr::from_multiple(&text(&out.stdout)).expect("YAML");
    let sts = objects
        .iter()
        .find(|o| o["kind"] == "StatefulSet")
        .expect("a StatefulSet");
    let daemon = &sts["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(daemon["command"][0], "ipfs-cluster-service");
    let data = dir.join("data");
    fs::create_dir_all(&data).unwrap();
    // The daemon's environment as the kubelet gives it: values, and Secrets' keys.
    let mut command = Command::new("unshare");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for var in daemon["env"].as_array().expect("env") {
        let name = var["name"].as_str().unwrap();
        let value = match (&var["value"], &var["valueFrom"]["secretKeyRef"]) {
            (J::String(v), _) => v.clone(),
            (_, J::Object(r)) => match (r["name"].as_str(), r["key"].as_str()) {
                (Some("guarded-secret"), Some("secret")) => SECRET.to_string(),
                (Some("guarded-rest"), Some("credentials")) => CREDENTIALS.to_string(),
                other => panic!("{name} reads an unexpected Secret {other:?}"),
            },
            _ => String::new(),
        };
        command.env(name, value);
    }
    // The claim's mount point, here.
    command.env("IPFS_CLUSTER_PATH", &data);
    let args: Vec<&str> = daemon["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["daemon"]);
    // What the init script runs, then the daemon; each request waits for the API under a hang
    // guard far above a normal start.
    let script = r#"
set -u
ip link set lo up
"$SERVICE" init --consensus crdt > "$DIR/init.log" 2>&1 || { cat "$DIR/init.log"; exit 1; }
"$SERVICE" daemon > "$DIR/daemon.log" 2>&1 &
pid=$!
tries=0
until curl -s -o /dev/null http://127.0.0.1:9094/health; do
  tries=$((tries + 1))
  if [ "$tries" -gt 2400 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "the REST API never answered"; kill "$pid" 2>/dev/null; cat "$DIR/daemon.log"; exit 1
  fi
  sleep 0.25
done
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
echo "health $(code http://127.0.0.1:9094/health)"
echo "none $(code http://127.0.0.1:9094/id)"
echo "wrong $(code -u admin:wrong http://127.0.0.1:9094/id)"
echo "right $(code -u "$CREDENTIALS" http://127.0.0.1:9094/id)"
if "$CTL" --host /ip4/127.0.0.1/tcp/9094 id > "$DIR/ctl-none.log" 2>&1; then
  echo "ctl-none ok"; else echo "ctl-none refused"; fi
if "$CTL" --host /ip4/127.0.0.1/tcp/9094 --basic-auth "$CREDENTIALS" --force-http id > "$DIR/ctl.log" 2>&1; then
  echo "ctl ok"; else echo "ctl refused"; cat "$DIR/ctl.log"; fi
kill "$pid"
wait "$pid" 2>/dev/null
exit 0
"#;
    let out = command
        .args(["-n", "sh", "-c", script])
        .env("SERVICE", &service)
        .env("CTL", &ctl)
        .env("DIR", &dir)
        .env("CREDENTIALS", CREDENTIALS)
        .output()
        .expect("unshare runs");
    let stdout = text(&out.stdout);
    let log = fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "{stdout}{}\ndaemon log:\n{log}",
        text(&out.stderr)
    );
    let codes: Vec<(&str, &str)> = stdout.lines().filter_map(|l| l.split_once(' ')).collect();
    let health = codes.iter().find(|(k, _)| *k == "health").map(|(_, v)| *v);
    assert!(
        health.is_some_and(|c| c.starts_with('2')),
        "/health answers without credentials: {stdout}\n{log}"
    );
    for (request, expected) in [
        ("none", "401"),
        ("wrong", "401"),
        ("right", "200"),
        ("ctl-none", "refused"),
        ("ctl", "ok"),
    ] {
        assert!(
            codes.contains(&(request, expected)),
            "{request}: expected {expected} in\n{stdout}\ndaemon log:\n{log}"
        );
    }
    assert!(
        log.contains("authenticated"),
        "the daemon says its REST API is authenticated:\n{log}"
    );
    assert!(!stdout.contains(CREDENTIALS.split(':').nth(1).unwrap()));
}
