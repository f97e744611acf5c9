//! The GitOps paths: `build --check` for CI, `diff` against a tree or a git revision.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{run, scratch, text};

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
    assert!(built.status.success(), "{}", text(&built.stderr));
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
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
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
    assert!(text(&coloured.stdout).contains("\u{1b}[31m- "));
    assert_eq!(
        coloured.status.code(),
        Some(0),
        "without --exit-code a diff is success"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=kotalc",
            "-c",
            "user.email=kotalc@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

#[test]
fn diff_against_a_git_revision_reads_it_without_checking_out() {
    let dir = scratch("gitops-diff-git");
    git(&dir, &["init", "-q", "-b", "main"]);
    inputs(&dir);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "peers"]);
    fs::write(dir.join("ipfs/gateway.yaml"), PEER.replace("50Gi", "100Gi")).expect("write");
    fs::remove_file(dir.join("ipfs/archive.yaml")).expect("rm");
    let out = run(
        &dir.join("ipfs"),
        &["diff", ".", "--against-ref", "HEAD", "--color", "never"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("~ PersistentVolumeClaim ipfs/gateway"),
        "{stdout}"
    );
    assert!(stdout.contains("+      storage: 100Gi"), "{stdout}");
    assert!(
        stdout.contains("- PersistentVolumeClaim ipfs/archive"),
        "{stdout}"
    );
    assert!(stdout.contains("its data is lost"), "{stdout}");
    // The removed resource's NetworkPolicy goes like its other objects.
    assert!(stdout.contains("- NetworkPolicy ipfs/archive"), "{stdout}");
    assert!(
        stdout.contains("0 added, 5 removed, 1 changed, 4 unchanged\n"),
        "{stdout}"
    );
    // The working tree is as it was: nothing checked out.
    assert!(!dir.join("ipfs/archive.yaml").exists());
    assert!(
        fs::read_to_string(dir.join("ipfs/gateway.yaml"))
            .expect("read")
            .contains("100Gi")
    );
    // An unknown revision is a usage error, said before any warning and in kotalc's words.
    let unknown = run(&dir, &["diff", "ipfs", "--against-ref", "no-such-ref"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = text(&unknown.stderr);
    assert!(
        stderr.starts_with("error: --against-ref \"no-such-ref\": no such revision"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("fatal:") && !stderr.contains("warning"),
        "{stderr}"
    );
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
    assert!(built.status.success(), "{}", text(&built.stderr));
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
    assert!(built.status.success(), "{}", text(&built.stderr));
    let args = ["diff", "ipfs", "--against", "-", "--exit-code"];
    let out = crate::common::run_with_stdin(&dir, &args, &built.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("0 added, 0 removed, 0 changed"));
    fs::write(dir.join("rendered.yaml"), &built.stdout).expect("write");
    let kotalc = env!("CARGO_BIN_EXE_kotalc");
    let piped = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{kotalc}' diff ipfs --against <(cat rendered.yaml) --exit-code"
        ))
        .current_dir(&dir)
        .output()
        .expect("bash runs");
    assert_eq!(
        piped.status.code(),
        Some(0),
        "{}{}",
        text(&piped.stdout),
        text(&piped.stderr)
    );
    // More than any input may be is refused, not read to the end.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "yes | '{kotalc}' diff ipfs --against - --exit-code"
        ))
        .current_dir(&dir)
        .output()
        .expect("bash runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("larger than the limit"),
        "{}",
        text(&out.stderr)
    );
}
