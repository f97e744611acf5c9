//! The README and the pages of `docs/`: every relative link resolves, every kotalc command is
//! one kotalc accepts, and the README's tour runs as written. The tests that check what a page
//! says of one subject (codes, CI entries, the takeover) read it with [`page`].

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Kotalc, copy_tree, root, scratch, text};

/// A page of `docs/`.
pub fn page(name: &str) -> String {
    fs::read_to_string(root().join("docs").join(name))
        .unwrap_or_else(|e| panic!("docs/{name}: {e}"))
}

/// README.md and every page of `docs/`, by path from the repository's root.
fn documents() -> BTreeMap<PathBuf, String> {
    let mut documents = BTreeMap::new();
    let readme = PathBuf::from("README.md");
    documents.insert(
        readme.clone(),
        fs::read_to_string(root().join(&readme)).expect("README.md"),
    );
    for entry in fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            let relative = path
                .strip_prefix(root())
                .expect("under the root")
                .to_path_buf();
            documents.insert(relative, fs::read_to_string(&path).expect("a page"));
        }
    }
    assert!(
        documents.len() > 5,
        "docs/ holds the reference: {documents:?}"
    );
    documents
}

/// The lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The bodies of the fenced blocks opened with `lang`, in order.
pub fn blocks(text: &str, lang: &str) -> Vec<String> {
    let open = format!("```{lang}\n");
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let end = body.find("```").expect("the block's end");
        found.push(body[..end].to_string());
        rest = &body[end + 3..];
    }
    found
}

/// The anchor GitHub gives a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings.
fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .into_iter()
        .filter_map(|line| {
            let title = line.trim_start_matches('#');
            (title.len() < line.len() && title.starts_with(' ')).then(|| anchor(title))
        })
        .collect()
}

/// A line without its inline code spans, whose text is never a link.
fn without_code(line: &str) -> String {
    line.split('`').step_by(2).collect()
}

/// The targets of the Markdown links in `text` that are not URLs.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    for line in prose(text) {
        let line = without_code(line);
        let mut rest = line.as_str();
        while let Some(start) = rest.find("](") {
            let target = &rest[start + 2..];
            let end = target.find(')').unwrap_or(target.len());
            if !target[..end].contains("://") && !target.starts_with("mailto:") {
                links.push(target[..end].to_string());
            }
            rest = &target[end..];
        }
    }
    links
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let documents = documents();
    let mut checked = 0;
    for (path, text) in &documents {
        for link in relative_links(text) {
            let (file, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap_or(Path::new("")).join(file)
            };
            assert!(
                root().join(&target).exists(),
                "{}: the link {link} names {}, which does not exist",
                path.display(),
                target.display()
            );
            if !fragment.is_empty() {
                let page = fs::read_to_string(root().join(&target)).expect("the linked page");
                assert!(
                    anchors(&page).iter().any(|a| a == fragment),
                    "{}: the link {link} names no heading of {}",
                    path.display(),
                    target.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}

/// The kotalc commands of a shell block: continuation lines joined, comments dropped, each
/// command of a pipeline or list on its own, `cargo run --release --` read as `kotalc`.
fn kotalc_commands(block: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for line in block.replace("\\\n", " ").lines() {
        let line = line.split(" #").next().unwrap_or_default().trim();
        if line.starts_with('#') {
            continue;
        }
        let line = line.replace("cargo run --release --", "kotalc");
        for command in line.split(['|', ';']).flat_map(|c| c.split("&&")) {
            let words: Vec<String> = command.split_whitespace().map(String::from).collect();
            if words.first().is_some_and(|w| w == "kotalc") {
                commands.push(words[1..].to_vec());
            }
        }
    }
    commands
}

/// What `kotalc WORDS... --help` prints for the longest run of leading words it takes as
/// subcommands.
fn help(words: &[String]) -> String {
    let path: Vec<&str> = words
        .iter()
        .take_while(|w| {
            w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
        })
        .map(String::as_str)
        .collect();
    for n in (1..=path.len().min(2)).rev() {
        let out = Kotalc::new().args(&path[..n]).arg("--help").run();
        if out.status.success() {
            return text(&out.stdout);
        }
    }
    panic!("kotalc has no subcommand {words:?}");
}

/// Every kotalc command in a shell block of the README and the docs names a subcommand that
/// exists, with options that subcommand has: a renamed flag fails here, not on a reader.
#[test]
fn every_kotalc_command_in_the_docs_is_one_kotalc_accepts() {
    let mut checked = 0;
    for (path, text) in documents() {
        for block in blocks(&text, "sh") {
            for words in kotalc_commands(&block) {
                let help = help(&words);
                for word in &words {
                    let flag = word.split('=').next().unwrap_or_default();
                    if flag.starts_with("--") && flag.len() > 2 {
                        assert!(
                            help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                                .any(|option| option == flag),
                            "{}: `kotalc {}`: {flag} is not an option of this command",
                            path.display(),
                            words.join(" ")
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} commands found");
}

/// The README's tour and its command that builds and runs kotalc on the examples, as a reader
/// runs them from the repository's root (a copy of its examples), kotalc on PATH.
#[test]
fn the_readme_tour_runs_as_written() {
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    let tour = &readme[readme.find("## A five-minute tour").expect("the tour")..];
    let build = &readme[readme
        .find("## Build and run it on the examples")
        .expect("the build command")..];
    let mut lines = Vec::new();
    for block in [&blocks(build, "sh")[0], &blocks(tour, "sh")[0]] {
        for line in block.replace("\\\n", " ").lines() {
            let line = line.split(" #").next().unwrap_or_default().trim();
            if !line.is_empty() {
                lines.push(line.replace("cargo run --release --", "kotalc"));
            }
        }
    }
    assert!(lines.len() > 5, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("new private-swarm")),
        "{lines:?}"
    );

    let work = scratch("readme-tour");
    copy_tree(&root().join("examples"), &work.join("examples"));
    let mut dirs = vec![Kotalc::bin_dir()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(dirs).expect("PATH");
    for line in &lines {
        let out = Command::new("unshare")
            .args(["-n", "sh", "-c", line])
            .current_dir(&work)
            .env("PATH", &path)
            .env_remove("NO_COLOR")
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "`{line}` failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

/// The README's test command is the one `.ci/run` runs.
#[test]
fn the_readme_test_command_is_the_one_ci_runs() {
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    let section = &readme[readme.find("## Run the tests").expect("the test command")..];
    let command = blocks(section, "sh")[0]
        .lines()
        .next()
        .and_then(|l| l.split(" #").next())
        .expect("a command")
        .trim()
        .to_string();
    assert_eq!(command, "tests/run");
    let ci = fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run does not run `{command}`:\n{ci}"
    );
}
