//! Inputs as a pull request's author shapes them: an input root that is a link out of the
//! repository, an output directory reached through a link. Each test is the attack, then
//! what must hold.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::common::{run, run_with_stdin, scratch, text};

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
    let out = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .output()
        .expect("git runs (Debian package git)");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Refused: non-zero, an `input-outside` error naming the path, and nothing of outside
/// printed.
#[track_caller]
fn refused(out: &std::process::Output, shown: &str) {
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("TOPSECRET") && !stderr.contains("TOPSECRET"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("error[input-outside]") && stderr.contains(&format!("--> {shown}")),
        "{stderr}"
    );
    assert!(stderr.contains("resolves to"), "{stderr}");
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
        assert_eq!(out.status.code(), Some(0), "{path}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("kind: StatefulSet"));
    }
    let out = run_with_stdin(&repo, &["build", "-"], PEER.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn an_output_directory_through_a_link_out_of_the_repository_is_refused() {
    let top = scratch("link-output");
    let repo = layout(&top);
    git_init(&repo);
    symlink("../elsewhere", repo.join("out")).expect("symlink");
    let out = run(&repo, &["build", "real", "-o", "out/rendered"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error[input-outside]") && stderr.contains("the output directory"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_dir(top.join("elsewhere")).expect("ls").count(),
        0,
        "a file was written outside the repository"
    );
    // Inside the work tree, -o writes as ever.
    let out = run(&repo, &["build", "real", "-o", "rendered"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
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
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
}
