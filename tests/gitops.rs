//! The GitOps paths: `build --check` for CI, `diff` against a tree or a git revision.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{Kotalc, Run, run, scratch, text};

const PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: Peer
metadata:
  name: gateway
  namespace: ipfs
spec:
  gateway: true
  resources:
    storage: 50Gi
    storageClass: fast
";

const CLUSTER: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: Peer
metadata:
  name: archive
  namespace: ipfs
spec: {}
";

fn inputs(dir: &Path) {
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(dir.join("ipfs/gateway.yaml"), PEER).expect("write");
    fs::write(dir.join("ipfs/archive.yaml"), CLUSTER).expect("write");
}

#[test]
fn check_passes_only_on_an_exact_tree() {
    let dir = scratch("gitops-check");
    inputs(&dir);
    let built = run(&dir, &["build", "ipfs", "-o", "rendered"]);
    built.success();
    let check = |what: &str| {
        let out = run(&dir, &["build", "ipfs", "-o", "rendered", "--check"]);
        (out.status.code(), text(&out.stdout), what.to_string())
    };
    let (code, _, _) = check("fresh");
    assert_eq!(code, Some(0), "an up-to-date tree passes");

    // A changed object: exit 1 with the difference, and nothing written.
    fs::write(
        dir.join("ipfs/gateway.yaml"),
        PEER.replace("gateway: true", "gateway: false"),
    )
    .expect("write");
    let before =
        fs::read_to_string(dir.join("rendered/ipfs/statefulset-gateway.yaml")).expect("read");
    let (code, stdout, _) = check("changed");
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("~ ipfs/statefulset-gateway.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-          value: 0.0.0.0") || stdout.contains("IPFS_GATEWAY_HOST"),
        "{stdout}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("rendered/ipfs/statefulset-gateway.yaml")).expect("read"),
        before
    );
    fs::write(dir.join("ipfs/gateway.yaml"), PEER).expect("write");
    assert_eq!(check("restored").0, Some(0));

    // A file that should not be there.
    fs::write(dir.join("rendered/ipfs/extra.yaml"), "kind: ConfigMap\n").expect("write");
    let (code, stdout, _) = check("extra");
    assert_eq!(code, Some(1));
    assert!(stdout.contains("- ipfs/extra.yaml"), "{stdout}");
    fs::remove_file(dir.join("rendered/ipfs/extra.yaml")).expect("rm");

    // A file that is missing.
    fs::remove_file(dir.join("rendered/ipfs/service-archive.yaml")).expect("rm");
    let (code, stdout, _) = check("missing");
    assert_eq!(code, Some(1));
    assert!(stdout.contains("+ ipfs/service-archive.yaml"), "{stdout}");
}

#[test]
fn diff_against_a_directory_warns_about_destructive_changes() {
    let dir = scratch("gitops-diff-dir");
    inputs(&dir);
    assert!(
        run(&dir, &["build", "ipfs", "-o", "rendered"])
            .status
            .success()
    );
    // The tree as a cluster holds it, with a selector and an access mode of its own.
    let sts = dir.join("rendered/ipfs/statefulset-gateway.yaml");
    let text_before = fs::read_to_string(&sts).expect("read");
    fs::write(
        &sts,
        text_before.replacen(
            "      kotal.io/protocol: ipfs\n",
            "      kotal.io/protocol: ipfs\n      tier: old\n",
            1,
        ),
    )
    .expect("write");
    let pvc = dir.join("rendered/ipfs/persistentvolumeclaim-gateway.yaml");
    let pvc_before = fs::read_to_string(&pvc).expect("read");
    fs::write(&pvc, pvc_before.replace("ReadWriteOnce", "ReadWriteMany")).expect("write");

    fs::write(
        dir.join("ipfs/gateway.yaml"),
        PEER.replace("50Gi", "20Gi").replace("fast", "slow"),
    )
    .expect("write");
    fs::remove_file(dir.join("ipfs/archive.yaml")).expect("rm");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against",
            "rendered",
            "--exit-code",
            "--color",
            "never",
        ],
    );
    out.code(1);
    let stdout = text(&out.stdout);
    for expected in [
        "~ StatefulSet ipfs/gateway",
        "selector is immutable",
        "~ PersistentVolumeClaim ipfs/gateway",
        "storage shrinks from 50Gi to 20Gi",
        "storageClassName is immutable",
        "accessModes are immutable",
        "- PersistentVolumeClaim ipfs/archive",
        "its data is lost",
        "- StatefulSet ipfs/archive",
        "changed,",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains('\u{1b}'), "no colour with --color never");
    let coloured = run(
        &dir,
        &["diff", "ipfs", "--against", "rendered", "--color", "always"],
    );
    // Without --exit-code a diff is a success.
    coloured.stdout_has("\u{1b}[31m- ").code(0);
}

fn git(dir: &Path, args: &[&str]) {
    let out = Run::of(crate::common::git(dir).args(args), "git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// A repository whose one commit, on `main`, holds the two Peers of [`inputs`].
fn committed_inputs(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    git(&dir, &["init", "-q", "-b", "main"]);
    inputs(&dir);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "peers"]);
    dir
}

/// At a revision, only the objects that differ are rendered again and kept: a Peer added in
/// the working tree is shown whole, and the objects left as they were are only counted.
#[test]
fn diff_against_a_git_revision_shows_an_added_resource_whole() {
    let dir = committed_inputs("gitops-diff-git-added");
    fs::write(
        dir.join("ipfs/second.yaml"),
        PEER.replace("name: gateway", "name: second"),
    )
    .expect("write");
    let out = run(
        &dir.join("ipfs"),
        &["diff", ".", "--against-ref", "HEAD", "--color", "never"],
    );
    out.success()
        .stdout_has("+ StatefulSet ipfs/second")
        .stdout_has("+ PersistentVolumeClaim ipfs/second")
        .stdout_lacks("ipfs/gateway\n")
        .stdout_has(" removed, 0 changed, ");
}

#[test]
fn diff_against_a_git_revision_reads_it_without_checking_out() {
    let dir = committed_inputs("gitops-diff-git");
    fs::write(dir.join("ipfs/gateway.yaml"), PEER.replace("50Gi", "100Gi")).expect("write");
    fs::remove_file(dir.join("ipfs/archive.yaml")).expect("rm");
    let out = run(
        &dir.join("ipfs"),
        &["diff", ".", "--against-ref", "HEAD", "--color", "never"],
    );
    out.success()
        .stdout_has("~ PersistentVolumeClaim ipfs/gateway")
        .stdout_has("+      storage: 100Gi")
        .stdout_has("- PersistentVolumeClaim ipfs/archive")
        .stdout_has("its data is lost");
    // The removed resource's NetworkPolicy goes like its other objects.
    out.stdout_has("- NetworkPolicy ipfs/archive");
    // The grown claim's StorageMax changes with it, in the StatefulSet (90% of the claim).
    out.stdout_has("~ StatefulSet ipfs/gateway")
        .stdout_has("+          value: 90GiB")
        .stdout_has("0 added, 5 removed, 2 changed, 3 unchanged\n");
    // The working tree is as it was: nothing checked out.
    assert!(!dir.join("ipfs/archive.yaml").exists());
    assert!(
        fs::read_to_string(dir.join("ipfs/gateway.yaml"))
            .expect("read")
            .contains("100Gi")
    );
    // An unknown revision is a usage error, said before any warning and in kotalc's words.
    let unknown = run(&dir, &["diff", "ipfs", "--against-ref", "no-such-ref"]);
    unknown.code(2);
    let stderr = text(&unknown.stderr);
    assert!(
        stderr.starts_with("error: --against-ref \"no-such-ref\": no such revision"),
        "{stderr}"
    );
    unknown.stderr_lacks("fatal:").stderr_lacks("warning");
}

/// kubo's 15 -> 16 repository migration is external: an image change from before v0.30 to
/// v0.30 or later is called out by `diff` (not blocking: nothing is refused or lost), and
/// `build` warns on a Peer whose image needs repository 16, which is all it can know.
#[test]
fn an_image_change_across_repository_16_is_called_out() {
    let dir = scratch("gitops-kubo-migration");
    inputs(&dir);
    assert!(
        run(&dir, &["build", "ipfs", "-o", "rendered"])
            .status
            .success()
    );
    let diff = |dir: &Path| {
        let out = run(
            dir,
            &[
                "diff",
                "ipfs",
                "--against",
                "rendered",
                "--color",
                "never",
                "--fail-on",
                "destructive",
            ],
        );
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    for (image, crosses) in [
        ("kotalco/kubo:v0.29.0", false),
        ("ipfs/kubo:v0.38.2", true),
        ("ipfs/kubo:latest", false),
    ] {
        fs::write(
            dir.join("ipfs/gateway.yaml"),
            PEER.replace("spec:\n", &format!("spec:\n  image: {image}\n")),
        )
        .expect("write");
        let (code, stdout, stderr) = diff(&dir);
        assert_eq!(code, Some(0), "{image}: a warning does not fail: {stdout}");
        assert_eq!(
            stdout.contains(
                "warning: StatefulSet.spec.template.spec.containers[peer].image: kubo changes \
                 from kotalco/kubo:v0.28.0 to ipfs/kubo:v0.38.2, across repository version 16"
            ),
            crosses,
            "{image}: {stdout}"
        );
        assert_eq!(
            stderr.contains("warning[kubo-repo-migration]"),
            crosses,
            "{image}: {stderr}"
        );
    }
    // Between two releases past it, nothing to say.
    fs::write(
        dir.join("ipfs/gateway.yaml"),
        PEER.replace("spec:\n", "spec:\n  image: ipfs/kubo:v0.38.2\n")
            .replace(
                "  namespace: ipfs\n",
                "  namespace: ipfs\n  annotations:\n    kotalc.io/allow: kubo-repo-migration\n",
            ),
    )
    .expect("write");
    let built = run(
        &dir,
        &["build", "ipfs", "-o", "rendered", "--deny-warnings"],
    );
    built.success();
    fs::write(
        dir.join("ipfs/gateway.yaml"),
        fs::read_to_string(dir.join("ipfs/gateway.yaml"))
            .expect("read")
            .replace("v0.38.2", "v0.43.1"),
    )
    .expect("write");
    let (code, stdout, _) = diff(&dir);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("~ StatefulSet ipfs/gateway"), "{stdout}");
    assert!(!stdout.contains("repository version 16"), "{stdout}");
}

const CLUSTER_PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: ClusterPeer
metadata:
  name: pinning
  namespace: ipfs
spec:
  consensus: crdt
  clusterSecretName: cluster-secret
  peerEndpoint: /dns4/gateway/tcp/5001
";

/// Against a rendered tree, which holds no ClusterPeer, the webhook's refusal of a consensus
/// change is read from the StatefulSet; stdout's and stderr's counts of changed objects agree.
#[test]
fn diff_against_a_tree_sees_a_consensus_change_and_counts_objects_once() {
    let dir = scratch("gitops-diff-consensus");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(dir.join("ipfs/pinning.yaml"), CLUSTER_PEER).expect("write");
    let args = ["--secret-mode", "none"];
    let built = run(&dir, &["build", "ipfs", "-o", "rendered", args[0], args[1]]);
    built.success();
    fs::write(
        dir.join("ipfs/pinning.yaml"),
        CLUSTER_PEER.replace("crdt", "raft"),
    )
    .expect("write");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against",
            "rendered",
            "--color",
            "never",
            args[0],
            args[1],
        ],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .contains("refused: spec.consensus: spec.consensus changes from \"crdt\" to \"raft\""),
        "{stdout}"
    );
    let changed: usize = stdout
        .lines()
        .find(|l| l.contains(" added, "))
        .and_then(|l| l.split(" changed").next())
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the summary line");
    let stderr = text(&out.stderr);
    let said = if changed == 1 {
        "1 object changes".to_string()
    } else {
        format!("{changed} objects change")
    };
    assert!(stderr.contains(&said), "{said} not in {stderr}\n{stdout}");
}

/// `--against -` reads standard input, and `--against <(kubectl get ...)` a pipe; both
/// bounded like every input.
#[test]
fn diff_against_standard_input_and_a_pipe() {
    let dir = scratch("gitops-diff-stdin");
    inputs(&dir);
    let built = run(&dir, &["build", "ipfs"]);
    built.success();
    let args = ["diff", "ipfs", "--against", "-", "--exit-code"];
    let out = Kotalc::new()
        .current_dir(&dir)
        .args(args)
        .stdin(&built.stdout)
        .run();
    out.code(0).stdout_has("0 added, 0 removed, 0 changed");
    fs::write(dir.join("rendered.yaml"), &built.stdout).expect("write");
    let kotalc = Kotalc::bin().display();
    let piped = Run::of(
        Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{kotalc}' diff ipfs --against <(cat rendered.yaml) --exit-code"
            ))
            .current_dir(&dir),
        "bash runs",
    );
    piped.code(0);
    // More than any input may be is refused, not read to the end.
    let out = Run::of(
        Command::new("bash")
            .arg("-c")
            .arg(format!(
                "yes | '{kotalc}' diff ipfs --against - --exit-code"
            ))
            .current_dir(&dir),
        "bash runs",
    );
    out.code(1).stderr_has("larger than the limit");
}

/// A repository with `files` committed, for `diff --against-ref HEAD`.
fn committed(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = scratch(name);
    git(&dir, &["init", "-q", "-b", "main"]);
    for (path, content) in files {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, content).expect("write");
    }
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "inputs"]);
    dir
}

fn diff_head(dir: &Path) -> Run {
    run(
        dir,
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
}

/// git quotes a name that is not ASCII unless asked for NUL-separated output: a quoted name
/// would not be read, and a change in it would pass unseen.
#[test]
fn a_non_ascii_file_name_is_read_at_a_revision() {
    let dir = committed("gitops-ref-non-ascii", &[("ipfs/pér.yaml", PEER)]);
    fs::write(dir.join("ipfs/pér.yaml"), PEER.replace("50Gi", "10Gi")).expect("write");
    let out = diff_head(&dir);
    out.code(1)
        .stdout_has("~ PersistentVolumeClaim ipfs/gateway")
        .stdout_has("refused: PersistentVolumeClaim.spec.resources.requests.storage");
}

/// The input limit holds for a file at a revision as on disk: a blob over it is refused by
/// its size, before it is read.
#[test]
fn a_blob_over_the_input_limit_is_refused_at_a_revision() {
    let mut big = String::from(PEER);
    let line = format!("# {}\n", "x".repeat(1022));
    while big.len() <= 33 << 20 {
        big.push_str(&line);
    }
    let dir = committed("gitops-ref-large", &[("ipfs/big.yaml", &big)]);
    fs::write(dir.join("ipfs/big.yaml"), PEER).expect("write");
    let out = diff_head(&dir);
    out.code(1)
        .stderr_has("ipfs/big.yaml@HEAD")
        .stderr_has("larger than the input limit of 32 MiB")
        .stderr_has("the inputs at HEAD do not build");
}

/// A committed link is skipped at a revision as `build` skips it on disk: its target (here a
/// file of the machine) is never read.
#[test]
fn a_committed_link_is_skipped_at_a_revision_as_on_disk() {
    let dir = committed("gitops-ref-link", &[("ipfs/gateway.yaml", PEER)]);
    std::os::unix::fs::symlink("/etc/hostname", dir.join("ipfs/l.yaml")).expect("symlink");
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "a link"]);
    let out = diff_head(&dir);
    out.code(0)
        .stdout_has("0 added, 0 removed, 0 changed, 5 unchanged\n");
}

/// A user whose inputs held no resource at HEAD (a `peer.json`, a hidden directory, a tree
/// kotalc rendered) diffs against it: the error names what HEAD held as skipped, as `build`
/// names it on disk, and nothing of the working tree.
#[test]
fn the_files_skipped_at_a_revision_are_the_revisions() {
    let dir = committed(
        "gitops-ref-skipped",
        &[
            ("ipfs/peer.json", "{}\n"),
            ("ipfs/.cache/peer.yaml", PEER),
            ("ipfs/out/.kotalc-files", ""),
            (
                "ipfs/out/ipfs/statefulset-gateway.yaml",
                "kind: StatefulSet\n",
            ),
        ],
    );
    let skipped = |stderr: &str| {
        stderr
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with("skipped "))
            .unwrap_or_else(|| panic!("no skipped files named:\n{stderr}"))
            .split(" (only")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let on_disk = run(&dir, &["build", "ipfs"]);
    on_disk.code(1);
    assert_eq!(
        skipped(&text(&on_disk.stderr)),
        "skipped ipfs/.cache/, ipfs/out/ (kotalc's output), ipfs/peer.json"
    );

    fs::remove_file(dir.join("ipfs/peer.json")).expect("remove");
    fs::remove_dir_all(dir.join("ipfs/.cache")).expect("remove");
    fs::remove_dir_all(dir.join("ipfs/out")).expect("remove");
    fs::write(dir.join("ipfs/gateway.yaml"), PEER).expect("write");
    fs::write(dir.join("ipfs/notes.txt"), "to do\n").expect("write");
    let out = diff_head(&dir);
    let stderr = text(&out.stderr);
    out.code(1)
        .stderr_has("the inputs at HEAD do not build")
        .stderr_has("no *.yaml or *.yml file was read");
    assert_eq!(
        skipped(&stderr),
        "skipped ipfs/.cache/@HEAD, ipfs/out/@HEAD (kotalc's output), ipfs/peer.json@HEAD"
    );
    out.stderr_lacks("notes.txt");
}

/// The old side's resources are compared as they render: a Swarm's nodes as Peers. A node
/// migrated to a Peer whose spec the webhook refuses is reported.
#[test]
fn a_refused_change_to_a_peer_made_from_a_swarm_is_reported() {
    let swarm = fs::read_to_string(
        crate::common::root().join("fixtures/sample-swarm/input/ipfs_v1alpha1_swarm.yaml"),
    )
    .expect("fixture")
    .replace(
        "  name: sample-swarm\n",
        "  name: sample-swarm\n  namespace: ipfs\n",
    );
    let dir = committed("gitops-ref-swarm", &[("ipfs/swarm.yaml", &swarm)]);
    let (kept, node3) = swarm.split_at(swarm.find("    - name: node-3").expect("node-3"));
    assert!(node3.contains("storage: \"30Gi\""));
    fs::write(dir.join("ipfs/swarm.yaml"), kept).expect("write");
    fs::write(
        dir.join("ipfs/node-3.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: sample-swarm-node-3\n  \
         namespace: ipfs\nspec:\n  initProfiles: [flatfs]\n  resources:\n    storage: 30Gi\n",
    )
    .expect("write");
    let out = diff_head(&dir);
    out.stdout_has("! Peer ipfs/sample-swarm-node-3")
        .stdout_has("refused: spec.initProfiles")
        .code(1);
}

/// Against a render, a claim that had no class and gains one is accepted only if the cluster
/// left it classless (no default StorageClass when it was created): "needs", not "refused".
#[test]
fn a_claim_gaining_a_class_needs_it_classless() {
    let dir = scratch("gitops-class-added");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(dir.join("ipfs/archive.yaml"), CLUSTER).expect("write");
    let built = run(&dir, &["build", "ipfs", "-o", "rendered"]);
    built.success();
    fs::write(
        dir.join("ipfs/archive.yaml"),
        CLUSTER.replace("spec: {}", "spec:\n  resources:\n    storageClass: fast"),
    )
    .expect("write");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against",
            "rendered",
            "--fail-on",
            "destructive",
            "--color",
            "never",
        ],
    );
    out.code(0)
        .stdout_has("needs: PersistentVolumeClaim.spec.storageClassName: the claim gains")
        .stdout_lacks("refused");
}

/// Of two files in a tree that hold one object, the later (bytewise by path) is compared, as
/// a file read later replaces what an earlier one said: an edited copy after the file
/// `build -o` wrote shows the object changed (the working tree's side rendered again to show
/// it), and one before it changes nothing.
#[test]
fn diff_against_a_tree_compares_the_last_file_that_holds_an_object() {
    let dir = scratch("gitops-diff-last-file");
    inputs(&dir);
    run(&dir, &["build", "ipfs", "-o", "rendered"]).success();
    let written = fs::read_to_string(dir.join("rendered/ipfs/configmap-gateway.yaml"))
        .expect("read the ConfigMap");
    let mut edited: serde_json::Value = serde_saphyr::from_str(&written).expect("YAML");
    edited["data"]["extra"] = "an edit".into();
    let edited = serde_saphyr::to_string(&edited).expect("YAML");
    let diff = || {
        Kotalc::new()
            .current_dir(&dir)
            .args(["diff", "ipfs", "--against", "rendered", "--exit-code"])
            .args(["--color", "never"])
            .run()
    };
    fs::write(dir.join("rendered/zz-copy.yaml"), &edited).expect("write");
    diff()
        .code(1)
        .stdout_has("0 added, 0 removed, 1 changed")
        .stdout_has("ConfigMap ipfs/gateway")
        .stdout_has("an edit");
    fs::remove_file(dir.join("rendered/zz-copy.yaml")).expect("remove");
    fs::write(dir.join("rendered/a-copy.yaml"), &edited).expect("write");
    diff().code(0).stdout_has("0 added, 0 removed, 0 changed");
}
