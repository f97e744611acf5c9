//! `kotalc import`: the operator's custom resources, exported as `kubectl get -o yaml` prints
//! them (tests/data/operator), become the inputs a person writes, and build to the same
//! objects as the hand-written samples.

use std::fs;

use crate::common::{Kotalc, root, run, scratch, text};

const EXPORT: &str = "tests/data/operator/peers-clusterpeers.yaml";

#[test]
fn an_export_becomes_clean_inputs_in_the_order_a_person_writes() {
    let out = run(&root(), &["import", EXPORT]);
    out.code(0);
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
         namespace: ipfs\n  annotations:\n    kotalc.io/network-policies: \"false\"\n\
         spec:\n  apiPort: 8999\n  gatewayPort: 4444\n  routing: dhtclient\n  \
         swarmKeySecretName: my-swarm-key\n  resources:\n    memory: 1Gi\n"
    );
    // Every referenced Secret gets the command that seals it from the cluster, and the note
    // says how to turn the NetworkPolicies on.
    let stderr = text(&out.stderr);
    out.stderr_has("kotalc.io/network-policies: \"false\", so the takeover changes no connection");
    for command in [
        "kubectl get secret my-swarm-key -n ipfs -o yaml | kotalc seal --cert '<controller.pem>' \
         --from-secret --key swarm.key -o sealedsecret-my-swarm-key.yaml",
        "kubectl get secret cluster-secret -n ipfs -o yaml | kotalc seal --cert \
         '<controller.pem>' --from-secret --key secret",
        "--from-secret --key key -o sealedsecret-my-cluster-privatekey.yaml --expect-id \
         12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq",
    ] {
        assert!(stderr.contains(command), "{command} not in\n{stderr}");
    }

    // Like every run, it ends with the summary line.
    assert_eq!(
        stderr.lines().last(),
        Some("kotalc: 3 resources, 0 errors, 0 warnings"),
        "{stderr}"
    );

    // JSON (kubectl -o json), on stdin, gives the same inputs; --keep-defaults keeps them.
    let json = fs::read(root().join("tests/data/operator/peers-clusterpeers.json")).expect("json");
    let from_json = Kotalc::new()
        .current_dir(root())
        .args(["import"])
        .stdin(&json)
        .run();
    assert_eq!(
        text(&from_json.stdout),
        stdout,
        "{}",
        text(&from_json.stderr)
    );
    let kept = run(&root(), &["import", "--keep-defaults", EXPORT]);
    kept.stdout_has("image: kotalco/kubo:v0.28.0")
        .stdout_has("consensus: crdt")
        .stdout_lacks("uid:");
}

/// Importing and building gives the objects that building the hand-written samples gives.
#[test]
fn import_then_build_renders_what_the_samples_render() {
    let dir = scratch("import-build");
    let out = run(
        &root(),
        &["import", EXPORT, "-o", dir.to_str().expect("utf-8")],
    );
    out.code(0);
    // The seal commands write beside the resources that read the Secrets, and the run ends
    // with the summary line.
    let stderr = text(&out.stderr);
    let shown = crate::common::text(dir.as_os_str().as_encoded_bytes());
    out.stderr_has(format!(
        "--from-secret --key swarm.key -o {shown}/ipfs/sealedsecret-my-swarm-key.yaml"
    ));
    assert_eq!(
        stderr.lines().last(),
        Some(
            format!("kotalc: 3 resources, 0 errors, 0 warnings; wrote 3 files to {shown}").as_str()
        ),
        "{stderr}"
    );
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
    imported.code(0);
    let samples = root().join("../../shared/kotal/samples");
    let samples = if samples.is_dir() {
        samples
    } else {
        std::path::PathBuf::from("/work/shared/kotal/samples")
    };
    // Imported resources come with their policies off: the samples, built without them.
    let mut args = vec![
        "build".to_string(),
        "-n".into(),
        "ipfs".into(),
        "--no-network-policies".into(),
    ];
    // Copied into the repository: kotalc reads no input outside it.
    let copies = scratch("import-samples");
    for sample in ["bare_peer", "swarm_peer", "cluster_peer"] {
        let name = format!("ipfs_v1alpha1_{sample}.yaml");
        fs::copy(samples.join(&name), copies.join(&name)).expect("copy a sample");
        args.push(copies.join(&name).to_string_lossy().into_owned());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let hand = run(&root(), &argv);
    hand.code(0);
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
    let out = Kotalc::new()
        .current_dir(root())
        .args(["import", "-"])
        .stdin(export.as_bytes())
        .run();
    out.code(1);
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    out.stderr_lacks(value);
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
    objects.code(0);
    assert!(
        text(&objects.stderr)
            .contains("left out 3 ConfigMap, 3 PersistentVolumeClaim, 3 Service, 3 StatefulSet"),
        "{}",
        text(&objects.stderr)
    );
}

/// The takeover, end to end: import the operator's resources, build, and diff against the
/// objects the operator made, as the cluster exports them. Only kotalc's deliberate
/// differences show (its scripts, the scripts' hash on the pod template, prune protection on
/// the claims, the SealedSecrets, and the runtime fixes: the settings each container needs to
/// run on kubo and ipfs-cluster, and the cluster ports nothing listens on removed), and nothing
/// is refused or destructive.
#[test]
fn diff_against_the_operators_exported_objects_shows_only_deliberate_differences() {
    let dir = scratch("import-takeover");
    let inputs = dir.join("ipfs");
    let out = run(
        &root(),
        &["import", EXPORT, "-o", inputs.to_str().expect("utf-8")],
    );
    out.code(0);
    let against = root().join("tests/data/operator");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against",
            against.to_str().expect("utf-8"),
            "--color",
            "never",
            "--fail-on",
            "destructive",
        ],
    );
    let stdout = text(&out.stdout);
    out.code(0);
    assert!(
        stdout.ends_with("3 added, 0 removed, 11 changed, 1 unchanged\n"),
        "{stdout}"
    );
    // The public Peer's Service is the operator's; the private one's loses swarm-udp.
    out.stdout_lacks("Service ipfs/bare-peer")
        .stdout_lacks("refused")
        .stdout_lacks("destructive");
    // The runtime fixes, by list entry: environment variables set (or, for IPFS_LOGGING,
    // replaced), and the cluster ports that nothing listens on; and the liveness probe.
    const RUNTIME_ENV: &[&str] = &[
        "KOTAL_PRIVATE_SWARM",
        "KOTAL_RESOURCE_MANAGER_MEMORY",
        "KOTAL_STORAGE_MAX",
        "KOTAL_STORAGE_GC_WATERMARK",
        "GOMEMLIMIT",
        "LIBP2P_FORCE_PNET",
        "LIBP2P_TCP_MUX",
        "CLUSTER_CRDT_TRUSTEDPEERS",
        "CLUSTER_IPFSHTTP_NODEMULTIADDRESS",
        "CLUSTER_IPFSPROXY_LISTENMULTIADDRESS",
        "CLUSTER_IPFSPROXY_NODEMULTIADDRESS",
        "CLUSTER_METRICS_ENABLESTATS",
        "CLUSTER_METRICS_PROMETHEUSENDPOINT",
        "CLUSTER_PEERNAME",
        "CLUSTER_RESTAPI_HTTPLISTENMULTIADDRESS",
        "CLUSTER_SECRET",
        "IPFS_CLUSTER_LOG_LEVEL",
        "IPFS_LOGGING",
    ];
    const REMOVED_PORTS: &[&str] = &[
        "- name: api",
        "- name: swarm-udp",
        "- name: tracing",
        "- containerPort: 4001",
        "- containerPort: 5001",
        "- containerPort: 6831",
        "- containerPort: 9096",
    ];
    // Each changed object, and every changed line of it, is one of the deliberate ones.
    let mut entry = String::new();
    // Whether the changed lines since the last unchanged one belong to a runtime-fix entry.
    let mut in_fix = false;
    let lines: Vec<&str> = stdout.lines().collect();
    for (at, line) in lines.iter().copied().enumerate() {
        if let Some(key) = line.strip_prefix("~ ").or_else(|| line.strip_prefix("+ ")) {
            entry = key.to_string();
            assert!(
                [
                    "ConfigMap ",
                    "PersistentVolumeClaim ",
                    "StatefulSet ",
                    "SealedSecret ",
                    "Service ipfs/cluster-peer",
                    "Service ipfs/peer-sample"
                ]
                .iter()
                .any(|k| key.starts_with(k)),
                "{key}"
            );
            continue;
        }
        let Some(changed) = line
            .strip_prefix("    +")
            .or_else(|| line.strip_prefix("    -"))
            .filter(|l| !l.starts_with("++") && !l.starts_with("--"))
        else {
            in_fix = false;
            continue;
        };
        let item = changed.trim_start();
        if item.starts_with("- ") {
            in_fix = item
                .strip_prefix("- name: ")
                .is_some_and(|name| RUNTIME_ENV.contains(&name))
                || line.starts_with("    -") && REMOVED_PORTS.contains(&item);
        }
        // A removed port's last line, which the diff may align with the entry before it:
        // the removed entry that follows is the runtime fix.
        if line.starts_with("    -")
            && item.starts_with("protocol: ")
            && lines.get(at + 1).is_some_and(|next| {
                next.starts_with("    -")
                    && REMOVED_PORTS.contains(&next.trim_start_matches("    -").trim_start())
            })
        {
            in_fix = true;
        }
        // The ClusterPeer daemon's liveness probe, added whole (a runtime fix: it restarts a
        // raft joiner hung after its failed join).
        if line.starts_with("    +") && item == "livenessProbe:" {
            in_fix = true;
        }
        let deliberate = if in_fix {
            true
        } else if entry.starts_with("ConfigMap") {
            // The scripts: kotalc's own, whole.
            true
        } else if entry.starts_with("PersistentVolumeClaim") {
            [
                "  annotations:",
                "argocd.argoproj.io/sync-options",
                "kustomize.toolkit.fluxcd.io/prune",
            ]
            .iter()
            .any(|d| changed.contains(d))
        } else {
            // The membership labels that other resources' NetworkPolicies select peers by,
            // on every member's pods whatever its own policy.
            [
                "      annotations:",
                "kotalc.io/config-sha256",
                "ipfs.kotal.io/cluster: ",
                "ipfs.kotal.io/swarm: ",
            ]
            .iter()
            .any(|d| changed.contains(d))
        };
        assert!(deliberate, "{entry}: {changed}");
    }
    assert_eq!(
        stdout
            .matches("rolls pods: StatefulSet.spec.template")
            .count(),
        3
    );
}

/// Changes the operator's webhook or the API server refuse: reported with their field and
/// why, failing `--fail-on destructive` unless the resource names them in
/// `kotalc.io/allow-change`.
#[test]
fn refused_changes_fail_ci_unless_the_resource_allows_them() {
    let dir = scratch("import-refused");
    let inputs = dir.join("ipfs");
    let out = run(
        &root(),
        &["import", EXPORT, "-o", inputs.to_str().expect("utf-8")],
    );
    out.code(0);
    let cluster = inputs.join("ipfs/clusterpeer-cluster-peer.yaml");
    let peer = inputs.join("ipfs/peer-peer-sample.yaml");
    let original = fs::read_to_string(&cluster).expect("read");
    fs::write(
        &cluster,
        original.replace("  peerEndpoint:", "  consensus: raft\n  peerEndpoint:"),
    )
    .expect("write");
    let peer_text = fs::read_to_string(&peer).expect("read");
    fs::write(
        &peer,
        peer_text
            .replace(
                "swarmKeySecretName: my-swarm-key",
                "swarmKeySecretName: other-key",
            )
            .replace(
                "memory: 1Gi",
                "memory: 1Gi\n    storage: 5Gi\n    storageClass: fast",
            )
            .replace("spec:\n", "spec:\n  initProfiles: [server]\n"),
    )
    .expect("write");
    let against = root().join("tests/data/operator");
    let diff = |args: &[&str]| {
        let mut all = vec![
            "diff",
            "ipfs",
            "--against",
            against.to_str().expect("utf-8"),
            "--color",
            "never",
        ];
        all.extend_from_slice(args);
        run(&dir, &all)
    };
    let out = diff(&["--fail-on", "destructive"]);
    out.code(1);
    let stdout = text(&out.stdout);
    for expected in [
        "! ClusterPeer ipfs/cluster-peer",
        "refused: spec.consensus: spec.consensus changes from \"crdt\" to \"raft\": the \
         operator's webhook refuses it",
        "! Peer ipfs/peer-sample",
        "refused: spec.swarmKeySecretName:",
        "refused: spec.initProfiles: spec.initProfiles changes from \"default-datastore\" to \
         \"server\"",
        "refused: PersistentVolumeClaim.spec.resources.requests.storage: storage shrinks from \
         10Gi to 5Gi",
        "refused: PersistentVolumeClaim.spec.storageClassName:",
        "5 change(s) refused or destructive",
    ] {
        assert!(stdout.contains(expected), "{expected} not in\n{stdout}");
    }
    // Without --fail-on (or --exit-code) a diff is a report, not a failure.
    diff(&[]).code(0);

    // Allowing some: still failing on the rest; allowing all: passing.
    let annotate = |fields: &str| {
        let text = fs::read_to_string(&peer).expect("read");
        let start = text.find("spec:").expect("spec");
        let head = text[..start]
            .split("  annotations:")
            .next()
            .expect("head")
            .to_string();
        fs::write(
            &peer,
            format!(
                "{head}  annotations:\n    kotalc.io/allow-change: {fields}\n{}",
                &text[start..]
            ),
        )
        .expect("write");
    };
    annotate("spec.swarmKeySecretName, spec.initProfiles");
    fs::write(&cluster, &original).expect("write");
    let out = diff(&["--fail-on", "destructive"]);
    out.code(1)
        .stdout_has("(allowed by kotalc.io/allow-change)")
        .stdout_has("2 change(s) refused or destructive");
    annotate(
        "spec.swarmKeySecretName,spec.initProfiles,\
         PersistentVolumeClaim.spec.resources.requests.storage,\
         PersistentVolumeClaim.spec.storageClassName",
    );
    let out = diff(&["--fail-on", "destructive"]);
    out.code(0);
    // --exit-code still fails on any difference.
    diff(&["--exit-code"]).code(1);

    // A misspelt field is refused where it is written, like every kotalc.io annotation.
    annotate("spec.swarmKeySecretNam");
    let out = diff(&[]);
    out.code(1)
        .stderr_has("error[invalid-annotation]")
        .stderr_has("did you mean \"spec.swarmKeySecretName\"?");
}

/// `--against-ref` compares the resources at the revision with the working tree's, so a
/// refused spec change shows before it is merged.
#[test]
fn a_refused_change_since_a_git_revision_is_reported() {
    let dir = scratch("import-refused-ref");
    let git = |args: &[&str]| {
        let out = crate::common::git(&dir)
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    };
    git(&["init", "-q", "-b", "main"]);
    let out = run(
        &root(),
        &[
            "import",
            EXPORT,
            "-o",
            dir.join("ipfs").to_str().expect("utf-8"),
        ],
    );
    out.code(0);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "imported"]);
    let cluster = dir.join("ipfs/ipfs/clusterpeer-cluster-peer.yaml");
    let original = fs::read_to_string(&cluster).expect("read");
    fs::write(
        &cluster,
        original.replace(
            "privateKeySecretName: my-cluster-privatekey",
            "privateKeySecretName: new-key",
        ),
    )
    .expect("write");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against-ref",
            "HEAD",
            "--color",
            "never",
            "--fail-on",
            "destructive",
        ],
    );
    out.code(1).stdout_has(
        "refused: spec.privateKeySecretName: spec.privateKeySecretName changes \
                         from \"my-cluster-privatekey\" to \"new-key\"",
    );

    // A removed resource loses its claim: destructive, unless the revision it is removed
    // from allowed it.
    fs::write(&cluster, &original).expect("write");
    let bare = dir.join("ipfs/ipfs/peer-bare-peer.yaml");
    let bare_text = fs::read_to_string(&bare).expect("read");
    fs::remove_file(&bare).expect("rm");
    let removed = || {
        run(
            &dir,
            &[
                "diff",
                "ipfs",
                "--against-ref",
                "HEAD",
                "--color",
                "never",
                "--fail-on",
                "destructive",
            ],
        )
    };
    let out = removed();
    out.code(1).stdout_has(
        "destructive: PersistentVolumeClaim: the PersistentVolumeClaim is no longer rendered",
    );
    fs::write(
        &bare,
        bare_text.replace(
            "  annotations:\n",
            "  annotations:\n    kotalc.io/allow-change: PersistentVolumeClaim\n",
        ),
    )
    .expect("write");
    git(&["commit", "-q", "-am", "allow removing bare-peer"]);
    fs::remove_file(&bare).expect("rm");
    let out = removed();
    out.code(0)
        .stdout_has("(allowed by kotalc.io/allow-change)");
}

/// Every field whose change is refused (by the operator's webhook) or recreates objects
/// (because of what is rendered from it) is marked immutable, with its reason.
#[test]
fn explain_marks_every_immutable_field() {
    for (target, why) in [
        (
            "peers.spec.swarmKeySecretName",
            "update webhook refuses a change",
        ),
        ("peers.spec.initProfiles", "update webhook refuses a change"),
        (
            "clusterpeers.spec.consensus",
            "update webhook refuses a change",
        ),
        ("clusterpeers.spec.id", "update webhook refuses a change"),
        (
            "clusterpeers.spec.privateKeySecretName",
            "update webhook refuses a change",
        ),
        (
            "peers.spec.resources.storageClass",
            "the claim must be recreated",
        ),
        ("peers.metadata.name", "new, empty data volume"),
        ("peers.metadata.namespace", "new, empty data volume"),
    ] {
        let out = run(&root(), &["explain", target]);
        out.stdout_has("IMMUTABLE:").stdout_has(why);
    }
    let tree = text(&run(&root(), &["explain", "clusterpeers", "--recursive"]).stdout);
    for line in ["consensus\t<string> -immutable-", "image\t<string>\n"] {
        assert!(tree.contains(line), "{line:?} in\n{tree}");
    }
    // Every field kotalc.io/allow-change names for a resource is one explain marks.
    for field in kotalc::model::annotations::CHANGE_FIELDS
        .iter()
        .filter(|f| f.starts_with("spec."))
    {
        let kind = if ["spec.swarmKeySecretName", "spec.initProfiles"].contains(field) {
            "peers"
        } else {
            "clusterpeers"
        };
        let out = text(&run(&root(), &["explain", &format!("{kind}.{field}")]).stdout);
        assert!(out.contains("IMMUTABLE:"), "{field}");
    }
}

/// An export is input like any other: deep nesting, links out of the tree and plaintext in
/// JSON are handled as the attack they may be.
#[test]
fn hostile_exports_are_refused_without_harm() {
    // Lists nested past the depth limit: an error, not a stack overflow.
    let mut deep = String::from("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
    for _ in 0..500 {
        deep.push_str("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
    }
    for _ in 0..501 {
        deep.push_str("]}");
    }
    let out = Kotalc::new()
        .current_dir(root())
        .args(["import"])
        .stdin(deep.as_bytes())
        .run();
    out.code(1).stderr_has("error[input-limit]");

    // A link in the export directory is not followed out of it.
    let dir = scratch("import-hostile");
    fs::write(
        dir.join("peer.json"),
        r#"{"apiVersion":"ipfs.kotal.io/v1alpha1","kind":"Peer","metadata":{"name":"a","namespace":"ipfs"}}"#,
    )
    .expect("write");
    let secret_file = dir.join("../import-hostile-secret.json");
    fs::write(
        &secret_file,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"k":"hunter2-never-shown"}}"#,
    )
    .expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret_file, dir.join("linked.json")).expect("symlink");
    let out = run(&root(), &["import", dir.to_str().expect("utf-8")]);
    out.code(0).stdout_has("name: a");
    // Named directly, the plaintext Secret is refused and its value never printed.
    let out = run(&root(), &["import", secret_file.to_str().expect("utf-8")]);
    out.code(1);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("error[plaintext-secret]"), "{all}");
    assert!(all.contains("import-hostile-secret.json:1:27"), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
    // The same in a build, in every format: a one-line Secret's values are never shown.
    let flow = dir.join("../import-hostile-flow");
    fs::create_dir_all(&flow).expect("mkdir");
    fs::write(
        flow.join("secret.yaml"),
        "{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {k: aHVudGVyMi1uZXZlcg==}}\n",
    )
    .expect("write");
    for format in ["human", "json", "github"] {
        let out = run(&flow, &["build", ".", "--format", format]);
        out.code(1)
            .stderr_has("plaintext-secret")
            .stderr_lacks("aHVudGVyMi1uZXZlcg");
    }
}
