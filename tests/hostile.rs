//! Hostile and broken input: each case gets a diagnostic naming the file and exit 1 (or is
//! accepted, where the issue says so), never a panic, a hang or unbounded memory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{Kotalc, run, scratch, text};

const PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: peer\nspec:\n  gateway: true\n";

/// Runs `kotalc build` on `dir` and checks the outcome: exit code, no panic, no hang.
fn build(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Kotalc::new().arg("build").args(args).current_dir(dir).run();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

fn expect_error(dir: &Path, args: &[&str], file: &str, wanted: &str) {
    let (code, stdout, stderr) = build(dir, args);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(file),
        "the diagnostic names {file}: {stderr}"
    );
    assert!(stderr.contains(wanted), "expected {wanted:?}: {stderr}");
}

#[test]
fn alias_bomb() {
    let dir = scratch("hostile-alias-bomb");
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
        let previous = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
        bomb.push_str(&format!("{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"));
    }
    fs::write(dir.join("bomb.yaml"), bomb).expect("write");
    expect_error(&dir, &["."], "bomb.yaml", "error[input-limit]");
}

#[test]
fn a_100_mb_file() {
    let dir = scratch("hostile-100mb");
    let line = "# padding padding padding padding padding padding padding padding padding\n";
    let mut big = String::with_capacity(100 << 20);
    while big.len() < 100 << 20 {
        big.push_str(line);
    }
    fs::write(dir.join("big.yaml"), big).expect("write");
    expect_error(&dir, &["."], "big.yaml", "input limit of 32 MiB");
}

#[test]
fn nesting_thousands_of_levels_deep() {
    let dir = scratch("hostile-deep");
    let depth = 5000;
    let deep = format!("{}{}\n", "[".repeat(depth), "]".repeat(depth));
    fs::write(dir.join("deep.yaml"), deep).expect("write");
    let mut block = String::new();
    for level in 0..3000 {
        block.push_str(&format!("{}k:\n", " ".repeat(level)));
    }
    fs::write(dir.join("deep-block.yaml"), block).expect("write");
    let (code, _, stderr) = build(&dir, &["."]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("deep.yaml") && stderr.contains("deep-block.yaml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("input-limit"),
        "the error says which limit: {stderr}"
    );
}

#[test]
fn encodings_and_line_endings() {
    let dir = scratch("hostile-encodings");
    fs::write(dir.join("latin1.yaml"), b"name: caf\xe9\n").expect("write");
    expect_error(&dir, &["latin1.yaml"], "latin1.yaml", "not valid UTF-8");

    let plain = build(&dir, &["-"]).0; // no stdin: empty input is an error, not a hang
    assert_eq!(plain, 1);

    let ok = scratch("hostile-encodings-ok");
    fs::write(ok.join("lf.yaml"), PEER).expect("write");
    let (code, lf, stderr) = build(&ok, &["lf.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    fs::write(ok.join("bom.yaml"), format!("\u{feff}{PEER}")).expect("write");
    assert_eq!(
        build(&ok, &["bom.yaml"]).1,
        lf,
        "a byte-order mark is accepted"
    );
    fs::write(ok.join("crlf.yaml"), PEER.replace('\n', "\r\n")).expect("write");
    assert_eq!(
        build(&ok, &["crlf.yaml"]).1,
        lf,
        "CRLF line endings are accepted"
    );
}

#[test]
fn links_unreadable_entries_and_wrong_kinds_of_path() {
    let dir = scratch("hostile-links");
    fs::write(dir.join("peer.yaml"), PEER).expect("write");
    std::os::unix::fs::symlink("loop-b", dir.join("loop-a")).expect("link");
    std::os::unix::fs::symlink("loop-a", dir.join("loop-b")).expect("link");
    let (code, _, stderr) = build(&dir, &["."]);
    assert_eq!(
        code, 0,
        "links are not followed, so a loop is harmless: {stderr}"
    );
    expect_error(&dir, &["loop-a"], "loop-a", "symbolic links");

    // A path that does not exist, and a FIFO that would block a reader forever.
    expect_error(
        &dir,
        &["missing.yaml"],
        "missing.yaml",
        "No such file or directory",
    );
    let fifo = dir.join("fifo.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        expect_error(&dir, &["fifo.yaml"], "fifo.yaml", "not a regular file");
    }

    // A directory where a file is expected, and the reverse.
    let (code, _, stderr) = build(&dir, &["peer.yaml", "--templates", "peer.yaml"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("must name a directory"), "{stderr}");
    let (code, _, stderr) = build(&dir, &["peer.yaml", "-o", "peer.yaml"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("peer.yaml"), "{stderr}");
    let out = run(
        &dir,
        &[
            "seal",
            "--cert",
            ".",
            "-n",
            "ipfs",
            "--name",
            "s",
            "--generate",
            "cluster-secret",
        ],
    );
    out.code(1).stderr_has("cannot read .");

    // Unreadable: the OS lets root read anything, so the check only bites for other users.
    let locked = scratch("hostile-unreadable");
    fs::write(locked.join("peer.yaml"), PEER).expect("write");
    fs::set_permissions(locked.join("peer.yaml"), fs::Permissions::from_mode(0o000))
        .expect("chmod");
    let denied = fs::read(locked.join("peer.yaml")).is_err();
    let (code, _, stderr) = build(&locked, &["."]);
    if denied {
        assert_eq!(code, 1);
        assert!(
            stderr.contains("peer.yaml") && stderr.contains("Permission denied"),
            "{stderr}"
        );
    } else {
        assert_eq!(code, 0, "{stderr}");
    }
    fs::set_permissions(locked.join("peer.yaml"), fs::Permissions::from_mode(0o644))
        .expect("chmod");
}

/// Values reach the container scripts only through environment variables, quoted: a value
/// full of shell syntax is passed to `ipfs` as one literal argument, and nothing runs.
#[test]
fn shell_metacharacters_cannot_inject_commands() {
    let dir = scratch("hostile-shell");
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).expect("mkdir");
    for stub in ["ipfs", "ipfs-cluster-service"] {
        fs::write(
            bin.join(stub),
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$CALLS\"\n\
             [ \"$1\" = version ] && echo 0.28.0\nexit 0\n",
        )
        .expect("stub");
        fs::set_permissions(bin.join(stub), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let evil = "x; touch pwned; $(touch pwned2) `touch pwned3` \"' && touch pwned4";
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (script, var) in [
        ("init_ipfs_config.sh", "IPFS_INIT_PROFILES"),
        ("config_ipfs.sh", "IPFS_PROFILES"),
        ("config_peering.sh", "IPFS_PEERING"),
        ("init_ipfs_cluster_config.sh", "IPFS_CLUSTER_CONSENSUS"),
        ("start_ipfs_cluster.sh", "KOTAL_BOOTSTRAP_PEERS"),
    ] {
        let source = kotalc::render::SCRIPTS
            .iter()
            .find(|(name, _)| name.ends_with(script))
            .map(|(_, text)| *text)
            .expect("script");
        let file = dir.join(script);
        fs::write(&file, source).expect("write");
        let data = dir.join("data");
        let _ = fs::remove_dir_all(&data);
        fs::create_dir_all(&data).expect("mkdir");
        let out = std::process::Command::new("sh")
            .arg(&file)
            .current_dir(&dir)
            .env("PATH", &path)
            .env("CALLS", dir.join("calls"))
            .env("IPFS_PATH", &data)
            .env("IPFS_CLUSTER_PATH", &data)
            .env("IPFS_API_HOST", "127.0.0.1")
            .env("IPFS_API_PORT", "5001")
            .env("IPFS_GATEWAY_HOST", "127.0.0.1")
            .env("IPFS_GATEWAY_PORT", "8080")
            .env(var, evil)
            .output()
            .expect("sh");
        assert!(out.status.success(), "{script}: {}", text(&out.stderr));
        for marker in ["pwned", "pwned2", "pwned3", "pwned4"] {
            assert!(!dir.join(marker).exists(), "{script} ran injected code");
        }
        let calls = fs::read_to_string(dir.join("calls")).unwrap_or_default();
        assert!(
            calls.contains(evil) || calls.contains("x; touch pwned; $(touch pwned2)"),
            "{script} passes the value literally: {calls}"
        );
    }
}

/// The kubelet expands `$(NAME)` in a container's command and args from its environment
/// (kubernetes third_party/forked/golang/expansion: `$$` is a literal `$`, `$(NAME)` of a
/// defined variable its value). An extraArgs value naming the cluster secret's variable must
/// reach the daemon as that text, never as the secret in argv, and `$$` must stay `$$`.
#[test]
fn kubelet_variable_references_in_args_stay_literal() {
    let dir = scratch("hostile-kubelet-expansion");
    let input = dir.join("input");
    fs::create_dir_all(&input).expect("mkdir");
    let attack = "$(CLUSTER_SECRET)";
    fs::write(
        input.join("both.yaml"),
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata: {{name: p, namespace: \
             ipfs}}\nspec:\n  api: true\n  extraArgs:\n    --agent-version-suffix: \"{attack}\"\n    \
             \"--$(IPFS_PATH)\": \"$$(x)$\"\n---\napiVersion: ipfs.kotal.io/v1alpha1\nkind: \
             ClusterPeer\nmetadata: {{name: c, namespace: ipfs}}\nspec:\n  clusterSecretName: \
             s\n  peerEndpoint: /dns4/p/tcp/5001\n  extraArgs:\n    --loglevel: \"{attack}\"\n"
        ),
    )
    .expect("input");
    let objects = crate::spec_fields::operator_objects(input);
    let mut checked = 0;
    for sts in objects.iter().filter(|o| o.kind == "StatefulSet") {
        let container = &sts.value["spec"]["template"]["spec"]["containers"][0];
        let env: Vec<(&str, &str)> = container["env"]
            .as_array()
            .expect("env")
            .iter()
            .map(|v| {
                let name = v["name"].as_str().expect("name");
                (name, v["value"].as_str().unwrap_or("SECRET-VALUE"))
            })
            .collect();
        let argv: Vec<String> = container["command"]
            .as_array()
            .expect("command")
            .iter()
            .chain(container["args"].as_array().expect("args"))
            .map(|a| expand(a.as_str().expect("text"), &env))
            .collect();
        assert!(
            !argv
                .iter()
                .any(|a| a.contains("SECRET-VALUE") || a.contains("/home/")),
            "a variable reached argv: {argv:?}"
        );
        assert!(
            argv.iter().any(|a| a.ends_with(&format!("={attack}"))),
            "{argv:?}"
        );
        if sts.value["metadata"]["name"] == "p" {
            assert!(
                argv.contains(&"--$(IPFS_PATH)=$$(x)$".to_string()),
                "{argv:?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 2);
}

/// The kubelet's expansion of one command or args item.
fn expand(text: &str, env: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some((_, value)) = env.iter().find(|(n, _)| *n == &inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out + rest
}

/// A link or a FIFO in `--templates DIR` is named as an error, never followed, read or
/// skipped silently: a link would put any file of the machine into a ConfigMap.
#[test]
fn links_and_fifos_in_templates_are_named() {
    let dir = scratch("hostile-templates");
    fs::write(dir.join("peer.yaml"), PEER).expect("write");
    let secret = dir.join("secret.txt");
    fs::write(&secret, "not for a ConfigMap\n").expect("write");
    for (case, make) in [
        ("link", "ln -s ../secret.txt t/configmap.yaml"),
        ("link-to-dir", "ln -s .. t/scripts"),
        ("fifo", "mkfifo t/service.yaml"),
    ] {
        let _ = fs::remove_dir_all(dir.join("t"));
        fs::create_dir(dir.join("t")).expect("mkdir");
        let made = std::process::Command::new("sh")
            .args(["-c", make])
            .current_dir(&dir)
            .status()
            .expect("sh");
        assert!(made.success(), "{make}");
        let (code, stdout, stderr) = build(&dir, &["peer.yaml", "--templates", "t"]);
        assert_eq!(code, 1, "{case}: {stderr}");
        assert!(
            stderr.contains("not read") && stderr.contains("t/"),
            "{case}: {stderr}"
        );
        assert!(!stdout.contains("not for a ConfigMap"), "{case}");
    }
}
