//! `kotalc import`: the operator's custom resources, exported as `kubectl get -o yaml` prints
//! them (tests/data/operator), become the inputs a person writes, and build to the same
//! objects as the hand-written samples.

use std::fs;

use crate::common::{root, run, run_with_stdin, scratch, text};

const EXPORT: &str = "tests/data/operator/peers-clusterpeers.yaml";

#[test]
fn an_export_becomes_clean_inputs_in_the_order_a_person_writes() {
    let out = run(&root(), &["import", EXPORT]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for server in [
        "uid:",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "status",
        "last-applied-configuration",
        "ownerReferences",
        // The operator's defaults are left out.
        "kotalco/kubo",
        "default-datastore",
        "cpuLimit",
        "storage:",
        "consensus",
        "logging",
    ] {
        assert!(!stdout.contains(server), "{server} in\n{stdout}");
    }
    let peer = stdout
        .split("---\n")
        .find(|d| d.contains("name: peer-sample"))
        .expect("peer-sample imported");
    assert_eq!(
        peer,
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: peer-sample\n  \
         namespace: ipfs\nspec:\n  apiPort: 8999\n  gatewayPort: 4444\n  routing: dhtclient\n  \
         swarmKeySecretName: my-swarm-key\n  resources:\n    memory: 1Gi\n"
    );
    // Every referenced Secret gets the command that seals it from the cluster.
    let stderr = text(&out.stderr);
    for command in [
        "kubectl get secret my-swarm-key -n ipfs -o yaml | kotalc seal --cert <controller.pem> \
         --from-secret --key swarm.key -o sealedsecret-my-swarm-key.yaml",
        "kubectl get secret cluster-secret -n ipfs -o yaml | kotalc seal --cert \
         <controller.pem> --from-secret --key secret",
        "--from-secret --key key -o sealedsecret-my-cluster-privatekey.yaml --expect-id \
         12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq",
    ] {
        assert!(stderr.contains(command), "{command} not in\n{stderr}");
    }

    // JSON (kubectl -o json), on stdin, gives the same inputs; --keep-defaults keeps them.
    let json = fs::read(root().join("tests/data/operator/peers-clusterpeers.json")).expect("json");
    let from_json = run_with_stdin(&root(), &["import"], &json);
    assert_eq!(
        text(&from_json.stdout),
        stdout,
        "{}",
        text(&from_json.stderr)
    );
    let kept = run(&root(), &["import", "--keep-defaults", EXPORT]);
    let kept = text(&kept.stdout);
    assert!(kept.contains("image: kotalco/kubo:v0.28.0") && kept.contains("consensus: crdt"));
    assert!(!kept.contains("uid:"), "{kept}");
}

/// Importing and building gives the objects that building the hand-written samples gives.
#[test]
fn import_then_build_renders_what_the_samples_render() {
    let dir = scratch("import-build");
    let out = run(
        &root(),
        &["import", EXPORT, "-o", dir.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut files: Vec<String> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(&dir)
                .expect("below")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            ".kotalc-imported",
            "ipfs/clusterpeer-cluster-peer.yaml",
            "ipfs/peer-bare-peer.yaml",
            "ipfs/peer-peer-sample.yaml"
        ]
    );
    let imported = run(&root(), &["build", dir.to_str().expect("utf-8")]);
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        text(&imported.stderr)
    );
    let samples = root().join("../../shared/kotal/samples");
    let samples = if samples.is_dir() {
        samples
    } else {
        std::path::PathBuf::from("/work/shared/kotal/samples")
    };
    let mut args = vec!["build".to_string(), "-n".into(), "ipfs".into()];
    for sample in ["bare_peer", "swarm_peer", "cluster_peer"] {
        args.push(
            samples
                .join(format!("ipfs_v1alpha1_{sample}.yaml"))
                .to_string_lossy()
                .into_owned(),
        );
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let hand = run(&root(), &argv);
    assert_eq!(hand.status.code(), Some(0), "{}", text(&hand.stderr));
    assert_eq!(text(&imported.stdout), text(&hand.stdout));
}

#[test]
fn secrets_swarms_and_bad_values_are_refused_where_they_are() {
    // A Secret with data in the export: refused as everywhere, its value never shown.
    let value = "c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du";
    let export = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    \
         name: cluster-secret\n    namespace: ipfs\n  data:\n    secret: {value}\n\
         - apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Swarm\n  metadata:\n    name: old\n  \
         spec:\n    nodes: []\n\
         ---\napiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: 1peer\n  \
         uid: x\nspec:\n  routing: dhtt\nstatus:\n  client: kubo\n"
    );
    let out = run_with_stdin(&root(), &["import", "-"], export.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(!stderr.contains(value), "{stderr}");
    for expected in [
        "error[plaintext-secret]: Secret \"cluster-secret\" holds its values in plain text",
        "--> <stdin>:5:9",
        "a Swarm is not imported",
        "kotalc migrate",
        "--> <stdin>:12:9",
        "--> <stdin>:21:9",
        "\"1peer\": a DNS-1035 label",
        "error[invalid-enum]: spec.routing: Unsupported value: \"dhtt\"",
    ] {
        assert!(stderr.contains(expected), "{expected} not in\n{stderr}");
    }
    // Other objects of the export are left out, and said so.
    let objects = run(
        &root(),
        &["import", EXPORT, "tests/data/operator/sts-svc-cm-pvc.yaml"],
    );
    assert_eq!(objects.status.code(), Some(0), "{}", text(&objects.stderr));
    assert!(
        text(&objects.stderr)
            .contains("left out 3 ConfigMap, 3 PersistentVolumeClaim, 3 Service, 3 StatefulSet"),
        "{}",
        text(&objects.stderr)
    );
}
