//! Inputs as a pull request's author shapes them: an input root that is a link out of the
//! repository, an output directory reached through a link, a plaintext Secret handed to each
//! front end, a `!!binary` value. Each test is the attack, then what must hold.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::common::{Kotalc, Run, run, scratch, text};

const PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: Peer
metadata:
  name: gateway
  namespace: ipfs
spec: {}
";

/// A file outside the repository that no output may show.
const OUTSIDE: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: outside
  namespace: ipfs
data:
  token: TOPSECRET-OUTSIDE
";

fn git_init(dir: &Path) {
    let out = Run::of(
        Command::new("git").args(["init", "-q"]).current_dir(dir),
        "git runs (Debian package git)",
    );
    out.success();
}

/// Refused: non-zero, an `input-outside` error naming the path, and nothing of outside
/// printed.
#[track_caller]
fn refused(out: &Run, shown: &str) {
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    out.stdout_lacks("TOPSECRET")
        .stderr_lacks("TOPSECRET")
        .stderr_has("error[input-outside]")
        .stderr_has(format!("--> {shown}"))
        .stderr_has("resolves to");
}

/// `secrets/` beside the work tree `repo/`, and `repo/real/` holding a Peer.
fn layout(top: &Path) -> std::path::PathBuf {
    let repo = top.join("repo");
    fs::create_dir_all(repo.join("real")).expect("mkdir");
    fs::create_dir_all(top.join("secrets")).expect("mkdir");
    fs::create_dir_all(top.join("elsewhere")).expect("mkdir");
    fs::write(top.join("secrets/cm.yaml"), OUTSIDE).expect("write");
    fs::write(repo.join("real/peer.yaml"), PEER).expect("write");
    repo
}

#[test]
fn an_input_root_linked_out_of_the_repository_is_refused() {
    let top = scratch("link-root-repo");
    let repo = layout(&top);
    git_init(&repo);
    symlink("../secrets", repo.join("ipfs")).expect("symlink");
    symlink("../secrets/cm.yaml", repo.join("one.yaml")).expect("symlink");
    for command in ["build", "validate"] {
        refused(&run(&repo, &[command, "ipfs/", "--passthrough"]), "ipfs/");
    }
    refused(
        &run(&repo, &["build", "one.yaml", "--passthrough"]),
        "one.yaml",
    );
    let outside = top.join("secrets");
    let outside = outside.to_str().expect("utf-8");
    refused(&run(&repo, &["build", outside, "--passthrough"]), outside);
    // From a directory below the work tree, its top is still the boundary.
    refused(
        &run(&repo.join("real"), &["build", "../ipfs", "--passthrough"]),
        "../ipfs",
    );
    // What stays: a path inside the work tree, absolute or through a link that stays in it,
    // and standard input.
    symlink("real", repo.join("inside")).expect("symlink");
    let absolute = repo.join("real");
    for path in [absolute.to_str().expect("utf-8"), "inside", "../repo/real"] {
        let out = run(&repo, &["build", path]);
        out.code(0).stdout_has("kind: StatefulSet");
    }
    let out = Kotalc::new()
        .current_dir(&repo)
        .args(["build", "-"])
        .stdin(PEER.as_bytes())
        .run();
    out.code(0);
}

#[test]
fn an_output_directory_through_a_link_out_of_the_repository_is_refused() {
    let top = scratch("link-output");
    let repo = layout(&top);
    git_init(&repo);
    symlink("../elsewhere", repo.join("out")).expect("symlink");
    let out = run(&repo, &["build", "real", "-o", "out/rendered"]);
    assert_ne!(out.status.code(), Some(0));
    out.stderr_has("error[input-outside]")
        .stderr_has("the output directory");
    assert_eq!(
        fs::read_dir(top.join("elsewhere")).expect("ls").count(),
        0,
        "a file was written outside the repository"
    );
    // Inside the work tree, -o writes as ever.
    let out = run(&repo, &["build", "real", "-o", "rendered"]);
    out.code(0);
}

/// Outside any repository, the current directory is the boundary.
#[test]
fn outside_a_repository_the_current_directory_bounds_the_inputs() {
    let top = std::env::temp_dir().join(format!("kotalc-link-root-{}", std::process::id()));
    let _ = fs::remove_dir_all(&top);
    let work = layout(&top);
    symlink("../secrets", work.join("ipfs")).expect("symlink");
    let linked = run(&work, &["build", "ipfs/", "--passthrough"]);
    let plain = run(&work, &["build", "real"]);
    let _ = fs::remove_dir_all(&top);
    refused(&linked, "ipfs/");
    plain.code(0);
}

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: ipfs
stringData:
  password: PLAINTEXT-VALUE
";

/// `build`, the Argo CD plugin, the kustomize legacy plugin and the KRM function refuse a
/// Secret with values alike, and none prints its value.
#[test]
fn a_plaintext_secret_is_refused_by_every_front_end() {
    let dir = scratch("plaintext-front-ends");
    fs::create_dir_all(dir.join("in")).expect("mkdir");
    fs::write(dir.join("in/peer.yaml"), PEER).expect("write");
    fs::write(dir.join("in/secret.yaml"), SECRET).expect("write");
    fs::write(
        dir.join("kotalc.yaml"),
        "apiVersion: kotalc.io/v1alpha1\nkind: KotalcBuild\nmetadata:\n  name: k\nspec:\n  paths: [in]\n",
    )
    .expect("write");
    let refused = |out: &Run, front: &str| {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        out.code(1);
        assert!(all.contains("plaintext-secret"), "{front}: {all}");
        assert!(
            !all.contains("PLAINTEXT-VALUE") || front == "krm",
            "{front}: {all}"
        );
    };
    refused(&run(&dir, &["build", "in"]), "build");
    refused(&run(&dir, &["build", "in", "--passthrough"]), "build");
    refused(&run(&dir, &["build", "in", "--argocd"]), "argocd");
    refused(
        &run(&dir, &["kustomize-plugin", "kotalc.yaml"]),
        "kustomize-plugin",
    );

    let item = |yaml: &str| -> String {
        yaml.lines()
            .enumerate()
            .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
            .collect()
    };
    let list = |items: &[&str]| {
        let mut list =
            String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
        for i in items {
            list.push_str(&item(i));
        }
        list
    };
    let listed = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}",
        item(SECRET)
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    for secret in [SECRET, listed.as_str()] {
        let out = Kotalc::new()
            .current_dir(&dir)
            .args(["krm"])
            .stdin(list(&[PEER, secret]).as_bytes())
            .run();
        refused(&out, "krm");
        let output: serde_json::Value =
            serde_saphyr::from_str(&text(&out.stdout)).expect("a ResourceList");
        let results = output["results"].to_string();
        assert!(
            results.contains("[plaintext-secret]") && !results.contains("PLAINTEXT-VALUE"),
            "{results}"
        );
        assert!(results.contains("\"severity\":\"error\""), "{results}");
    }
    // A Secret without values passes through, as in `build --passthrough`.
    let empty = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: empty\n  namespace: ipfs\n";
    let out = Kotalc::new()
        .current_dir(&dir)
        .args(["krm"])
        .stdin(list(&[PEER, empty]).as_bytes())
        .run();
    out.code(0);
}

/// YAML decodes a `!!binary` value: the reviewer reads base64 where the cluster gets the
/// decoded text. It is a warning, which --deny-warnings makes an error.
#[test]
fn a_binary_value_is_named() {
    let dir = scratch("binary-value");
    fs::write(
        dir.join("peer.yaml"),
        PEER.replace(
            "name: gateway",
            "name: gateway\n  labels:\n    team: !!binary b3Bz",
        ),
    )
    .expect("write");
    let out = run(&dir, &["build", "peer.yaml"]);
    out.code(0)
        .stderr_has("warning[binary-value]")
        .stderr_has("--> peer.yaml:6:20")
        .stdout_has("team: ops");
    let out = run(&dir, &["build", "peer.yaml", "--deny-warnings"]);
    out.code(1);
    let out = run(&dir, &["build", "peer.yaml", "--allow", "binary-value"]);
    out.stderr_lacks("binary-value");
    // The KRM function says it of the items it renders; an item it passes through keeps its
    // text, tag included, and is decoded by no one here.
    let list = |deny: bool| {
        format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n\
             - apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: c}}\n  data:\n    \
             k: !!binary aGVsbG8=\n\
             - apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: p\n    \
             labels:\n      team: !!binary b3Bz\n\
             functionConfig:\n  apiVersion: kotalc.io/v1alpha1\n  kind: KotalcBuild\n  \
             spec:\n    denyWarnings: {deny}\n"
        )
    };
    let out = Kotalc::new()
        .current_dir(&dir)
        .args(["krm"])
        .stdin(list(false).as_bytes())
        .run();
    let stdout = text(&out.stdout);
    out.code(0);
    let output: serde_json::Value = serde_saphyr::from_str(&stdout).expect("a ResourceList");
    let binary: Vec<&serde_json::Value> = output["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("[binary-value]"))
        })
        .collect();
    assert_eq!(binary.len(), 1, "{stdout}");
    assert_eq!(binary[0]["resourceRef"]["kind"], "Peer", "{stdout}");
    out.stdout_has("k: !!binary aGVsbG8=");
    let out = Kotalc::new()
        .current_dir(&dir)
        .args(["krm"])
        .stdin(list(true).as_bytes())
        .run();
    out.code(1);
    // In every format.
    let out = run(&dir, &["build", "peer.yaml", "--format", "json"]);
    out.stderr_has("\"code\":\"binary-value\"");
}
