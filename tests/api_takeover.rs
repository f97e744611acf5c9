//! Moving off the Kotal operator, on a real API server: the operator's custom resources and the
//! objects its controllers made (ownerReferences to the resources' uids, field manager
//! `manager`), then the commands of docs/takeover.md, as written. It ends
//! with the live objects equal to kotalc's render and the same uids: nothing recreated.

use std::collections::BTreeMap;
use std::fs;

use serde_json::{Value as J, json};

use crate::api_accepts::{list_in, objects};
use crate::apiserver::server;
use crate::common::{root, text};
use crate::docs::page;

/// The commands of the takeover in docs/takeover.md, comments dropped and continuation lines
/// joined.
fn docs_commands() -> Vec<String> {
    let page = page("takeover.md");
    let section = &page[page
        .find("# Moving off the Kotal operator")
        .expect("the takeover section")..];
    let block = &section[section.find("```sh\n").expect("its commands") + 6..];
    let block = &block[..block.find("```").expect("the block's end")];
    block
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// A resource or object as the operator's cluster holds it, without what the server sets.
fn as_created(mut object: J) -> J {
    if let Some(meta) = object.get_mut("metadata").and_then(J::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
        ] {
            meta.remove(field);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(J::as_object_mut) {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    if let Some(o) = object.as_object_mut() {
        o.remove("status");
    }
    // Addresses and volumes of the cluster the export came from.
    if let Some(spec) = object.get_mut("spec").and_then(J::as_object_mut) {
        for field in ["clusterIP", "clusterIPs", "volumeName"] {
            spec.remove(field);
        }
    }
    object
}

/// The uids of the objects of `kinds` in namespace ipfs, by `Kind name`.
fn uids(server: &crate::apiserver::Server, kinds: &str) -> BTreeMap<String, String> {
    let live: J = serde_json::from_str(&server.ok(&["get", kinds, "-n", "ipfs", "-o", "json"]))
        .expect("JSON");
    live["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                format!(
                    "{} {}",
                    o["kind"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or_default()
                ),
                o["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn moving_off_the_operator_as_the_docs_say_keeps_every_object() {
    let server = server();
    server.garbage_collector();
    let ns = server.namespace("ipfs");
    let dir = crate::common::scratch("api-takeover");
    let operator = root().join("tests/data/operator");

    // The operator's world. Its custom resources, applied as the samples were:
    let resources: Vec<J> =
        objects(&fs::read_to_string(operator.join("peers-clusterpeers.yaml")).expect("read"))
            .into_iter()
            .map(as_created)
            .collect();
    let file = dir.join("resources.json");
    list_in(&ns, &resources, &file);
    server.ok(&["apply", "-f", &file.to_string_lossy()]);
    // the Secrets they read (test values; the private key is the sample's, published with it):
    for (name, key, value) in [
        ("my-swarm-key", "swarm.key", format!("/key/swarm/psk/1.0.0/\n/base16/\n{}", "ab".repeat(32))),
        ("cluster-secret", "secret", "cd".repeat(32)),
        (
            "my-cluster-privatekey",
            "key",
            "CAESQOH/DvUJmeJ9z6m3wAStpkrlBwJQxIyNSK0YGf0EI5ZRGpwsWxl4wmgReqmHl8LQjTC2iPM0QbYAjeY3Z63AFnI=".to_string(),
        ),
    ] {
        server.ok(&[
            "create",
            "secret",
            "generic",
            name,
            "-n",
            &ns,
            &format!("--from-literal={key}={value}"),
        ]);
    }
    // and the objects its controllers made: owned by the resources, field manager `manager`.
    let owners = uids(server, "peers,clusterpeers");
    let made: Vec<J> =
        objects(&fs::read_to_string(operator.join("sts-svc-cm-pvc.yaml")).expect("read"))
            .into_iter()
            .map(as_created)
            .map(|mut o| {
                for owner in o["metadata"]["ownerReferences"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                {
                    let key = format!(
                        "{} {}",
                        owner["kind"].as_str().unwrap_or_default(),
                        owner["name"].as_str().unwrap_or_default()
                    );
                    owner["uid"] = json!(owners[&key]);
                }
                o
            })
            .collect();
    let file = dir.join("operator-objects.json");
    list_in(&ns, &made, &file);
    server.ok(&[
        "create",
        "--field-manager=manager",
        "-f",
        &file.to_string_lossy(),
    ]);
    // The operator's install, as `kubectl delete -f kotal.yaml` finds it (a stand-in: its
    // CRDs stay, other tests use them).
    fs::write(
        dir.join("kotal.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  \
         name: kotal-manager-role\nrules: []\n",
    )
    .expect("write");
    server.ok(&["apply", "-f", &dir.join("kotal.yaml").to_string_lossy()]);
    fs::copy(
        root().join("tests/data/controller.crt"),
        dir.join("controller.pem"),
    )
    .expect("cert");
    let before = uids(server, "sts,svc,cm,pvc");
    assert_eq!(before.len(), 12, "{before:?}");

    // The commands of docs/takeover.md, as written, from a directory of the user's.
    let shell = |command: &str| {
        let out = server.shell(command, &dir);
        assert!(
            out.status.success(),
            "`{command}` failed:\n{}{}{}",
            text(&out.stdout),
            text(&out.stderr),
            server.logs()
        );
        out
    };
    let commands = docs_commands();
    assert!(commands.len() >= 10, "{commands:?}");
    let mut printed = Vec::new();
    for command in &commands {
        if command.contains("kotalc seal") {
            // Step 2: every seal command import printed, the example of docs/takeover.md among them.
            let runnable: Vec<String> = printed
                .iter()
                .map(|c: &String| c.replace("'<controller.pem>'", "controller.pem"))
                .collect();
            assert!(
                runnable.contains(command),
                "{command} not among {runnable:?}"
            );
            for c in &runnable {
                shell(c);
            }
            continue;
        }
        let out = shell(command);
        if command.contains("kotalc import") {
            printed = text(&out.stderr)
                .lines()
                .filter_map(|l| {
                    l.trim()
                        .strip_prefix("kubectl get secret")
                        .map(|c| format!("kubectl get secret{c}"))
                })
                .collect();
            assert_eq!(printed.len(), 3, "{}", text(&out.stderr));
        }
        if command.starts_with("kubectl get sts,pvc") {
            let live: J = serde_json::from_str(&server.ok(&[
                "get",
                "sts,svc,cm,pvc",
                "-n",
                &ns,
                "-o",
                "json",
            ]))
            .expect("JSON");
            for o in live["items"].as_array().into_iter().flatten() {
                assert!(
                    o["metadata"].get("ownerReferences").is_none(),
                    "still owned after --cascade=orphan: {}",
                    o["metadata"]
                );
            }
        }
        if command.starts_with("kotalc diff") && command.contains("--exit-code") {
            assert!(
                text(&out.stdout).starts_with("0 added, 0 removed, 0 changed, "),
                "{}",
                text(&out.stdout)
            );
        }
    }
    // The GitOps tool's next sync applies cleanly: nobody else owns what it sets.
    shell("kubectl apply --server-side --field-manager=argocd-controller -k rendered/");
    // Nothing was recreated.
    let after = uids(server, "sts,svc,cm,pvc");
    for (key, uid) in &before {
        assert_eq!(after.get(key), Some(uid), "{key} was recreated or removed");
    }
    // The operator's manager owns nothing any more but the claims' fields.
    let live = server.ok(&[
        "get",
        "sts,svc,cm",
        "-n",
        &ns,
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(!live.contains("manager: manager\n"), "{live}");
}
