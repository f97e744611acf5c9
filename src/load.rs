//! Finds the input files and reads them; every I/O problem names its path.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Sources;

/// Larger files are refused: no real resource file comes near it, and reading an unbounded
/// file into memory is how a plugin takes a repo server down.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Reads every input named by `paths` into `sources`, in a stable order: the paths as given,
/// and inside each directory every `*.yaml`/`*.yml` file sorted bytewise by path.
pub fn load(paths: &[PathBuf], sources: &mut Sources, diagnostics: &mut Vec<Diagnostic>) {
    load_files(paths, false, sources, diagnostics);
}

/// As `load`; with `json`, directories give their `*.json` files too (cluster exports).
pub fn load_files(
    paths: &[PathBuf],
    json: bool,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let several = paths.len() > 1;
    for root in paths {
        if root.as_os_str() == "-" {
            let mut bytes = Vec::new();
            let read = std::io::stdin()
                .lock()
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes);
            match read {
                Ok(_) => add(
                    sources,
                    diagnostics,
                    "<stdin>".into(),
                    "<stdin>".into(),
                    bytes,
                ),
                Err(e) => diagnostics.push(io_error("<stdin>", "cannot read standard input", &e)),
            }
            continue;
        }
        let shown_root = display(root);
        let meta = match fs::metadata(root) {
            Ok(meta) => meta,
            Err(e) => {
                diagnostics.push(io_error(&shown_root, "cannot read input path", &e));
                continue;
            }
        };
        if meta.is_dir() {
            for path in walk(root, &shown_root, json, diagnostics) {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let shown = if several {
                    format!("{}/{}", shown_root.trim_end_matches('/'), display(relative))
                } else {
                    display(relative)
                };
                read_file(&path, shown, sources, diagnostics);
            }
        } else if meta.is_file() {
            read_file(root, shown_root, sources, diagnostics);
        } else {
            // A FIFO or a device would block or never end.
            diagnostics.push(
                Diagnostic::new(Code::Io, "not a regular file or a directory").path(shown_root),
            );
        }
    }
}

/// The YAML files below `root`, sorted bytewise. Hidden entries are skipped, links are not
/// followed, `kustomization.yaml` files are not resources, and a tree kotalc rendered (it
/// holds the marker file) is output, never input.
fn walk(
    root: &Path,
    shown_root: &str,
    json: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_name().to_string_lossy().starts_with('.')
                    || e.file_type().is_dir() && e.path().join(crate::emit::MARKER).exists())
        });
    for entry in walker {
        match entry {
            Ok(entry)
                if entry.file_type().is_file()
                    && (is_resource_file(entry.path())
                        || json && entry.path().extension().is_some_and(|e| e == "json")) =>
            {
                found.push(entry.into_path());
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().map_or_else(|| shown_root.to_string(), display);
                let message = match e.io_error() {
                    Some(io) => format!("cannot read directory entry: {}", io_reason(io)),
                    None => format!("cannot walk directory: {e}"),
                };
                diagnostics.push(Diagnostic::new(Code::Io, message).path(path));
            }
        }
    }
    found.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    found
}

fn is_resource_file(path: &Path) -> bool {
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    yaml && !matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn read_file(path: &Path, shown: String, sources: &mut Sources, diagnostics: &mut Vec<Diagnostic>) {
    let full = display(path).trim_start_matches("./").to_string();
    // Diagnostics name the file as given from the working directory, as every format does.
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) => return diagnostics.push(io_error(&full, "cannot open file", &e)),
    };
    let mut bytes = Vec::new();
    match file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
        Ok(_) => add(sources, diagnostics, shown, full, bytes),
        Err(e) => diagnostics.push(io_error(&full, "cannot read file", &e)),
    }
}

/// Adds bytes from elsewhere than a path (a fuzzer, a test) under the loader's rules: size
/// limit, UTF-8, byte-order mark.
pub fn add_bytes(
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
    display: &str,
    bytes: Vec<u8>,
) {
    add(
        sources,
        diagnostics,
        display.to_string(),
        display.to_string(),
        bytes,
    );
}

fn add(
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
    shown: String,
    full: String,
    bytes: Vec<u8>,
) {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        diagnostics.push(
            Diagnostic::new(
                Code::InputLimit,
                format!(
                    "file is larger than the input limit of {} MiB",
                    MAX_FILE_BYTES / 1024 / 1024
                ),
            )
            .path(full)
            .help("split the resources over several files"),
        );
        return;
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            sources.add_at(shown, full, text);
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            diagnostics.push(
                Diagnostic::new(
                    Code::Io,
                    format!("file is not valid UTF-8 (invalid byte at offset {at})"),
                )
                .path(full)
                .help("YAML files must be UTF-8 encoded"),
            );
        }
    }
}

fn io_error(path: &str, what: &str, e: &std::io::Error) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("{what}: {}", io_reason(e))).path(path)
}

/// The OS reason without Rust's "(os error N)" suffix, which means nothing to users.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A path as users see it: `/` separators, no leading `./`.
pub fn display(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let trimmed = text.strip_prefix("./").unwrap_or(&text);
    if trimmed.is_empty() {
        ".".into()
    } else {
        trimmed.to_string()
    }
}

/// The files below `paths` that the loader skips (not `*.yaml`/`*.yml`, hidden, a
/// kustomization, a link, or in a tree kotalc rendered), for the error of an input with no
/// resource. At most `limit` are named; the count is of all of them.
pub fn skipped(paths: &[PathBuf], limit: usize) -> (Vec<String>, usize) {
    let mut named = Vec::new();
    let mut count = 0;
    for root in paths.iter().filter(|p| p.is_dir()) {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name();
        for entry in walker.into_iter().flatten() {
            let file = entry.file_type().is_file() || entry.file_type().is_symlink();
            if entry.depth() == 0 || !file {
                continue;
            }
            let path = entry.path();
            let hidden = path
                .strip_prefix(root)
                .unwrap_or(path)
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            let rendered = path
                .ancestors()
                .skip(1)
                .take_while(|a| a.starts_with(root))
                .any(|a| a.join(crate::emit::MARKER).exists());
            if hidden || rendered || entry.file_type().is_symlink() || !is_resource_file(path) {
                count += 1;
                if named.len() < limit {
                    named.push(display(path));
                }
            }
        }
    }
    (named, count)
}
