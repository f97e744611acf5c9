//! Every command kotalc prints for a person to paste (the seal hints of a placeholder or a
//! plaintext Secret, import's seal commands, explain's pointer to kubectl) quotes each word
//! for a POSIX shell. The attack: a directory or a name holding `$(touch${IFS}PWNED)`. Each
//! printed command is pasted into `sh` for real, with stubs of kotalc and kubectl that
//! record the words they get: no PWNED file appears, and the hostile value arrives as one
//! word, intact.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{run, scratch, text};

const HOSTILE: &str = "$(touch${IFS}PWNED)";

/// The printed commands in `stderr`: each line's text from `start` on.
fn commands(stderr: &str, start: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| line.find(start).map(|i| line[i..].to_string()))
        .collect()
}

/// Runs `command` in `sh` in a fresh directory below `work`, with stubs for kotalc and
/// kubectl; returns the words each stub got, one command per line, words NUL-separated.
fn paste(work: &Path, command: &str) -> String {
    let bin = work.join("stub-bin");
    fs::create_dir_all(&bin).expect("mkdir");
    for program in ["kotalc", "kubectl"] {
        let stub = bin.join(program);
        fs::write(
            &stub,
            format!(
                "#!/bin/sh\nprintf '{program}' >> \"$WORDS\"\nfor w in \"$@\"; do printf '\\0%s' \"$w\" >> \"$WORDS\"; done\necho >> \"$WORDS\"\ncat >/dev/null\n"
            ),
        )
        .expect("stub");
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let shell = work.join("paste");
    fs::create_dir_all(&shell).expect("mkdir");
    let words = work.join("words");
    let _ = fs::remove_file(&words);
    let out = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(&shell)
        .env("WORDS", &words)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs");
    let pwned: Vec<_> = walkdir::WalkDir::new(work)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("PWNED") && e.file_type().is_file())
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(
        pwned.is_empty(),
        "pasting {command:?} ran a command: {pwned:?}"
    );
    assert!(
        out.status.success(),
        "sh {command:?}: {}",
        text(&out.stderr)
    );
    fs::read_to_string(words).unwrap_or_default()
}

#[test]
fn a_seal_hint_for_a_hostile_directory_pastes_as_one_word() {
    let work = scratch("shell-seal-dir");
    let dir = work.join(format!("ipfs/{HOSTILE}"));
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(
        dir.join("p.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\nspec:\n  swarmKeySecretName: swarm-key\n",
    )
    .expect("write");
    let out = run(&work, &["validate", "ipfs"]);
    let stderr = text(&out.stderr);
    let printed = commands(&stderr, "kotalc seal ");
    assert!(!printed.is_empty(), "no seal command in\n{stderr}");
    for command in printed {
        let words = paste(&work, &command);
        assert!(
            words.contains(&format!(
                "\0-o\0ipfs/{HOSTILE}/sealedsecret-swarm-key.yaml\n"
            )),
            "{command}: the stub got {words:?}"
        );
        assert!(words.contains("\0--cert\0<controller.pem>\0"), "{words:?}");
    }
    // The placeholder's annotation in the output is a command too.
    let out = run(
        &work,
        &["build", "ipfs", "--allow", "sealed-secret-placeholder"],
    );
    let stdout = text(&out.stdout);
    let annotation = commands(&stdout, "kotalc seal ");
    assert!(!annotation.is_empty(), "{stdout}\n{}", text(&out.stderr));
}

#[test]
fn a_plaintext_secret_hint_quotes_its_name() {
    let work = scratch("shell-secret-name");
    fs::write(
        work.join("s.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: 'x{HOSTILE}'\n  namespace: 'n;touch PWNED'\nstringData:\n  k: v\n"
        ),
    )
    .expect("write");
    let out = run(&work, &["validate", "s.yaml"]);
    let stderr = text(&out.stderr);
    let printed = commands(&stderr, "kotalc seal ");
    assert!(!printed.is_empty(), "no seal command in\n{stderr}");
    for command in printed {
        let words = paste(&work, &command);
        assert!(
            words.contains(&format!("\0--name\0x{HOSTILE}\0"))
                && words.contains("\0--namespace\0n;touch PWNED\0"),
            "{command}: the stub got {words:?}"
        );
    }
}

#[test]
fn explain_s_pointer_to_kubectl_quotes_the_resource() {
    let work = scratch("shell-explain");
    let out = run(&work, &["explain", HOSTILE]);
    let stderr = text(&out.stderr);
    let printed: Vec<String> = commands(&stderr, "kubectl explain ")
        .into_iter()
        .map(|c| c.split('`').next().unwrap_or_default().to_string())
        .collect();
    assert!(!printed.is_empty(), "no kubectl command in\n{stderr}");
    for command in printed {
        let words = paste(&work, &command);
        assert_eq!(words, format!("kubectl\0explain\0{HOSTILE}\n"), "{command}");
    }
}
