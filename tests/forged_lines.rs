//! No forged lines: a value of the inputs (an annotation, a field's value or name, a file or
//! directory name) that holds a newline and a GitHub Actions workflow command
//! (`::error title=FORGED::`, `::stop-commands::`, or the runner's older `##[error]`, which
//! it finds anywhere in a line) never prints a line that the runner reads as a command, in
//! any `--format`, in `--check` and in `diff` bodies; bidirectional and zero-width
//! characters never print raw. The runner strips leading white space before it looks for
//! `::`, so every line is checked after stripping it. In `--format github` the only command
//! lines are kotalc's own: `::error`, `::warning` or `::notice`, with kotalc's properties and
//! a code (lower case) or `kotalc` as the title.

use std::fs;
use std::path::Path;

use crate::common::{Kotalc, run, scratch, text, yaml_files};

/// Workflow commands, each after a newline, and the older syntax mid-line.
const FORGED: &str =
    "x\n::error title=FORGED::forged\n  ::stop-commands::pwned\n\t::add-mask::y ##[error]FORGED";

/// The characters that reorder or hide text: bidirectional embeddings, overrides and
/// isolates, zero-width characters and marks, and the line and paragraph separators.
fn invisible() -> Vec<char> {
    (0x200b..=0x200f)
        .chain(0x2028..=0x202e)
        .chain(0x2066..=0x2069)
        .filter_map(char::from_u32)
        .collect()
}

/// What must hold of one output: no line reads as a command but kotalc's own (in the
/// GitHub format), no `##[`, no invisible character.
fn assert_unforged(what: &str, output: &[u8], github: bool) {
    let output = text(output);
    for line in output.split(['\n', '\r']) {
        let rest = line.trim_start();
        assert!(
            !line.contains("##["),
            "{what}: a ##[ command: {line:?}\n{output}"
        );
        if !rest.starts_with("::") {
            continue;
        }
        let own = github && {
            let body = &rest[2..];
            let (head, _) = body.split_once("::").unwrap_or((body, ""));
            let (command, properties) = head.split_once(' ').unwrap_or((head, ""));
            ["error", "warning", "notice"].contains(&command)
                && properties.split(',').all(|p| {
                    let (key, value) = p.split_once('=').unwrap_or((p, ""));
                    match key {
                        "file" => true,
                        "line" | "col" => value.bytes().all(|b| b.is_ascii_digit()),
                        "title" => {
                            value == "kotalc"
                                || value.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                        }
                        _ => false,
                    }
                })
        };
        assert!(own, "{what}: a forged workflow command: {line:?}\n{output}");
    }
    let raw: Vec<String> = output
        .chars()
        .filter(|c| invisible().contains(c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    assert!(
        raw.is_empty(),
        "{what}: invisible characters print raw: {raw:?}\n{output}"
    );
}

/// YAML's double-quoted form of `text`, which any value can take.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("JSON string")
}

/// Inputs that carry the attack everywhere kotalc reports from: an annotation value that the
/// output copies, an invalid field value and an unknown field's name, and a directory named
/// with it, holding a Peer whose swarm key is missing (the seal hint names the directory).
fn hostile_inputs(dir: &Path) {
    let payload = format!("{FORGED}{}", invisible().into_iter().collect::<String>());
    let named = dir.join(format!("in/{}", payload.replace('/', "-")));
    fs::create_dir_all(&named).expect("mkdir");
    fs::write(
        named.join("p.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\nspec:\n  swarmKeySecretName: swarm-key\n",
    )
    .expect("write");
    fs::write(
        dir.join("in/q.yaml"),
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: q\n  namespace: ipfs\n  annotations:\n    example.com/note: {}\nspec:\n  routing: {}\n  {}: 1\n",
            quoted(&payload),
            quoted(&payload),
            quoted(&payload)
        ),
    )
    .expect("write");
}

#[test]
fn inputs_never_forge_a_workflow_command_in_any_format() {
    let work = scratch("forged-formats");
    hostile_inputs(&work);
    for format in ["human", "json", "github"] {
        for command in ["validate", "build"] {
            let out = run(&work, &[command, "in", "--format", format]);
            out.code(1);
            let what = format!("{command} --format {format}");
            assert!(
                text(&out.stderr).contains("FORGED"),
                "{what}: the attack never reached the output\n{}",
                text(&out.stderr)
            );
            assert_unforged(&format!("{what}, stderr"), &out.stderr, format == "github");
            assert_unforged(&format!("{what}, stdout"), &out.stdout, false);
        }
    }
}

/// An input with no Kotal resource lists the files it read in the help: a file named with
/// the attack, in a directory named with it.
#[test]
fn the_empty_render_help_never_forges_a_line() {
    let work = scratch("forged-empty");
    let dir = work.join(format!("in/{}", FORGED.replace('/', "-")));
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(
        dir.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    )
    .expect("write");
    for format in ["human", "json", "github"] {
        let out = run(&work, &["build", "in", "--passthrough", "--format", format]);
        out.code(1).stderr_has("FORGED");
        assert_unforged(
            &format!("empty --format {format}"),
            &out.stderr,
            format == "github",
        );
    }
}

/// `--check` and `diff` print the rendered files' lines: an annotation value whose lines
/// are workflow commands, rendered as a block of lines, is in the diff's context when a
/// neighbouring value changes.
#[test]
fn check_and_diff_bodies_never_forge_a_line() {
    let work = scratch("forged-diff");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    let peer = |value: &str| {
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\n  annotations:\n    example.com/a: {}\n    example.com/b: \"{value}\"\n",
            quoted(&format!("{FORGED}\n::warning::again\n"))
        )
    };
    fs::write(work.join("in/p.yaml"), peer("1")).expect("write");
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(0);
    fs::write(work.join("in/p.yaml"), peer("2")).expect("write");
    for format in ["human", "json", "github"] {
        let out = run(
            &work,
            &["build", "in", "-o", "out", "--check", "--format", format],
        );
        out.code(1).stdout_has("FORGED");
        assert_unforged(
            &format!("--check --format {format} stdout"),
            &out.stdout,
            false,
        );
        assert_unforged(
            &format!("--check --format {format} stderr"),
            &out.stderr,
            format == "github",
        );
    }
    let out = run(&work, &["diff", "in", "--against", "out"]);
    out.stdout_has("FORGED");
    assert_unforged("diff stdout", &out.stdout, false);
    assert_unforged("diff stderr", &out.stderr, false);
}

/// The manifests themselves carry the inputs' values: an annotation that the rendered objects
/// copy, and a copied document's data. Written as YAML, a multi-line value is a block scalar
/// whose lines a runner would read as commands, in `build`'s stdout that CI logs as often as
/// not. Such an object is written as one line of JSON instead, a YAML document too, with the
/// same values: from `build` to stdout and with `-o`, and from `krm`.
#[test]
fn manifests_never_forge_a_line_and_keep_their_values() {
    let work = scratch("forged-manifests");
    let payload = format!("{FORGED}{}", invisible().into_iter().collect::<String>());
    fs::create_dir_all(work.join("in")).expect("mkdir");
    let peer = format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: q\n  namespace: ipfs\n  annotations:\n    example.com/note: {}\nspec: {{}}\n",
        quoted(&payload)
    );
    let copied = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: ipfs\ndata:\n  note: {}\n",
        quoted(&payload)
    );
    fs::write(work.join("in/q.yaml"), format!("{peer}---\n{copied}")).expect("write");

    let out = run(&work, &["build", "in", "--passthrough"]);
    out.code(0);
    assert_unforged("build, stdout", &out.stdout, false);
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&text(&out.stdout)).expect("the stream reads as YAML");
    let notes: Vec<&serde_json::Value> = documents
        .iter()
        .filter_map(|d| {
            d["metadata"]["annotations"]["example.com/note"]
                .as_str()
                .map(|_| &d["metadata"]["annotations"]["example.com/note"])
                .or_else(|| d["data"]["note"].as_str().map(|_| &d["data"]["note"]))
        })
        .collect();
    assert!(
        notes.len() >= 2 && notes.iter().all(|n| n.as_str() == Some(payload.as_str())),
        "the values must reach the manifests unchanged: {notes:?}"
    );

    let out = run(&work, &["build", "in", "--passthrough", "-o", "out"]);
    out.code(0);
    for (name, _) in yaml_files(&work.join("out/ipfs")) {
        let bytes = fs::read(work.join("out/ipfs").join(&name)).expect("read");
        assert_unforged(&format!("build -o, {name}"), &bytes, false);
    }
    let copied = &yaml_files(&work.join("out/ipfs"))["configmap-notes.yaml"];
    assert_eq!(copied["data"]["note"].as_str(), Some(payload.as_str()));

    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {}\n",
        serde_json::to_string(&serde_saphyr::from_str::<serde_json::Value>(&peer).expect("peer"))
            .expect("JSON")
    );
    let out = Kotalc::new()
        .current_dir(&work)
        .args(["krm"])
        .stdin(list.as_bytes())
        .run();
    out.code(0);
    assert_unforged("krm, stdout", &out.stdout, false);
}
