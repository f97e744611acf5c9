//! The inputs as they were at a git revision, read without checking anything out: per input
//! root, one `git ls-tree` lists the files and one `git cat-file --batch` reads them all, so
//! that 20,000 files cost two processes, not 20,000. Every path git prints is NUL-separated
//! (never quoted), and every blob's size is known before a byte of it is read. git runs on
//! the repository the user means alone (see [`repository`](crate::input::repository)),
//! never on one found among the inputs.

use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::source::{Skip, Sources};
use crate::diagnostic::{Code, Diagnostic};
use crate::input::load::{self, Filter, MAX_FILE_BYTES};
use crate::input::repository::Repository;

/// A file of the revision that the loader reads on disk: its object and where it is shown.
struct Blob {
    oid: String,
    shown: String,
}

/// Reads the files that `kotalc build paths` would read, as they are at `reference` in
/// `repository`, into `sources`, and records there what it passes over, by the loader's
/// rules; a file over the input limit is a diagnostic, as on disk. `reference` must have
/// been checked to be a revision, never an option.
pub fn read(
    repository: &Repository,
    paths: &[PathBuf],
    reference: &str,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(), Diagnostic> {
    for root in paths {
        let prefix = prefix(repository, root)?;
        let blobs = list(repository, root, &prefix, reference, sources, diagnostics)?;
        read_blobs(repository, reference, &blobs, sources, diagnostics)?;
    }
    Ok(())
}

/// The directory of `root` (itself, or the directory of a file) as a path inside the work
/// tree, `/`-separated and ending with `/`; empty for the work tree's top. A root outside the
/// work tree is refused: the revision holds nothing of it.
pub fn prefix(repository: &Repository, root: &Path) -> Result<String, Diagnostic> {
    let dir = if root.is_dir() {
        root
    } else {
        root.parent().unwrap_or(Path::new(""))
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let outside = || {
        Diagnostic::new(
            Code::Io,
            format!(
                "{} is not inside the repository at {}, so it has no revision there",
                display(root),
                repository.work_tree.display()
            ),
        )
        .help("run kotalc from the repository that holds the inputs, or name it with --repo DIR")
    };
    let resolved = std::fs::canonicalize(dir).map_err(|_| outside())?;
    let inside = resolved
        .strip_prefix(&repository.work_tree)
        .map_err(|_| outside())?;
    let mut prefix = String::new();
    for component in inside.components() {
        prefix.push_str(&component.as_os_str().to_string_lossy());
        prefix.push('/');
    }
    Ok(prefix)
}

/// The files of `root` at `reference` that the loader would read, by its rules
/// ([`Filter::enters`], [`Filter::takes`]): a file named is read whatever its name, and below
/// a directory, the entries the loader passes over on disk are recorded in `sources` as
/// passed over. A regular file is a blob of mode 100644 or 100755; a link (120000) or a
/// submodule is not, so a link's target is never read.
fn list(
    repository: &Repository,
    root: &Path,
    prefix: &str,
    reference: &str,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<Blob>, Diagnostic> {
    let directory = root.is_dir();
    let target = if directory {
        prefix.to_string()
    } else {
        format!(
            "{prefix}{}",
            root.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    };
    let spec = if target.is_empty() { "." } else { &target };
    // `--literal-pathspecs`: a directory named `*` is that directory, not a glob.
    let listing = git(
        repository,
        &[
            "--literal-pathspecs",
            "ls-tree",
            "-r",
            "-z",
            "--long",
            "--full-tree",
            "--end-of-options",
            reference,
            "--",
            spec,
        ],
    )?;
    // `<mode> <type> <object> <size>\t<path>`, each record ended by NUL; the paths relative to
    // the directory named.
    let entries: Vec<(&[u8], String)> = listing
        .split(|&b| b == 0)
        .filter_map(|record| {
            let tab = record.iter().position(|&b| b == b'\t')?;
            let path = String::from_utf8_lossy(&record[tab + 1..]);
            let relative = match path.strip_prefix(target.as_str()) {
                Some(relative) if directory => relative.trim_start_matches('/').to_string(),
                _ => path.into_owned(),
            };
            Some((&record[..tab], relative))
        })
        .collect();
    let marked: HashSet<&str> = entries
        .iter()
        .filter_map(|(_, f)| f.strip_suffix(load::MARKER)?.strip_suffix('/'))
        .collect();
    // From the working directory, as every diagnostic path is.
    let shown_root = display(root);
    let shown = |relative: &str| {
        let shown = if !directory {
            shown_root.clone()
        } else {
            match shown_root.trim_end_matches('/') {
                "." => relative.to_string(),
                root => format!("{root}/{relative}"),
            }
        };
        format!("{shown}@{reference}")
    };
    let mut passed = Vec::new();
    let mut blobs = Vec::new();
    'entries: for (meta, file) in &entries {
        let meta = String::from_utf8_lossy(meta);
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [mode, kind, oid, size] = fields[..] else {
            continue;
        };
        let regular = kind == "blob" && matches!(mode, "100644" | "100755");
        if directory {
            // Each directory on the way down, as the walk on disk meets it.
            for (end, _) in file.match_indices('/') {
                let dir = &file[..end];
                let name = dir.rsplit('/').next().unwrap_or(dir);
                if let Err(why) = Filter::INPUTS.enters(name, || marked.contains(dir)) {
                    passed.push((dir, why, true));
                    continue 'entries;
                }
            }
            if let Err(why) = Filter::INPUTS.takes(Path::new(file), regular) {
                passed.push((file, why, false));
                continue;
            }
        } else if !regular {
            passed.push((file, Skip::NotRegular, false));
            continue;
        }
        let shown = shown(file);
        if size.parse::<u64>().map_or(true, |s| s > MAX_FILE_BYTES) {
            diagnostics.push(load::too_large(shown));
            continue;
        }
        blobs.push(Blob {
            oid: oid.to_string(),
            shown,
        });
    }
    // In the order of the walk on disk: bytewise, a directory by its name alone.
    passed.sort_by_key(|(path, ..)| *path);
    passed.dedup_by_key(|(path, ..)| *path);
    for (path, why, dir) in passed {
        let slash = if dir { "/" } else { "" };
        sources.pass(shown(&format!("{path}{slash}")), why);
    }
    Ok(blobs)
}

/// Reads `blobs` with one `git cat-file --batch`, each within the input limit: the size is
/// in the header that precedes the content, so a larger blob is skipped, never held.
fn read_blobs(
    repository: &Repository,
    reference: &str,
    blobs: &[Blob],
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(), Diagnostic> {
    if blobs.is_empty() {
        return Ok(());
    }
    let failed = |e: io::Error| {
        Diagnostic::new(
            Code::Io,
            format!(
                "cannot read the inputs at {reference} with git cat-file: {}",
                io_reason(&e)
            ),
        )
    };
    let mut child = repository
        .git()
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(failed)?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(failed(io::Error::other("no pipe to git")));
    };
    let requests: String = blobs.iter().map(|b| format!("{}\n", b.oid)).collect();
    let read = std::thread::scope(|scope| {
        // Written while the answers are read: either pipe alone would fill and stall git.
        let writer = scope.spawn(move || stdin.write_all(requests.as_bytes()));
        let mut out = BufReader::with_capacity(1 << 20, stdout);
        let mut result = Ok(());
        for blob in blobs {
            result = read_one(&mut out, blob, sources, diagnostics);
            if result.is_err() {
                break;
            }
        }
        // Closing the answers' pipe ends a git that still writes (after an error).
        drop(out);
        let written = writer.join().unwrap_or(Ok(()));
        result.and(written.or_else(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e)
            }
        }))
    });
    let _ = child.wait();
    read.map_err(failed)
}

/// One answer of `git cat-file --batch`: `<object> <type> <size>\n<content>\n`.
fn read_one(
    out: &mut impl BufRead,
    blob: &Blob,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> io::Result<()> {
    let mut header = Vec::new();
    out.by_ref().take(1024).read_until(b'\n', &mut header)?;
    let header = String::from_utf8_lossy(&header);
    let size = match header.trim_end().split(' ').collect::<Vec<_>>()[..] {
        [_, "blob", size] => size.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| io::Error::other(format!("unexpected answer {:?}", header.trim_end())))?;
    if size > MAX_FILE_BYTES {
        io::copy(&mut out.by_ref().take(size + 1), &mut io::sink())?;
        diagnostics.push(load::too_large(blob.shown.clone()));
        return Ok(());
    }
    let mut bytes = vec![0; usize::try_from(size).map_err(io::Error::other)?];
    out.read_exact(&mut bytes)?;
    let mut newline = [0];
    out.read_exact(&mut newline)?;
    load::add_bytes(sources, diagnostics, &blob.shown, bytes);
    Ok(())
}

/// Runs git on `repository`; its output, or its complaint as a diagnostic.
pub fn git(repository: &Repository, args: &[&str]) -> Result<Vec<u8>, Diagnostic> {
    let out = repository
        .git()
        .args(args)
        .output()
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot run git: {}", io_reason(&e))))?;
    if !out.status.success() {
        return Err(Diagnostic::new(
            Code::Io,
            format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(out.stdout)
}
