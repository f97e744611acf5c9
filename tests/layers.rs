//! The layering of `src/`, read from the code itself: each folder imports only the folders
//! below it, and no two modules import each other, directly or around a loop. A change that
//! reaches up a layer fails here, naming the file and the path it used.

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

/// The modules a file names: `crate::a::b` resolved to the longest module path it starts
/// with, and `super::x` from its own place.
fn uses(module: &str, text: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    // The unit tests at the end of a file (clippy keeps them last) may reach anywhere.
    let tests = regex_lite::Regex::new(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{").unwrap();
    let code = match tests.find(&code) {
        Some(found) => &code[..found.start()],
        None => &code[..],
    };
    let code = expand_groups(&code.replace("pub(super)", "pub"));
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
