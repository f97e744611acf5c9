//! Every command kotalc prints for a person to paste (the seal hints of a placeholder or a
//! plaintext Secret, import's seal commands, explain's pointer to kubectl) quotes each word
//! for a POSIX shell. The attack: a directory or a name holding `$(touch${IFS}PWNED)`. Each
//! printed command is pasted into `sh` for real, with stubs of kotalc and kubectl that
//! record the words they get: no PWNED file appears, and the hostile value arrives as one
//! word, intact.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{Kotalc, run, scratch, text};

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

/// The programs whose commands kotalc prints, and kotalc's subcommands: a line or a
/// backticked span that starts with one of these is a command to paste.
const PROGRAMS: &[&str] = &["kubectl", "kubeseal"];
const SUBCOMMANDS: &[&str] = &[
    "build",
    "diff",
    "krm",
    "kustomize-plugin",
    "validate",
    "keygen",
    "seal",
    "migrate",
    "new",
    "import",
    "explain",
    "schema",
    "completions",
    "man",
];

/// A command's words, and its text as printed.
type Command = (Vec<String>, String);

/// Characters a word may hold unquoted: none is special to a POSIX shell.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)
}

/// Reads a command written in kotalc's one quoting rule from the start of `text`: words of
/// plain characters and single-quoted strings (a quote as `\'` between them), one space
/// apart, commands of a pipeline ` | ` apart. Nothing in such text is special to a shell
/// but the space and the pipe. Returns each command's words and text, and the bytes read;
/// `Err` at an unclosed quote.
fn read_command(text: &str) -> Result<(Vec<Command>, usize), String> {
    let bytes = text.as_bytes();
    let mut commands = Vec::new();
    let mut words = Vec::new();
    let mut start = 0;
    let mut at = 0;
    loop {
        let mut word = String::new();
        let from = at;
        loop {
            match text[at..].chars().next() {
                Some(c) if plain(c) => {
                    word.push(c);
                    at += c.len_utf8();
                }
                Some('\'') => {
                    let close = text[at + 1..]
                        .find('\'')
                        .ok_or_else(|| format!("an unclosed quote in {text:?}"))?;
                    word.push_str(&text[at + 1..at + 1 + close]);
                    at += close + 2;
                }
                Some('\\') if text[at + 1..].starts_with('\'') => {
                    word.push('\'');
                    at += 2;
                }
                _ => break,
            }
        }
        if at == from {
            break;
        }
        words.push(word);
        let starts_word = |i: usize| {
            text[i..]
                .chars()
                .next()
                .is_some_and(|c| plain(c) || c == '\'' || c == '\\')
        };
        if text[at..].starts_with(" | ") && starts_word(at + 3) {
            commands.push((std::mem::take(&mut words), text[start..at].to_string()));
            at += 3;
            start = at;
        } else if bytes.get(at) == Some(&b' ') && starts_word(at + 1) {
            at += 1;
        } else {
            break;
        }
    }
    if !words.is_empty() {
        commands.push((words, text[start..at].to_string()));
    }
    Ok((commands, at))
}

/// Whether `text` starts with a command: a program's name, or `kotalc SUBCOMMAND`.
fn is_command(text: &str) -> bool {
    PROGRAMS.iter().any(|p| text.starts_with(&format!("{p} ")))
        || SUBCOMMANDS
            .iter()
            .any(|s| text.starts_with(&format!("kotalc {s} ")) || text == format!("kotalc {s}"))
}

/// Every command in `lines`: each backticked span that starts with one, which must end
/// where the span's closing backtick is, and each line that starts with one (after
/// indentation), which must be the whole line. A command that does not end there is not
/// written in the one rule: the error says where.
fn commands_in<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    found: &mut Vec<Command>,
    problems: &mut Vec<String>,
) {
    for line in lines {
        let mut spans: Vec<(&str, bool)> = line
            .match_indices('`')
            .map(|(i, _)| (&line[i + 1..], true))
            .filter(|(rest, _)| is_command(rest))
            .collect();
        let trimmed = line.trim();
        if is_command(trimmed) {
            spans.push((trimmed, false));
        }
        for (text, backticked) in spans {
            match read_command(text) {
                Ok((commands, read)) => {
                    let ends = if backticked {
                        text[read..].starts_with('`')
                    } else {
                        read == text.len()
                    };
                    if ends {
                        found.extend(commands);
                    } else {
                        problems.push(format!(
                            "a command that is not written as quoted words: {text:?} \
                             (read up to {:?})",
                            &text[..read]
                        ));
                    }
                }
                Err(e) => problems.push(e),
            }
        }
    }
}

/// The lines a person reads in an output of `format` (`human`, `json`, `github`, or `yaml`
/// for standard output): a JSON line's strings, a workflow command's message unescaped, YAML
/// strings (an annotation's commands) as their values.
fn readable_lines(output: &str, format: &str) -> Vec<String> {
    let mut lines: Vec<String> = output.lines().map(String::from).collect();
    for line in output.lines() {
        if format == "json"
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(line)
        {
            strings(&value, &mut lines);
        }
        if format == "github"
            && let Some(rest) = line.strip_prefix("::")
            && let Some((_, data)) = rest.split_once("::")
        {
            let data = data
                .replace("%0A", "\n")
                .replace("%0D", "\r")
                .replace("%25", "%");
            lines.extend(data.lines().map(String::from));
        }
    }
    // YAML folds a long value over lines: what a person pastes is the value.
    if format == "yaml"
        && let Ok(docs) = serde_saphyr::from_multiple::<serde_json::Value>(output)
    {
        lines.clear();
        for doc in &docs {
            strings(doc, &mut lines);
        }
    }
    lines
}

fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.extend(s.lines().map(String::from)),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Has `sh` (dash, Debian's POSIX shell) split each command into words, as pasting it would,
/// in a sandbox where nothing can run: `eval "set -- $command"` in a shell with an empty
/// environment and PATH, in a new network namespace with no route, its working directory an
/// empty read-only tmpfs in a private mount namespace. A command substitution there fails
/// (no program is found) or changes the words, a redirection fails to open or create its
/// file, a `;` or `&` runs a command that is not found: each shows as an error, a non-zero
/// status or words that differ from those read by the one quoting rule. Returns each
/// command's words.
fn shell_words(work: &Path, commands: &[String]) -> Vec<Vec<String>> {
    let sandbox = work.join("sandbox");
    fs::create_dir_all(&sandbox).expect("mkdir");
    let inner = r#"for c; do eval "set -- $c" || exit 3; printf '%s\0' "$#" "$@"; done"#;
    let outer = format!(
        "mount -t tmpfs -o ro,size=4k none . || exit 99; cd . && exec env -i PATH= /bin/sh -c '{}' sh \"$@\"",
        inner.replace('\'', r"'\''")
    );
    let out = std::process::Command::new("unshare")
        .args(["-n", "-m", "/bin/sh", "-c", &outer, "sh"])
        .args(commands)
        .current_dir(&sandbox)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("unshare (util-linux) runs /bin/sh");
    assert_ne!(
        out.status.code(),
        Some(99),
        "a read-only tmpfs in a private mount namespace (needs root): {}",
        text(&out.stderr)
    );
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sh -c 'eval \"set -- $command\"' ran something, or failed: status {:?}, {}",
        out.status.code(),
        text(&out.stderr)
    );
    assert_eq!(
        fs::read_dir(&sandbox).expect("sandbox").count(),
        0,
        "a command wrote into the sandbox"
    );
    let mut fields = out.stdout.split(|&b| b == 0).map(text);
    let mut all = Vec::new();
    while let Some(count) = fields.next().filter(|c| !c.is_empty()) {
        let count: usize = count.parse().expect("count");
        all.push((0..count).map(|_| fields.next().expect("word")).collect());
    }
    all
}

/// Every command kotalc prints, across the golden fixtures (in every format), the examples,
/// and inputs named to attack a shell (a directory, a Secret's name and namespace, a
/// resource of explain, a Swarm node's Secret), collected from stdout and stderr: each is
/// written in the one quoting rule (words of plain characters or single-quoted strings), and
/// `sh` splits it into exactly those words without running anything (see [`shell_words`]).
/// So pasting any printed command runs that command with those words, and nothing else.
#[test]
fn every_printed_command_is_quoted_words_that_sh_reads_as_such() {
    let work = scratch("shell-every-command");
    let mut outputs: Vec<(String, String, String)> = Vec::new();
    let mut record = |what: String, format: &str, out: &std::process::Output| {
        // Standard output is YAML (manifests, migrated files), whatever the format.
        outputs.push((what.clone(), "yaml".to_string(), text(&out.stdout)));
        outputs.push((what, format.to_string(), text(&out.stderr)));
    };
    for case in crate::golden::cases() {
        let args: Vec<String> = match fs::read_to_string(case.join("command")) {
            Ok(t) => t
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            Err(_) => {
                let mut args = vec!["build".to_string()];
                if let Ok(t) = fs::read_to_string(case.join("args")) {
                    args.extend(t.lines().filter(|l| !l.is_empty()).map(String::from));
                }
                args.push("input".into());
                args
            }
        };
        let formats: &[&str] = if args.iter().any(|a| a == "--format")
            || !["build", "validate"].contains(&args[0].as_str())
        {
            &["given"]
        } else {
            &["human", "json", "github"]
        };
        for format in formats {
            let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
            if *format != "given" {
                argv.extend(["--format", format]);
            }
            let out = match fs::read(case.join("stdin.yaml")) {
                Ok(stdin) => Kotalc::new()
                    .current_dir(&case)
                    .args(&argv)
                    .stdin(&stdin)
                    .run(),
                Err(_) => run(&case, &argv),
            };
            let format = if *format == "given" {
                args.iter()
                    .position(|a| a == "--format")
                    .and_then(|i| args.get(i + 1))
                    .map_or("human", String::as_str)
            } else {
                format
            };
            record(format!("{} {argv:?}", case.display()), format, &out);
        }
    }
    for example in ["examples/ipfs", "examples/swarm"] {
        for format in ["human", "json", "github"] {
            let out = run(
                &crate::common::root(),
                &["validate", example, "--format", format],
            );
            record(format!("validate {example}"), format, &out);
        }
    }
    // The attacks: a directory, a Secret, a namespace and explain's resource named to run
    // a command, and a Swarm without --cert (its placeholders name two commands).
    let hostile = work.join("in");
    let dir = hostile.join(format!("ipfs/{HOSTILE};x`y'z"));
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(
        dir.join("p.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\n  annotations:\n    kotalc.io/peering: /dns4/q/tcp/4001/p2p/12D3KooWKkkPSiYGjz592GUspAFqiUnVN6icgbdsFbKRbgBhu9kS\nspec:\n  swarmKeySecretName: swarm-key\n---\napiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: q\n  namespace: ipfs\nspec:\n  swarmKeySecretName: swarm-key\n",
    )
    .expect("write");
    fs::write(
        hostile.join("s.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: 'x{HOSTILE}'\n  namespace: 'n;touch PWNED'\nstringData:\n  k: v\n"
        ),
    )
    .expect("write");
    for format in ["human", "json", "github"] {
        for command in ["validate", "build"] {
            let out = run(&work, &[command, "in", "--format", format]);
            record(format!("{command} hostile"), format, &out);
        }
    }
    let out = run(&work, &["explain", HOSTILE]);
    record("explain hostile".into(), "human", &out);
    let swarm = crate::common::root().join("fixtures/sample-swarm/input");
    let out = run(&work, &["migrate", swarm.to_str().expect("path")]);
    record("migrate without --cert".into(), "human", &out);

    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (what, format, output) in &outputs {
        let lines = readable_lines(output, format);
        let before = problems.len();
        commands_in(lines.iter().map(String::as_str), &mut found, &mut problems);
        for p in &mut problems[before..] {
            *p = format!("{what} ({format}): {p}");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    found.sort();
    found.dedup();
    if std::env::var_os("KOTALC_SHOW_COMMANDS").is_some() {
        for (_, command) in &found {
            eprintln!("{command}");
        }
    }
    // What the suite must have printed, so that the collection cannot come back empty.
    for expected in [
        "kotalc seal --cert '<controller.pem>' --namespace ipfs --name q-identity",
        "kotalc migrate --cert '<controller.pem>'",
        "kubectl explain '$(touch${IFS}PWNED)'",
        "--namespace 'n;touch PWNED' --name 'x$(touch${IFS}PWNED)'",
        "ipfs/$(touch${IFS}PWNED);x`y'\\''z/sealedsecret-swarm-key.yaml'",
    ] {
        assert!(
            found.iter().any(|(_, text)| text.contains(expected)),
            "no printed command holds {expected}: {:#?}",
            found.iter().map(|(_, t)| t).collect::<Vec<_>>()
        );
    }
    let texts: Vec<String> = found.iter().map(|(_, t)| t.clone()).collect();
    let words = shell_words(&work, &texts);
    assert_eq!(words.len(), found.len());
    for ((expected, text), words) in found.iter().zip(&words) {
        assert_eq!(&words, &expected, "sh reads {text:?} as other words");
    }
    // The hostile values arrive as words, intact.
    assert!(words.iter().any(|w| w.iter().any(|w| w == HOSTILE)));
    assert!(words.iter().any(|w| w.iter().any(|w| w == "n;touch PWNED")));
    assert!(
        words
            .iter()
            .any(|w| w.iter().any(|w| w.contains(&format!("{HOSTILE};x`y'z")))),
        "{words:?}"
    );
}
