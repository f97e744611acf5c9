//! The same resources give the same bytes however they are named, split, ordered, and
//! whatever the locale or time zone.

use std::fs;
use std::path::Path;

use crate::common::{Kotalc, root, scratch, text};

/// Every document of the passing fixtures that take no arguments.
fn documents() -> Vec<String> {
    let mut docs = Vec::new();
    let mut cases: Vec<_> = fs::read_dir(root().join("fixtures"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    for case in cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with("err-")
            || case.join("args").exists()
            || case.join("command").exists()
            || !case.join("input").is_dir()
        {
            continue;
        }
        for entry in walkdir::WalkDir::new(case.join("input")).sort_by_file_name() {
            let entry = entry.expect("walk");
            let path = entry.path();
            let hidden = path
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            if !entry.file_type().is_file() || hidden || path.ends_with("kustomization.yaml") {
                continue;
            }
            let content = fs::read_to_string(path).expect("read");
            for doc in content.split("\n---\n").flat_map(|d| d.split("---\n")) {
                if doc.lines().any(|l| l.starts_with("kind:")) {
                    docs.push(format!("{}\n", doc.trim_end()));
                }
            }
        }
    }
    docs
}

fn build(dir: &Path, envs: &[(&str, &str)]) -> String {
    let out = Kotalc::new()
        .args(["build"])
        .arg(dir)
        .envs(envs.iter().copied())
        .run();
    out.code(0);
    text(&out.stdout)
}

/// A fixed shuffle: no randomness in tests either.
fn shuffled<T: Clone>(items: &[T]) -> Vec<T> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|i| ((i * 7919) % 104_729) ^ 0x5a5a);
    order.into_iter().map(|i| items[i].clone()).collect()
}

#[test]
fn output_does_not_depend_on_files_order_or_environment() {
    let docs = documents();
    assert!(docs.len() >= 8, "too few documents: {}", docs.len());

    let one_file = scratch("determinism-one-file");
    fs::write(one_file.join("all.yaml"), docs.join("---\n")).expect("write");

    let reversed = scratch("determinism-reversed");
    let rev: Vec<String> = docs.iter().rev().cloned().collect();
    fs::write(reversed.join("z.yml"), rev.join("---\n")).expect("write");

    let split = scratch("determinism-split");
    for (i, doc) in shuffled(&docs).iter().enumerate() {
        let dir = split
            .join(format!("d{}", i % 3))
            .join(format!("n{}", i % 2));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join(format!("{:02}-resource.yaml", 99 - i)), doc).expect("write");
    }

    let expected = build(&one_file, &[]);
    assert!(expected.matches("kind: StatefulSet").count() >= 8);
    assert_eq!(
        build(&reversed, &[]),
        expected,
        "document order changed the output"
    );
    assert_eq!(
        build(&split, &[]),
        expected,
        "file layout changed the output"
    );
    let foreign = [
        ("LC_ALL", "tr_TR.UTF-8"),
        ("LANG", "de_DE.UTF-8"),
        ("TZ", "Pacific/Chatham"),
    ];
    assert_eq!(
        build(&split, &foreign),
        expected,
        "locale or time zone changed the output"
    );
    assert_eq!(build(&one_file, &[]), expected, "two runs differ");
    // Parsing and rendering run in parallel; one thread gives the same bytes as several.
    assert_eq!(
        build(&split, &[("RAYON_NUM_THREADS", "1")]),
        expected,
        "the thread count changed the output"
    );
    assert_eq!(build(&split, &[("RAYON_NUM_THREADS", "4")]), expected);
}

/// `build` to stdout streams each object as it renders; with `--templates` it renders all of
/// them first. Both must write the same bytes for every fixture, whatever each adds to the
/// templates' objects (Secrets, NetworkPolicies, passed-through documents).
#[test]
fn streamed_and_collected_builds_write_the_same_bytes() {
    let templates = root().join("templates");
    let mut compared = 0;
    for entry in fs::read_dir(root().join("fixtures")).expect("fixtures") {
        let case = entry.expect("entry").path();
        let input = case.join("input");
        if !input.is_dir() || case.join("args").exists() {
            continue;
        }
        let streamed = Kotalc::new().arg("build").arg(&input).run();
        if !streamed.status.success() {
            continue;
        }
        let collected = Kotalc::new()
            .arg("build")
            .arg(&input)
            .arg("--templates")
            .arg(&templates)
            .run();
        assert_eq!(
            text(&streamed.stdout),
            text(&collected.stdout),
            "{}",
            case.display()
        );
        compared += 1;
    }
    assert!(compared > 20, "only {compared} fixtures compared");
}
