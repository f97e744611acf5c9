//! Attacks that try to make kotalc print what it must not: the machine's files through links
//! and configured paths, and secret values through snippets and messages. Each test is the
//! attack, then what must hold: no byte of the secret in stdout, stderr or any written file.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::{Kotalc, root, run, scratch, text};
use crate::seal::TEST_PRIVATE_KEY;

const PEER: &str =
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\n";
/// What a CI job's environment or a checkout's `.git/config` would hold.
const TOKEN: &str = "ghp_TOPSECRETTOKEN0123456789abcdef";

fn assert_clean(what: &str, out: &Output, secret: &str) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let shown = text(bytes);
        assert!(
            !shown.contains(secret) && !shown.contains(&secret[..12]),
            "{what}: {stream} leaks the secret:\n{shown}"
        );
    }
}

#[test]
fn links_and_fifos_in_dir_are_never_followed_or_read() {
    let work = scratch("leak-links");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    fs::write(work.join("in/peer.yaml"), PEER).expect("write");
    let secret = work.join("environ");
    fs::write(&secret, format!("GITHUB_TOKEN={TOKEN}\n")).expect("write");
    run(&work, &["build", "in", "-o", "out"]).success();

    // The pull request commits a link where kotalc's output was.
    let service = work.join("out/ipfs/service-p.yaml");
    fs::remove_file(&service).expect("rm");
    std::os::unix::fs::symlink(&secret, &service).expect("link");
    let check = run(&work, &["build", "in", "-o", "out", "--check"]);
    check.code(1);
    assert_clean("--check", &check, TOKEN);
    assert!(
        text(&check.stdout).contains("service-p.yaml"),
        "the link is named"
    );
    let diff = run(&work, &["diff", "in", "--against", "out"]);
    assert_clean("diff --against", &diff, TOKEN);
    for force in [false, true] {
        let mut args = vec!["build", "in", "-o", "out"];
        if force {
            args.push("--force");
        }
        let build = run(&work, &args);
        build.code(1);
        assert_clean("-o", &build, TOKEN);
    }
    assert_eq!(
        fs::read_to_string(&secret).expect("target"),
        format!("GITHUB_TOKEN={TOKEN}\n"),
        "the link's target is untouched"
    );
    assert!(
        fs::symlink_metadata(&service)
            .expect("link")
            .file_type()
            .is_symlink()
    );

    // A link where kotalc writes a directory: refused, and never written through.
    let elsewhere = scratch("leak-links-elsewhere");
    fs::rename(work.join("out/ipfs"), work.join("ipfs-moved")).expect("mv");
    std::os::unix::fs::symlink(&elsewhere, work.join("out/ipfs")).expect("link");
    for force in [false, true] {
        let mut args = vec!["build", "in", "-o", "out"];
        if force {
            args.push("--force");
        }
        let out = run(&work, &args);
        out.code(1).stderr_has("kotalc would write it: ipfs");
        assert_eq!(
            fs::read_dir(&elsewhere).expect("ls").count(),
            0,
            "written through a link"
        );
    }
    fs::remove_file(work.join("out/ipfs")).expect("rm");
    fs::rename(work.join("ipfs-moved"), work.join("out/ipfs")).expect("mv");

    // A FIFO in DIR would block a reader forever; a link as DIR is refused.
    fs::remove_file(&service).expect("rm");
    let made = std::process::Command::new("mkfifo").arg(&service).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) runs");
    for args in [
        &["build", "in", "-o", "out", "--check"][..],
        &["build", "in", "-o", "out", "--force"][..],
        &["diff", "in", "--against", "out"][..],
    ] {
        let out = Kotalc::new().args(args).current_dir(&work).run();
        out.stderr_lacks("panicked");
    }
    std::os::unix::fs::symlink(work.join("out"), work.join("linked")).expect("link");
    let out = run(&work, &["build", "in", "-o", "linked"]);
    out.code(1).stderr_has("symbolic link");
}

#[test]
fn configured_paths_stay_inside_the_kustomization_root() {
    let work = scratch("leak-paths");
    let root_dir = work.join("kustomization");
    fs::create_dir_all(&root_dir).expect("mkdir");
    fs::write(
        work.join("shadow.yaml"),
        format!("root:{TOKEN}:19000:0:99999:7:::\n"),
    )
    .expect("write");
    std::os::unix::fs::symlink(work.join("shadow.yaml"), root_dir.join("inside.yaml"))
        .expect("link");
    let outside = work.join("shadow.yaml").display().to_string();
    for path in [
        outside.as_str(),
        "../shadow.yaml",
        "inside.yaml",
        "/proc/self/environ",
    ] {
        let list = format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: kotalc.io/v1alpha1\n  kind: KotalcBuild\n  spec:\n    paths: [{path:?}]\n"
        );
        let out = Kotalc::new()
            .current_dir(&root_dir)
            .args(["krm"])
            .stdin(list.as_bytes())
            .run();
        out.code(1).stdout_has("outside the kustomization root");
        assert_clean(path, &out, TOKEN);

        fs::write(
            root_dir.join("plugin.yaml"),
            format!("apiVersion: kotalc.io/v1alpha1\nkind: KotalcBuild\nmetadata:\n  name: k\nspec:\n  paths: [{path:?}]\n"),
        )
        .expect("write");
        let out = run(&root_dir, &["kustomize-plugin", "plugin.yaml"]);
        out.code(1);
        assert_clean(path, &out, TOKEN);
    }
    // A file of the root that is no Kotal input is not echoed either.
    fs::remove_file(root_dir.join("inside.yaml")).expect("rm");
    fs::write(root_dir.join("notes.yaml"), format!("token: {TOKEN}: x\n")).expect("write");
    let out = run(&root_dir, &["build", "notes.yaml", "--format", "human"]);
    out.code(1);
    assert_clean("a file that does not parse", &out, TOKEN);
    fs::write(
        root_dir.join("plain.yaml"),
        format!("GITHUB_TOKEN={TOKEN} HOME=/root\n"),
    )
    .expect("write");
    for format in ["human", "json", "github"] {
        let out = run(&root_dir, &["build", "plain.yaml", "--format", format]);
        out.code(1).stderr_has("not-an-object");
        assert_clean("a text file", &out, TOKEN);
    }
}

#[test]
fn seal_never_quotes_the_value_it_refuses() {
    let work = scratch("leak-seal");
    let hex = "ab12".repeat(16);
    let values = [
        format!("/key/swarm/psk/1.0.0/\n{hex}\n/base16/\n"),
        format!("/key/swarm/psk/1.0.0/\n/base64/\n{hex}!\n"),
    ];
    for (i, value) in values.iter().enumerate() {
        let file = work.join(format!("swarm-{i}.key"));
        fs::write(&file, value).expect("write");
        for format in ["human", "json", "github"] {
            let out = run(
                &work,
                &[
                    "seal",
                    "--cert",
                    &root()
                        .join("tests/data/controller.crt")
                        .display()
                        .to_string(),
                    "-n",
                    "ipfs",
                    "--name",
                    "swarm-key",
                    "--key",
                    "swarm.key",
                    "--from-file",
                    &file.display().to_string(),
                    "--format",
                    format,
                ],
            );
            out.code(1);
            assert_clean("seal", &out, &hex);
        }
    }
    // A private key with a bad character: the decoder's position and symbol are not shown.
    let bad = format!("{}!", &TEST_PRIVATE_KEY[..40]);
    let out = Kotalc::new()
        .current_dir(&work)
        .args([
            "seal",
            "--cert",
            &root()
                .join("tests/data/controller.crt")
                .display()
                .to_string(),
            "-n",
            "ipfs",
            "--name",
            "id",
            "--key",
            "key",
            "--from-stdin",
        ])
        .stdin(bad.as_bytes())
        .run();
    out.code(1);
    assert_clean("seal --from-stdin", &out, &bad);
}

/// The inputs that once printed key material, each in every format.
pub fn hostile_documents() -> Vec<(&'static str, String)> {
    let key = TEST_PRIVATE_KEY;
    let id = "12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq";
    let swarm = |nodes: &str| {
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Swarm\nmetadata:\n  name: s\n  namespace: ipfs\nspec:\n  nodes:\n{nodes}"
        )
    };
    vec![
        (
            "flow-style node",
            swarm(&format!(
                "    - {{name: n, id: {id}, privateKey: \"{key}\", profiles: [bogus]}}\n"
            )),
        ),
        (
            "tab-indented value",
            swarm(&format!(
                "    - name: n\n      id: {id}\n      privateKey:\t\"{key}\"\n      profiles: [bogus]\n"
            )),
        ),
        (
            "swapped id and privateKey",
            swarm(&format!(
                "    - name: n\n      id: \"{key}\"\n      privateKey: {id}\n"
            )),
        ),
        (
            "Secret beside a syntax error",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  key: {key}: oops\n"
            ),
        ),
        (
            "Secret with a duplicate key",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  key: {key}\n  key: {key}\n"
            ),
        ),
        (
            "Secret in a flow mapping with an error",
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\ndata: {{key: \"{key}\", bad: [}}\n"
            ),
        ),
    ]
}

#[test]
fn no_snippet_or_message_shows_a_secret_in_any_format() {
    let work = scratch("leak-redaction");
    for (case, document) in hostile_documents() {
        fs::write(work.join("input.yaml"), &document).expect("write");
        for format in ["human", "json", "github"] {
            for command in ["build", "validate"] {
                let out = run(
                    &work,
                    &[command, "input.yaml", "--format", format, "--passthrough"],
                );
                assert_ne!(out.status.code(), Some(0), "{case}: {}", text(&out.stderr));
                assert_clean(
                    &format!("{case} ({command}, {format})"),
                    &out,
                    TEST_PRIVATE_KEY,
                );
            }
        }
        let item = serde_json::to_string(&document).expect("json");
        let _ = item;
    }
}

#[test]
fn plaintext_in_lists_and_sealed_secret_templates_is_refused() {
    let work = scratch("leak-lists");
    let value = "s3cr3t-plaintext-value";
    let cases = [
        format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n  stringData:\n    password: {value}\n"
        ),
        format!(
            "apiVersion: v1\nkind: SecretList\nitems:\n- metadata:\n    name: s\n  data:\n    password: {value}\n"
        ),
        format!(
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s\n  namespace: ipfs\nspec:\n  encryptedData:\n    k: AAAAAAAA\n  template:\n    data:\n      password: {value}\n"
        ),
    ];
    for document in cases {
        fs::write(work.join("peer.yaml"), PEER).expect("write");
        fs::write(work.join("list.yaml"), &document).expect("write");
        for args in [
            &["build", ".", "--passthrough"][..],
            &["build", ".", "--passthrough", "-o", "out"][..],
        ] {
            let out = run(&work, args);
            out.code(1).stderr_has("plaintext-secret");
            assert_clean("plaintext", &out, value);
            assert!(!Path::new(&work.join("out")).exists());
        }
    }
}
