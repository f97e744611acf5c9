//! Finds the input files and reads them; every I/O problem names its path.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic};

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
        load_root(root, several, json, sources, diagnostics);
    }
}

/// [`load`], returning for each file read the index of its input root and its path relative
/// to that root (a file given by path: its name; standard input: `stdin.yaml`), by file id.
/// `kotalc migrate` writes its output at these paths, inside its output directory.
pub fn load_rooted(
    paths: &[PathBuf],
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> std::collections::BTreeMap<crate::diagnostic::source::FileId, (usize, PathBuf)> {
    let mut rooted = std::collections::BTreeMap::new();
    let several = paths.len() > 1;
    for (index, root) in paths.iter().enumerate() {
        let first = sources.iter().count();
        load_root(root, several, false, sources, diagnostics);
        let added: Vec<(crate::diagnostic::source::FileId, String)> = sources
            .iter()
            .skip(first)
            .map(|(id, f)| (id, f.path.clone()))
            .collect();
        for (id, path) in added {
            let path = Path::new(&path);
            let relative = if root.as_os_str() == "-" {
                PathBuf::from("stdin.yaml")
            } else if root.is_dir() {
                let root_shown = display(root);
                let root_shown = root_shown.trim_start_matches("./");
                if root_shown == "." {
                    path.to_path_buf()
                } else {
                    path.strip_prefix(root_shown).unwrap_or(path).to_path_buf()
                }
            } else {
                PathBuf::from(path.file_name().unwrap_or_default())
            };
            rooted.insert(id, (index, relative));
        }
    }
    rooted
}

fn load_root(
    root: &Path,
    several: bool,
    json: bool,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) {
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
        return;
    }
    let shown_root = display(root);
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(e) => {
            diagnostics.push(io_error(&shown_root, "cannot read input path", &e));
            return;
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
        diagnostics
            .push(Diagnostic::new(Code::Io, "not a regular file or a directory").path(shown_root));
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
                    || e.file_type().is_dir() && e.path().join(crate::input::load::MARKER).exists())
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
    match read_regular(path, MAX_FILE_BYTES, true) {
        Ok(bytes) => add(sources, diagnostics, shown, full, bytes),
        Err(e) if e.to_string().starts_with("larger than") => {
            diagnostics.push(too_large(full));
        }
        Err(e) => diagnostics.push(io_error(&full, "cannot read file", &e)),
    }
}

/// Reads a regular file of at most `limit` bytes. Anything else is refused before a byte is
/// read: a FIFO or a device (which would block or never end), a file over the limit, and,
/// unless `follow`, a symbolic link (which could point anywhere on the machine). The file
/// is opened non-blocking, so that a FIFO swapped in after the check cannot hang the open.
pub fn read_regular(path: &Path, limit: u64, follow: bool) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::OpenOptionsExt;
    let refuse = |what: &str| Error::new(ErrorKind::InvalidInput, what.to_string());
    if !follow && fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(refuse("a symbolic link, not followed"));
    }
    let mut flags = rustix::fs::OFlags::NONBLOCK;
    if !follow {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(flags.bits()).unwrap_or(0))
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refuse(if meta.is_dir() {
            "a directory, not a file"
        } else {
            "not a regular file"
        }));
    }
    if meta.len() > limit {
        return Err(refuse(&format!("larger than the limit of {}", size(limit))));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(refuse(&format!("larger than the limit of {}", size(limit))));
    }
    Ok(bytes)
}

/// Reads at most `limit` bytes from a stream (standard input); more is an error, not a
/// truncation.
pub fn read_stream(stream: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    stream.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than the limit of {}", size(limit)),
        ));
    }
    Ok(bytes)
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
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
        diagnostics.push(too_large(full));
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

pub fn too_large(path: String) -> Diagnostic {
    Diagnostic::new(
        Code::InputLimit,
        format!(
            "file is larger than the input limit of {} MiB",
            MAX_FILE_BYTES / 1024 / 1024
        ),
    )
    .path(path)
    .help("split the resources over several files")
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
                .any(|a| a.join(crate::input::load::MARKER).exists());
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

/// The file that marks a directory as kotalc's and lists what kotalc wrote there, in
/// `sha256sum` format so that `sha256sum -c .kotalc-files` checks it too.
pub const MARKER: &str = ".kotalc-files";
