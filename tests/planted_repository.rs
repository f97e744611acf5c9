//! `diff --against-ref` on a pull request that plants a git repository among its inputs: a
//! bare repository's files (`HEAD`, `config`, `objects/`, `refs/`) committed into `ipfs/`.
//! git run from `ipfs/` would take it for the repository, with the pull request's config
//! and refs. Each test is the attack; kotalc must read the repository that holds the
//! current directory (or the one `--repo` names), never run a program that a config names,
//! and see the real base.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Run, run, scratch, text};

const GATEWAY: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: Peer
metadata:
  name: gateway
  namespace: ipfs
spec:
  resources:
    storage: 50Gi
";

const ARCHIVE: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: Peer
metadata:
  name: archive
  namespace: ipfs
spec: {}
";

/// git as a person runs it, with `args`, in `dir`, fed `stdin`; its trimmed output.
fn git(dir: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = crate::common::git(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs (Debian package git)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write to git");
    let out = child.wait_with_output().expect("git ends");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// The real repository: the base commit on `main` holds two Peers, gateway and archive. The
/// pull request's work tree deletes archive (and its volume). Returns the base's SHA.
fn real_repository(dir: &Path) -> String {
    git(dir, &["init", "-q", "-b", "main"], "");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(dir.join("ipfs/gateway.yaml"), GATEWAY).expect("write");
    fs::write(dir.join("ipfs/archive.yaml"), ARCHIVE).expect("write");
    git(dir, &["add", "."], "");
    git(dir, &["commit", "-q", "-m", "base"], "");
    fs::remove_file(dir.join("ipfs/archive.yaml")).expect("rm");
    git(dir, &["rev-parse", "HEAD"], "")
}

/// Plants a bare repository's files in `dir/ipfs`, as a pull request commits them.
fn plant(dir: &Path) -> PathBuf {
    let planted = dir.join("ipfs");
    git(dir, &["init", "-q", "--bare", "ipfs"], "");
    planted
}

/// A commit in the bare repository `git_dir` whose tree holds gateway alone: the base the
/// attacker wants compared, where the deletion of archive does not show.
fn forged_commit(git_dir: &Path) -> String {
    let blob = git(git_dir, &["hash-object", "-w", "--stdin"], GATEWAY);
    let tree = git(
        git_dir,
        &["mktree"],
        &format!("100644 blob {blob}\tgateway.yaml\n"),
    );
    git(git_dir, &["commit-tree", &tree, "-m", "forged"], "")
}

fn diff(cwd: &Path, args: &[&str]) -> Run {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--color", "never", "--fail-on", "destructive"]);
    run(cwd, &all)
}

/// The real base seen: archive's claim removed, which is destructive, so exit 1.
#[track_caller]
fn sees_the_real_base(out: &Run) {
    out.code(1)
        .stdout_has("- PersistentVolumeClaim ipfs/archive")
        .stdout_has("data is lost");
}

/// The planted repository is named in a warning.
#[track_caller]
fn warns_about(out: &Run, shown: &str) {
    out.stderr_has("warning[repository-in-inputs]")
        .stderr_has(format!("--> {shown}"));
}

/// A partial clone's promisor remote: reading a commit whose tree is missing makes git fetch
/// it, running the remote's `uploadpack` as a shell command.
fn promisor_config(git_dir: &Path, marker: &Path) -> String {
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let commit = git(
        git_dir,
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--stdin",
            "--literally",
        ],
        &format!(
            "tree {missing}\nauthor a <a@a> 0 +0000\ncommitter a <a@a> 0 +0000\n\nmissing tree\n"
        ),
    );
    let set = |key: &str, value: &str| {
        git(git_dir, &["config", key, value], "");
    };
    set("core.repositoryformatversion", "1");
    set("extensions.partialClone", "origin");
    set("remote.origin.promisor", "true");
    set("remote.origin.url", &git_dir.display().to_string());
    let touch = format!("touch {}; git-upload-pack", marker.display());
    set("remote.origin.uploadpack", &touch);
    set(
        "core.fsmonitor",
        &format!("touch {}; true", marker.display()),
    );
    set("core.pager", &format!("touch {}; cat", marker.display()));
    set(
        "core.sshCommand",
        &format!("touch {}; ssh", marker.display()),
    );
    commit
}

#[test]
fn a_planted_promisor_remote_runs_nothing_and_the_real_base_is_used() {
    let dir = scratch("planted-promisor");
    let base = real_repository(&dir);
    let planted = plant(&dir);
    let marker = dir.join("PWNED");
    let commit = promisor_config(&planted, &marker);
    git(&planted, &["update-ref", "refs/heads/main", &commit], "");
    // The attack is live on this git: run from the planted directory, as kotalc once did,
    // reading the revision runs the command.
    let _ = Command::new("git")
        .args(["ls-tree", "-r", "main"])
        .current_dir(&planted)
        .output();
    assert!(
        marker.exists(),
        "the planted config no longer runs its command on this git"
    );
    fs::remove_file(&marker).expect("rm");

    for (cwd, inputs, reference) in [
        (dir.clone(), "ipfs", "main"),
        (planted.clone(), ".", "main"),
        (dir.clone(), "ipfs", base.as_str()),
    ] {
        let out = diff(&cwd, &[inputs, "--against-ref", reference]);
        assert!(
            !marker.exists(),
            "a planted config ran a command ({inputs}, {reference})"
        );
        sees_the_real_base(&out);
        warns_about(&out, if inputs == "." { "." } else { "ipfs" });
    }
    // Named with --repo, from outside the work tree.
    let out = diff(
        dir.parent().expect("parent"),
        &[
            "planted-promisor/ipfs",
            "--against-ref",
            "main",
            "--repo",
            "planted-promisor",
        ],
    );
    assert!(!marker.exists());
    sees_the_real_base(&out);
    // From outside any work tree, the inputs named by absolute path.
    let (inputs, repo) = (
        planted.to_str().expect("utf-8"),
        dir.to_str().expect("utf-8"),
    );
    let out = diff(
        &std::env::temp_dir(),
        &[inputs, "--against-ref", "main", "--repo", repo],
    );
    assert!(!marker.exists());
    sees_the_real_base(&out);
}

#[test]
fn a_planted_repository_cannot_forge_the_base() {
    let dir = scratch("planted-forged-base");
    real_repository(&dir);
    let planted = plant(&dir);
    let forged = forged_commit(&planted);
    git(&planted, &["update-ref", "refs/heads/main", &forged], "");
    let out = diff(&dir, &["ipfs", "--against-ref", "main"]);
    sees_the_real_base(&out);
    warns_about(&out, "ipfs");
    // From inside the planted directory too.
    let out = diff(&planted, &[".", "--against-ref", "main"]);
    sees_the_real_base(&out);
}

#[test]
fn a_full_sha_cannot_be_forged_by_alternates_or_replace_refs() {
    let dir = scratch("planted-replace");
    let base = real_repository(&dir);
    let planted = plant(&dir);
    // The planted repository borrows the real objects, so that the base's SHA resolves in
    // it, and replaces that commit with its own.
    fs::write(
        planted.join("objects/info/alternates"),
        format!("{}\n", dir.join(".git/objects").display()),
    )
    .expect("write");
    let forged = forged_commit(&planted);
    git(
        &planted,
        &["update-ref", &format!("refs/replace/{base}"), &forged],
        "",
    );
    // The attack is live on this git: there, the base's tree is the forged one.
    let seen = git(&planted, &["ls-tree", "--name-only", &base], "");
    assert_eq!(
        seen, "gateway.yaml",
        "the replacement is not honoured by this git"
    );

    let out = diff(&dir, &["ipfs", "--against-ref", &base]);
    sees_the_real_base(&out);
    warns_about(&out, "ipfs");

    // A replace ref in the real repository changes nothing either.
    let real_git = dir.join(".git");
    let forged = forged_commit(&real_git);
    git(
        &dir,
        &["update-ref", &format!("refs/replace/{base}"), &forged],
        "",
    );
    let seen = git(&dir, &["ls-tree", "--name-only", &base, "ipfs/"], "");
    assert_eq!(seen, "", "the replacement is not honoured by this git");
    sees_the_real_base(&diff(&dir, &["ipfs", "--against-ref", &base]));
}

/// The repository kotalc does open runs no program from its config either: a promisor
/// remote, an fsmonitor, a pager, an ssh command.
#[test]
fn the_real_repository_config_runs_no_program() {
    let dir = scratch("real-config-runs-nothing");
    real_repository(&dir);
    let marker = dir.join("PWNED");
    let commit = promisor_config(&dir.join(".git"), &marker);
    git(
        &dir,
        &["update-ref", "refs/heads/missing-tree", &commit],
        "",
    );
    let _ = Command::new("git")
        .args(["ls-tree", "-r", "missing-tree"])
        .current_dir(&dir)
        .output();
    assert!(
        marker.exists(),
        "the config no longer runs its command on this git"
    );
    fs::remove_file(&marker).expect("rm");

    let out = diff(&dir, &["ipfs", "--against-ref", "missing-tree"]);
    assert!(!marker.exists(), "the repository's config ran a command");
    out.code(1);
    // The base that can be read still is.
    sees_the_real_base(&diff(&dir, &["ipfs", "--against-ref", "main"]));
    assert!(!marker.exists(), "the repository's config ran a command");
}

/// Someone else's repository around the current directory (a `.git` another user made in a
/// shared directory) is not taken for the user's, as git refuses it; named with --repo, it is
/// the user's choice.
#[test]
fn a_repository_of_another_user_is_named_or_refused() {
    let dir = scratch("another-users-repository");
    real_repository(&dir);
    let nobody = Run::of(
        Command::new("chown").args(["-R", "65534:65534"]).arg(&dir),
        "chown runs",
    );
    nobody.success();
    let out = diff(&dir, &["ipfs", "--against-ref", "main"]);
    out.code(2).stderr_has("belongs to another user");
    sees_the_real_base(&diff(
        &dir,
        &["ipfs", "--against-ref", "main", "--repo", "."],
    ));
}
