//! Finds the input files and reads them; every I/O problem names its path.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::path::{display, io_error, io_reason};
use crate::diagnostic::source::{Skip, Sources};
use crate::diagnostic::{Code, Diagnostic};
use crate::input::repository;

/// Larger files are refused: no real resource file comes near it, and reading an unbounded
/// file into memory is how a plugin takes a repo server down.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// What a reader takes from an input path.
#[derive(Clone, Copy, Debug)]
pub struct Filter {
    /// Directories give their `*.json` files too (cluster exports).
    pub json: bool,
    /// Output as well as inputs: trees kotalc rendered, hidden entries and kustomization files
    /// below a directory are read, not skipped.
    pub output: bool,
    /// A pipe or socket named as the path is read as a stream, as `-` is
    /// (`<(kubectl get ...)`); otherwise it is refused, since it could block or never end.
    pub pipes: bool,
    /// Files are opened through links. Only a path named can be one: a link below a directory
    /// is never followed.
    pub follow: bool,
    /// The inputs of a repository: a path named must resolve inside the repository that holds
    /// the current directory (see [`confine`]), and a directory below it that looks like a
    /// git repository is named in a warning.
    pub confined: bool,
}

impl Filter {
    /// What `build` reads: the `*.yaml`/`*.yml` resources, never kotalc's output.
    pub const INPUTS: Filter = Filter {
        json: false,
        output: false,
        pipes: false,
        follow: true,
        confined: true,
    };

    /// Whether a directory below an input directory is entered: a hidden one is not, nor a
    /// tree kotalc rendered (it holds the [`MARKER`] file), unless output is read too. The
    /// rule for the disk and for a revision alike.
    pub fn enters(self, name: &str, holds_marker: impl FnOnce() -> bool) -> Result<(), Skip> {
        if self.output {
            Ok(())
        } else if name.starts_with('.') {
            Err(Skip::Hidden)
        } else if holds_marker() {
            Err(Skip::Output)
        } else {
            Ok(())
        }
    }

    /// Whether a file below an input directory is read: a regular file with a wanted name
    /// (a resource file's, or any `*.yaml`/`*.yml` with output; `*.json` too with `json`),
    /// not hidden unless output is read too. The rule for the disk and for a revision alike.
    pub fn takes(self, path: &Path, regular: bool) -> Result<(), Skip> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let extension = path.extension().and_then(|e| e.to_str());
        let yaml = if self.output {
            matches!(extension, Some("yaml" | "yml"))
        } else {
            is_resource_file(path)
        };
        if !self.output && name.starts_with('.') {
            Err(Skip::Hidden)
        } else if !(yaml || self.json && extension == Some("json")) {
            Err(Skip::Name)
        } else if !regular {
            Err(Skip::NotRegular)
        } else {
            Ok(())
        }
    }
}

/// What a reader finds below an input path.
#[derive(Debug)]
pub enum Found {
    /// A file and its bytes, read within [`MAX_FILE_BYTES`]; standard input is `-`.
    File(PathBuf, std::io::Result<Vec<u8>>),
    /// An entry below a directory with a wanted name that is not a regular file (a link, a
    /// FIFO): never followed, never read.
    Unread(PathBuf),
}

/// The files of one input path under `filter`, each read when the iterator reaches it: `-` is
/// standard input, and a directory gives the files below it sorted bytewise by path. What
/// keeps files from being found (a path that does not exist, a directory entry that cannot be
/// listed) is reported in `diagnostics` before any file is read.
pub fn read(
    root: &Path,
    filter: Filter,
    diagnostics: &mut Vec<Diagnostic>,
) -> impl Iterator<Item = Found> + use<> {
    list(root, filter, diagnostics)
        .into_iter()
        .filter_map(move |listed| match listed {
            Listed::File { path, stream } => {
                let bytes = read_listed(&path, stream, filter.follow);
                Some(Found::File(path, bytes))
            }
            Listed::Passed {
                path,
                why: Skip::NotRegular,
                ..
            } => Some(Found::Unread(path)),
            Listed::Passed { .. } => None,
        })
}

/// An entry of one walk: a file to read, or an entry passed over and why.
enum Listed {
    /// Read as a stream (standard input, a pipe named), or as a regular file.
    File {
        path: PathBuf,
        stream: bool,
    },
    Passed {
        path: PathBuf,
        why: Skip,
        dir: bool,
    },
}

fn read_listed(path: &Path, stream: bool, follow: bool) -> std::io::Result<Vec<u8>> {
    if !stream {
        read_regular(path, MAX_FILE_BYTES, follow)
    } else if path.as_os_str() == "-" {
        read_stream(std::io::stdin().lock(), MAX_FILE_BYTES)
    } else {
        fs::File::open(path).and_then(|f| read_stream(f, MAX_FILE_BYTES))
    }
}

fn list(root: &Path, filter: Filter, diagnostics: &mut Vec<Diagnostic>) -> Vec<Listed> {
    if root.as_os_str() == "-" {
        return vec![Listed::File {
            path: root.to_path_buf(),
            stream: true,
        }];
    }
    let shown_root = display(root);
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(e) => {
            diagnostics.push(io_error(&shown_root, "cannot read input path", &e));
            return Vec::new();
        }
    };
    if filter.confined
        && let Err(d) = confine(root, "the input path")
    {
        diagnostics.push(d);
        return Vec::new();
    }
    let pipe = {
        use std::os::unix::fs::FileTypeExt;
        meta.file_type().is_fifo() || meta.file_type().is_socket()
    };
    if meta.is_dir() {
        walk(root, &shown_root, filter, diagnostics)
    } else if meta.is_file() {
        vec![Listed::File {
            path: root.to_path_buf(),
            stream: false,
        }]
    } else if pipe && filter.pipes {
        vec![Listed::File {
            path: root.to_path_buf(),
            stream: true,
        }]
    } else {
        // A FIFO or a device would block or never end.
        diagnostics
            .push(Diagnostic::new(Code::Io, "not a regular file or a directory").path(shown_root));
        Vec::new()
    }
}

/// Reads every input named by `paths` into `sources`, in a stable order: the paths as given,
/// and inside each directory every `*.yaml`/`*.yml` file sorted bytewise by path.
pub fn load(paths: &[PathBuf], sources: &mut Sources, diagnostics: &mut Vec<Diagnostic>) {
    load_files(paths, Filter::INPUTS, sources, diagnostics);
}

/// As `load`, under another filter.
pub fn load_files(
    paths: &[PathBuf],
    filter: Filter,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let several = paths.len() > 1;
    for root in paths {
        load_root(root, several, filter, sources, diagnostics);
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
        load_root(root, several, Filter::INPUTS, sources, diagnostics);
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
    filter: Filter,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let shown_root = display(root);
    // Diagnostics name the file as given from the working directory, as every format does.
    let full = |path: &Path| display(path).trim_start_matches("./").to_string();
    for listed in list(root, filter, diagnostics) {
        let (path, bytes) = match listed {
            Listed::File { path, stream } => {
                let bytes = read_listed(&path, stream, filter.follow);
                (path, bytes)
            }
            Listed::Passed { path, why, dir } => {
                let slash = if dir { "/" } else { "" };
                sources.pass(format!("{}{slash}", full(&path)), why);
                continue;
            }
        };
        let (shown, full, what) = if root.as_os_str() == "-" {
            let stdin = String::from("<stdin>");
            (stdin.clone(), stdin, "cannot read standard input")
        } else {
            let full = full(&path);
            let shown = if path == root {
                shown_root.clone()
            } else {
                let relative = display(path.strip_prefix(root).unwrap_or(&path));
                if several {
                    format!("{}/{relative}", shown_root.trim_end_matches('/'))
                } else {
                    relative
                }
            };
            (shown, full, "cannot read file")
        };
        match bytes {
            Ok(bytes) => add(sources, diagnostics, shown, full, bytes),
            Err(e) if e.to_string().starts_with("larger than") => {
                diagnostics.push(too_large(full));
            }
            Err(e) => diagnostics.push(io_error(&full, what, &e)),
        }
    }
}

/// Every entry below `root`, sorted bytewise: the files `filter` takes, and those it passes
/// over with the reason (a directory not entered stands for everything below it). Links are
/// not followed.
fn walk(
    root: &Path,
    shown_root: &str,
    filter: Filter,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Listed> {
    let mut listed = Vec::new();
    let mut repositories = Vec::new();
    let mut entries = walkdir::WalkDir::new(root).follow_links(false).into_iter();
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().map_or_else(|| shown_root.to_string(), display);
                let message = match e.io_error() {
                    Some(io) => format!("cannot read directory entry: {}", io_reason(io)),
                    None => format!("cannot walk directory: {e}"),
                };
                diagnostics.push(Diagnostic::new(Code::Io, message).path(path));
                continue;
            }
        };
        let dir = entry.file_type().is_dir();
        let taken = if entry.depth() == 0 {
            // The root: walked, never listed. Named through a link, the entry is the link.
            if !dir {
                continue;
            }
            Ok(())
        } else if dir {
            let name = entry.file_name().to_string_lossy();
            filter.enters(&name, || entry.path().join(MARKER).exists())
        } else {
            filter.takes(entry.path(), entry.file_type().is_file())
        };
        match taken {
            Err(why) => {
                if dir {
                    entries.skip_current_dir();
                }
                listed.push(Listed::Passed {
                    path: entry.into_path(),
                    why,
                    dir,
                });
            }
            Ok(()) if !dir => listed.push(Listed::File {
                path: entry.into_path(),
                stream: false,
            }),
            Ok(()) => {
                if filter.confined && repository::looks_like_repository(entry.path()) {
                    repositories.push(entry.into_path());
                }
            }
        }
    }
    listed.sort_by_cached_key(|listed| match listed {
        Listed::File { path, .. } | Listed::Passed { path, .. } => {
            path.as_os_str().as_encoded_bytes().to_vec()
        }
    });
    planted(repositories, diagnostics);
    listed
}

/// Names each directory among the inputs that looks like a git repository, but for the work
/// tree the user runs kotalc in: git would take such a directory, run from inside it, for a
/// repository with its own config and refs. kotalc reads its files as any others and never
/// runs git on it.
fn planted(mut directories: Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    if directories.is_empty() {
        return;
    }
    let own = repository::boundary().ok();
    directories.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    for dir in directories {
        if own.is_some() && fs::canonicalize(&dir).ok() == own {
            continue;
        }
        diagnostics.push(
            Diagnostic::new(
                Code::RepositoryInInputs,
                "this directory among the inputs looks like a git repository (a `.git`, or a \
                 bare repository's HEAD, objects/ and refs/); its files are read as plain \
                 files, and `diff --against-ref` never takes it for the repository",
            )
            .path(display(&dir))
            .help(
                "remove the repository's files from the inputs; `diff --against-ref` reads the \
                 work tree that holds the current directory, or the one --repo DIR names",
            ),
        );
    }
}

/// Refuses a path that resolves outside the repository that holds the current directory (or
/// outside the current directory, where no repository does), as kustomize's load restrictor
/// does: a link committed as `ipfs` -> `../secrets` must not make kotalc read, and echo,
/// files outside. A path that does not exist passes: whoever opens it reports that.
pub fn confine(path: &Path, what: &str) -> Result<(), Diagnostic> {
    let shown = display(path);
    let boundary = repository::boundary().map_err(|e| io_error(&shown, "cannot resolve", &e))?;
    // The nearest existing ancestor, resolved: an output directory need not exist yet.
    let mut existing = path.to_path_buf();
    let resolved = loop {
        match fs::canonicalize(if existing.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &existing
        }) {
            Ok(resolved) => break resolved,
            Err(_) if existing.pop() => {}
            Err(_) => return Ok(()),
        }
    };
    if resolved.starts_with(&boundary) {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::InputOutside,
        format!(
            "{what} resolves to {}, outside {}",
            display(&resolved),
            display(&boundary)
        ),
    )
    .path(shown)
    .help(
        "kotalc reads and writes only inside the repository that holds the current directory \
         (or the current directory, outside a repository), whatever links lead elsewhere: run \
         it from the repository that holds this path",
    ))
}

/// The name of what `path` resolves to, through its links (`.` gives the current directory's
/// name); none for a path that does not resolve or has no name, such as `/`.
pub fn resolved_name(path: &Path) -> Option<String> {
    fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// Whether `path`, resolved through its links, lies outside the current directory. A path
/// that does not resolve (it does not exist) is not: whoever opens it reports that.
pub fn resolves_outside_current_dir(path: &Path) -> bool {
    matches!(
        (fs::canonicalize(path), std::env::current_dir().and_then(fs::canonicalize)),
        (Ok(real), Ok(root)) if !real.starts_with(&root)
    )
}

/// A `*.yaml` or `*.yml` file that is not a kustomization: what an input directory's reader
/// takes for a resource.
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

/// The file that marks a directory as kotalc's and lists what kotalc wrote there, in
/// `sha256sum` format so that `sha256sum -c .kotalc-files` checks it too.
pub const MARKER: &str = ".kotalc-files";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_name_why_an_entry_is_passed_over() {
        let inputs = Filter::INPUTS;
        assert_eq!(inputs.enters("ipfs", || false), Ok(()));
        assert_eq!(inputs.enters(".git", || false), Err(Skip::Hidden));
        assert_eq!(inputs.enters("out", || true), Err(Skip::Output));
        assert_eq!(inputs.takes(Path::new("a/peer.yml"), true), Ok(()));
        assert_eq!(
            inputs.takes(Path::new("a/.peer.yaml"), true),
            Err(Skip::Hidden)
        );
        assert_eq!(
            inputs.takes(Path::new("a/peer.json"), true),
            Err(Skip::Name)
        );
        let kustomization = Path::new("a/kustomization.yaml");
        assert_eq!(inputs.takes(kustomization, true), Err(Skip::Name));
        assert_eq!(
            inputs.takes(Path::new("a/l.yaml"), false),
            Err(Skip::NotRegular)
        );
        // Reading output as well: everything is entered, and every YAML file taken.
        let output = Filter {
            json: true,
            output: true,
            ..inputs
        };
        assert_eq!(output.enters(".hidden", || true), Ok(()));
        assert_eq!(output.takes(kustomization, true), Ok(()));
        assert_eq!(output.takes(Path::new("a/export.json"), true), Ok(()));
    }
}
