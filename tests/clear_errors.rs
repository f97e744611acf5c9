//! Inputs that used to fail with a confusing error: each now gets a message that says what is
//! wrong, and nothing is written.

use std::fs;

use crate::common::{Kotalc, Run, root, run, scratch, text};

const PEER: &str =
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\n";

#[test]
fn output_directories_that_cannot_be_swapped_are_named_clearly() {
    let work = scratch("clear-output");
    let inputs = scratch("clear-output-in");
    fs::write(inputs.join("peer.yaml"), PEER).expect("write");
    let peer = inputs.join("peer.yaml").display().to_string();
    let peer = peer.as_str();
    let before: Vec<_> = fs::read_dir(&work)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    for (dir, wanted) in [
        (".", "not named by its last component"),
        ("sub/..", "not named by its last component"),
    ] {
        let out = run(&work, &["build", peer, "-o", dir]);
        out.code(1);
        assert!(
            text(&out.stderr).contains(wanted),
            "-o {dir}: {}",
            text(&out.stderr)
        );
    }
    let cwd = work.display().to_string();
    let out = run(&work, &["build", peer, "-o", &cwd, "--force"]);
    out.code(1).stderr_has("working directory");
    let after: Vec<_> = fs::read_dir(&work)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after, "nothing written");

    // A parent kotalc may not write in: the message names DIR and says why, not a staging path.
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(work.join("locked")).expect("mkdir");
    fs::set_permissions(work.join("locked"), fs::Permissions::from_mode(0o555)).expect("chmod");
    let denied = fs::write(work.join("locked/probe"), "").is_err();
    let out = run(&work, &["build", peer, "-o", "locked/out"]);
    if denied {
        out.code(1)
            .stderr_has("locked/out")
            .stderr_has("Permission denied")
            .stderr_lacks("kotalc-new");
    }
    fs::set_permissions(work.join("locked"), fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn small_or_mixed_certificates_get_a_clear_message() {
    let work = scratch("clear-certs");
    let data = root().join("tests/data");
    let seal = |cert: &std::path::Path| {
        run(
            &work,
            &[
                "seal",
                "--cert",
                &cert.display().to_string(),
                "-n",
                "ipfs",
                "--name",
                "s",
                "--generate",
                "cluster-secret",
            ],
        )
    };
    for small in ["small-1024.crt", "small-512.crt", "small-512.pub"] {
        let out = seal(&data.join(small));
        out.code(1);
        assert!(out.stdout.is_empty());
        out.stderr_has("at least 2048 bits")
            .stderr_lacks("not an RSA key");
    }
    // The certificate with the private key appended, as some tools save them.
    let both = work.join("both.pem");
    let mut pem = fs::read(data.join("controller.crt")).expect("cert");
    pem.extend(fs::read(data.join("controller.key")).expect("key"));
    fs::write(&both, pem).expect("write");
    let out = seal(&both);
    out.code(0).stdout_has("kind: SealedSecret");
}

#[test]
fn terminal_escapes_from_inputs_are_escaped() {
    let work = scratch("clear-escapes");
    fs::write(
        work.join("peer.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n  \"\\e]0;owned\\a\\e[2J\": x\n",
    )
    .expect("write");
    fs::write(work.join("raw.yaml"), "apiVersion: v1\nkind: \x1b[31mRed\n").expect("write");
    for file in ["peer.yaml", "raw.yaml"] {
        for format in ["human", "github", "json"] {
            let out = run(&work, &["build", file, "--format", format]);
            out.code(1);
            assert!(
                !out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07),
                "{file} {format}: raw escape sequence in {:?}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn against_ref_is_never_read_as_an_option() {
    let work = scratch("clear-against-ref");
    fs::write(work.join("peer.yaml"), PEER).expect("write");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&work)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    assert!(git(&["init", "-q"]), "git runs");
    let _ = git(&["-c", "user.email=t@t", "-c", "user.name=t", "add", "."]);
    let _ = git(&[
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-qm",
        "x",
    ]);
    let out = run(&work, &["diff", ".", "--against-ref=--output=pwned"]);
    // A usage error, like any revision that is not one.
    out.code(2);
    assert!(!work.join("pwned").exists());
    out.stderr_has("not a git revision");
}

/// A mount point cannot be swapped out; kotalc says so instead of "Device or resource busy".
/// Needs a private mount namespace (root and util-linux's `unshare`, as the tests of real
/// programs do).
#[test]
fn a_mount_point_as_dir_is_named_clearly() {
    let work = scratch("clear-mount");
    fs::write(work.join("peer.yaml"), PEER).expect("write");
    fs::create_dir_all(work.join("mnt")).expect("mkdir");
    let script = format!(
        "mount -t tmpfs none mnt || exit 99; {} build peer.yaml -o mnt; echo \"exit=$?\"",
        Kotalc::bin().display()
    );
    let out = Run::of(
        std::process::Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .current_dir(&work),
        "unshare (util-linux) runs",
    );
    assert!(
        out.status.code() != Some(99) && text(&out.stdout).contains("exit="),
        "a private mount namespace with a tmpfs (needs root): {}",
        text(&out.stderr)
    );
    out.stdout_has("exit=1").stderr_has("is a mount point");
}
