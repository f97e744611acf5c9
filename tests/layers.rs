//! The layering of `src/`, read from the code itself: each folder imports only the folders
//! below it, no two modules import each other, directly or around a loop, and only `input/`
//! and `output/` touch the disk. A change that reaches up a layer, or to the disk from
//! elsewhere, fails here, naming the file and the path or API it used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A folder may use a folder of a lower layer; folders on one layer
/// do not know each other.
const LAYERS: &[&[&str]] = &[
    &["diagnostic"],
    &["input", "ipfs"],
    &["kube"],
    &["model"],
    &["check"],
    &["render"],
    &["secrets"],
    &["output"],
    &["compile"],
    &["commands"],
];

fn layer(folder: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&folder))
}

/// Every source file, by module path (`check::validate`, `commands::diff::markdown`).
fn modules() -> BTreeMap<String, PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("src/ is readable").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // The binary: it reaches the library as `kotalc::`, from outside.
            if path == root.join("main.rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).expect("under src/");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// `crate::{a::b, c::{d, e}}` written out as `crate::a::b, crate::c::d, crate::c::e`, so
/// that grouped imports are read as the paths they are.
fn expand_groups(code: &str) -> String {
    let group = regex_lite::Regex::new(r"\b((?:crate|super)(?:::[a-z_][a-z0-9_]*)*)::\{").unwrap();
    let mut code = code.to_string();
    while let Some(found) = group.captures(&code) {
        let whole = found.get(0).expect("a match");
        let prefix = found[1].to_string();
        // The group's end: its matching brace.
        let mut depth = 1;
        let mut end = whole.end();
        for (i, c) in code[whole.end()..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = whole.end() + i;
                break;
            }
        }
        let mut items = Vec::new();
        let mut depth = 0;
        let mut start = whole.end();
        for (i, c) in code[whole.end()..end].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(code[start..whole.end() + i].trim().to_string());
                    start = whole.end() + i + 1;
                }
                _ => {}
            }
        }
        items.push(code[start..end].trim().to_string());
        let written: Vec<String> = items
            .iter()
            .filter(|item| !item.is_empty())
            .map(|item| match item.as_str() {
                "self" => prefix.clone(),
                item => format!("{prefix}::{item}"),
            })
            .collect();
        code.replace_range(whole.start()..=end.min(code.len() - 1), &written.join(", "));
    }
    code
}

/// A file's code, line for line: its comment lines blanked, and without the unit tests at
/// its end (clippy keeps them last), which may reach anywhere.
fn code_of(text: &str) -> String {
    let code: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let tests = regex_lite::Regex::new(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{").unwrap();
    match tests.find(&code) {
        Some(found) => code[..found.start()].to_string(),
        None => code,
    }
}

/// The modules a file names: `crate::a::b` resolved to the longest module path it starts
/// with, and `super::x` from its own place.
fn uses(module: &str, text: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let code = expand_groups(&code_of(text).replace("pub(super)", "pub"));
    let mut out = BTreeSet::new();
    let path =
        regex_lite::Regex::new(r"\b(crate|super(?:::super)*)((?:::[a-z_][a-z0-9_]*)*)").unwrap();
    let parent: Vec<&str> = module.split("::").collect();
    for found in path.captures_iter(&code) {
        let segments: Vec<&str> = found[2].split("::").filter(|s| !s.is_empty()).collect();
        let base: Vec<&str> = if &found[1] == "crate" {
            Vec::new()
        } else {
            let up = found[1].matches("super").count();
            parent[..parent.len().saturating_sub(up)].to_vec()
        };
        // `super::item` names the parent module itself.
        let mut best = (!base.is_empty()).then(|| base.join("::"));
        for n in 1..=segments.len() {
            let candidate = base
                .iter()
                .chain(&segments[..n])
                .copied()
                .collect::<Vec<_>>()
                .join("::");
            if known.contains_key(&candidate) {
                best = Some(candidate);
            }
        }
        if let Some(target) = best
            && target != module
        {
            out.insert(target);
        }
    }
    // A child module, named by its bare name: `mod migrate;` then `migrate::run(...)`.
    let child = regex_lite::Regex::new(r"(?m)^\s*(?:pub )?mod ([a-z_][a-z0-9_]*);").unwrap();
    for found in child.captures_iter(&code) {
        let name = &found[1];
        let target = if module.is_empty() {
            name.to_string()
        } else {
            format!("{module}::{name}")
        };
        let named = regex_lite::Regex::new(&format!(r"(?:^|[^:\w]){name}::")).unwrap();
        if named.is_match(&code) {
            out.insert(target);
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let known = modules();
    known
        .iter()
        .map(|(module, path)| {
            let text = std::fs::read_to_string(path).expect("source is readable");
            (module.clone(), uses(module, &text, &known))
        })
        .collect()
}

#[test]
fn every_folder_is_on_a_layer() {
    for module in graph().keys() {
        let folder = module.split("::").next().unwrap_or_default();
        assert!(
            folder.is_empty() || layer(folder).is_some(),
            "src/{folder} is on no layer of tests/layers.rs"
        );
    }
}

#[test]
fn lower_layers_never_import_upper_ones() {
    let mut wrong = Vec::new();
    for (module, targets) in graph() {
        let from = module.split("::").next().unwrap_or_default();
        let Some(from_layer) = layer(from) else {
            continue;
        };
        for target in targets {
            let to = target.split("::").next().unwrap_or_default();
            let Some(to_layer) = layer(to) else { continue };
            if to != from && to_layer >= from_layer {
                wrong.push(format!("{module} uses {target}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that reach up or across:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_itself_around_a_loop() {
    let graph = graph();
    // Depth-first search; a module met again while it is on the stack closes a loop.
    fn visit<'a>(
        at: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        loops: &mut Vec<String>,
    ) {
        if let Some(i) = stack.iter().position(|m| *m == at) {
            let mut cycle: Vec<&str> = stack[i..].to_vec();
            cycle.push(at);
            loops.push(cycle.join(" -> "));
            return;
        }
        if !done.insert(at) {
            return;
        }
        stack.push(at);
        for next in graph.get(at).into_iter().flatten() {
            visit(next, graph, stack, done, loops);
        }
        stack.pop();
    }
    let mut loops = Vec::new();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done, &mut loops);
    }
    assert!(loops.is_empty(), "import cycles:\n{}", loops.join("\n"));
}

/// The folders whose code touches the disk: `input` reads, `output` writes. Every other layer
/// is handed bytes and hands bytes back, so that what kotalc may read or write, and the
/// checks that guard it (links not followed, paths confined to the repository, no file
/// replaced without `--force`), are found in these two folders alone. `main.rs` is outside
/// the library and holds no file access.
const DISK: &[&str] = &["input", "output"];

/// The names by which Rust code reaches the disk, each with what it is. A file outside
/// [`DISK`] whose code names one of them fails [`only_input_and_output_touch_the_disk`].
const DISK_APIS: &[(&str, &str)] = &[
    // The file system modules, however they are reached: `std::fs::write`, `use std::fs;` or
    // `use std::{fs, io};` then `fs::read`, `std::os::unix::fs::MetadataExt`,
    // `rustix::fs::OFlags`.
    (
        r"\b(?:[a-z_]+::)*fs::[A-Za-z_]+|\bstd::fs\b|\bstd::\{[^}]*\bfs\b",
        "a file system module",
    ),
    // Files opened by their type, once imported.
    (
        r"\bFile::(?:open|create|create_new|options)\b|\bOpenOptions\b",
        "std::fs::File or OpenOptions",
    ),
    // Crates whose purpose is the file system, or system calls.
    (r"\bwalkdir(?:::[A-Za-z_]+)*|\bWalkDir\b", "walkdir"),
    (r"\brustix(?:::[A-Za-z_]+)*", "rustix"),
    // `Path` methods that ask the file system (`join`, `file_name` and the other methods on
    // a path's text are free to use).
    (
        r"\.(?:exists|try_exists|is_file|is_dir|is_symlink|metadata|symlink_metadata|canonicalize|read_dir|read_link)\(\)",
        "a Path method that asks the file system",
    ),
    // The process's places in the file system.
    (
        r"\b(?:set_current_dir|current_dir|temp_dir|home_dir)\b",
        "the working, temporary or home directory",
    ),
    // A program run for kotalc (git) reads and writes the disk on its behalf.
    (
        r"\bprocess::Command\b|\bstd::process::\{[^}]*\bCommand\b",
        "std::process::Command",
    ),
];

/// Where a file's code names a disk API: its line, the name as written, and what it is. A name
/// found inside a longer one already found (`File::open` in `std::fs::File::open`) is not
/// named again.
fn disk_apis(text: &str) -> Vec<(usize, String, &'static str)> {
    let code = code_of(text);
    let mut found: Vec<(usize, usize, &'static str)> = DISK_APIS
        .iter()
        .flat_map(|(pattern, what)| {
            regex_lite::Regex::new(pattern)
                .unwrap()
                .find_iter(&code)
                .map(|m| (m.start(), m.end(), *what))
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
    let mut out = Vec::new();
    let mut covered = 0;
    for (start, end, what) in found {
        if start < covered {
            continue;
        }
        covered = end;
        let line = code[..start].matches('\n').count() + 1;
        out.push((line, code[start..end].to_string(), what));
    }
    out
}

#[test]
fn only_input_and_output_touch_the_disk() {
    let mut wrong = Vec::new();
    for (module, path) in modules() {
        let folder = module.split("::").next().unwrap_or_default();
        if DISK.contains(&folder) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source is readable");
        let relative = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&path)
            .display()
            .to_string();
        for (line, name, what) in disk_apis(&text) {
            wrong.push(format!("{relative}:{line}: `{name}` ({what})"));
        }
    }
    assert!(
        wrong.is_empty(),
        "only src/input/ and src/output/ touch the disk; move each access into a function \
         there, and pass the data in and out:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_disk_rule_sees_every_form_of_disk_access() {
    let found = |text: &str| -> Vec<(String, &'static str)> {
        disk_apis(text)
            .into_iter()
            .map(|(_, name, what)| (name, what))
            .collect()
    };
    let fs = "a file system module";
    let path = "a Path method that asks the file system";
    for (text, name, what) in [
        (
            "let t = std::fs::read_to_string(p);",
            "std::fs::read_to_string",
            fs,
        ),
        ("use std::fs;", "std::fs", fs),
        ("use std::{fs, io};", "std::{fs", fs),
        ("fn f() { fs::write(p, t) }", "fs::write", fs),
        (
            "use std::os::unix::fs::MetadataExt;",
            "std::os::unix::fs::MetadataExt",
            fs,
        ),
        ("let s = rustix::fs::stat(p);", "rustix::fs::stat", fs),
        ("let f = std::fs::File::open(p)?;", "std::fs::File", fs),
        (
            "let f = File::open(p)?;",
            "File::open",
            "std::fs::File or OpenOptions",
        ),
        (
            "let f = File::create(p)?;",
            "File::create",
            "std::fs::File or OpenOptions",
        ),
        (
            "let o = OpenOptions::new();",
            "OpenOptions",
            "std::fs::File or OpenOptions",
        ),
        (
            "for e in walkdir::WalkDir::new(d) {}",
            "walkdir::WalkDir::new",
            "walkdir",
        ),
        (
            "let u = rustix::process::getuid();",
            "rustix::process::getuid",
            "rustix",
        ),
        ("if dir.is_dir() {}", ".is_dir()", path),
        ("if p.exists() {}", ".exists()", path),
        ("let m = p.symlink_metadata();", ".symlink_metadata()", path),
        ("let r = p.canonicalize();", ".canonicalize()", path),
        (
            "let d = std::env::current_dir();",
            "current_dir",
            "the working, temporary or home directory",
        ),
        (
            "let c = std::process::Command::new(\"git\");",
            "process::Command",
            "std::process::Command",
        ),
        (
            "use std::process::{Command, Stdio};",
            "std::process::{Command",
            "std::process::Command",
        ),
    ] {
        assert_eq!(found(text), [(name.to_string(), what)], "{text:?}");
    }
    // Named on its line, each name once.
    let text = "fn f() {}\n\n    let b = std::fs::read(p)?;\n";
    assert_eq!(disk_apis(text)[0].0, 3);
    // Comments, the unit tests at a file's end, and look-alike names are not disk access.
    let clean = "// std::fs::write in a comment\n/// `path.exists()` in a doc\n\
                 use crate::ipfs::keys;\nlet m = crate::render::metadata(r);\n\
                 let o = input::load::resolves_outside_current_dir(p);\n\
                 let p = dir.join(name);\nlet f = Found::File(p, b);\n\
                 let c = clap::Command::new(\"kotalc\");\nlet id = std::process::id();\n\
                 #[cfg(test)]\nmod tests { fn f() { std::fs::write(p, t).unwrap(); } }\n";
    assert!(found(clean).is_empty(), "{:?}", found(clean));
}

#[test]
fn the_reader_sees_every_form_of_import() {
    let known: BTreeMap<String, PathBuf> = [
        "check",
        "check::set",
        "check::validate",
        "model",
        "model::parse",
        "render",
    ]
    .into_iter()
    .map(|m| (m.to_string(), PathBuf::new()))
    .collect();
    let text = "use crate::render::{Object, Port};\nuse super::set;\n\
                use crate::{model::{parse::Resource, self}, render};\n\
                fn f() { crate::model::parse::span_of(); super::super::model::x(); }\n\
                #[cfg(test)]\nthread_local! {}\n\
                pub(super) fn g() {}\n// crate::check::validate in a comment\n\
                #[cfg(test)]\nmod tests { use crate::commands::krm; }\n";
    let found = uses("check::validate", text, &known);
    let expected: BTreeSet<String> = ["check::set", "model", "model::parse", "render"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, expected);
    let parent = uses("check", "mod set;\nfn f() { set::check(); }\n", &known);
    assert!(parent.contains("check::set"), "{parent:?}");
}
