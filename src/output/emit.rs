//! Ordering, canonical YAML, and the two outputs: a stream on stdout, or a directory tree
//! that is swapped in whole so that nothing is ever half-written or lost.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::{Code, Diagnostic};
use crate::kube::manifest::Object;

/// The marker of a tree `kotalc migrate` wrote: inputs, so the loader reads it.
pub const MIGRATE_MARKER: &str = ".kotalc-migrated";
/// The marker of a tree `kotalc import` wrote: inputs too.
pub const IMPORT_MARKER: &str = ".kotalc-imported";
/// The marker of a tree `kotalc new` wrote: inputs, never written again.
pub const GENERATED_MARKER: &str = ".kotalc-generated";

/// Canonical YAML of one object: keys sorted, block style, strings quoted where YAML 1.1
/// readers would misread them.
pub fn to_yaml(object: &Object) -> &str {
    &object.yaml
}

/// One document of the stream.
pub fn write_object(object: &Object, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"---\n")?;
    out.write_all(to_yaml(object).as_bytes())
}

/// Every file of an output directory, by relative path, with its content (the objects'
/// own text, not a copy).
pub fn tree(objects: &[Object]) -> Result<BTreeMap<String, Cow<'_, str>>, Diagnostic> {
    let mut files = BTreeMap::new();
    for object in objects {
        let Some(name) = crate::kube::manifest::file_inside(&object.key()) else {
            return Err(Diagnostic::new(
                Code::InvalidName,
                format!(
                    "{} {:?}{} cannot be written inside the output directory",
                    object.kind,
                    object.name,
                    object
                        .namespace
                        .as_ref()
                        .map(|ns| format!(" in namespace {ns:?}"))
                        .unwrap_or_default()
                ),
            )
            .at(object.origin));
        };
        if files
            .insert(name.clone(), Cow::Borrowed(to_yaml(object)))
            .is_some()
        {
            return Err(Diagnostic::new(
                Code::DuplicateObject,
                format!("two objects would be written to the same file `{name}`"),
            )
            .at(object.origin));
        }
    }
    let mut kustomization = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for name in files.keys() {
        kustomization.push_str(&format!("- {name}\n"));
    }
    files.insert("kustomization.yaml".into(), Cow::Owned(kustomization));
    Ok(files)
}

/// `relative` as a path below a directory: relative, and only plain components. Every path
/// kotalc writes, moves or deletes inside an output tree goes through this.
pub fn inside(root: &Path, relative: &str) -> Option<PathBuf> {
    use std::path::Component;
    let path = Path::new(relative);
    let plain =
        !relative.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| root.join(path))
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::ipfs::keys::hex(&Sha256::digest(bytes))
}

pub fn marker_text<S: AsRef<str>>(files: &BTreeMap<String, S>, marker: &str) -> String {
    marker_of(marker, files.keys().map(String::as_str).zip(sums_of(files)))
}

/// Each file's sha256, in the order of `files`, on every core.
fn sums_of<S: AsRef<str>>(files: &BTreeMap<String, S>) -> Vec<String> {
    use rayon::prelude::*;
    let contents: Vec<&str> = files.values().map(AsRef::as_ref).collect();
    contents
        .par_iter()
        .map(|content| sha256_hex(content.as_bytes()))
        .collect()
}

fn marker_of<'a>(marker: &str, sums: impl Iterator<Item = (&'a str, String)>) -> String {
    let mut text = String::from(marker_header(marker));
    for (name, sum) in sums {
        text.push_str(&format!("{sum}  {name}\n"));
    }
    text
}

/// The comment that opens a marker, saying what the tree is.
fn marker_header(marker: &str) -> &'static str {
    if marker == crate::input::load::MARKER {
        "# Written by kotalc. Every file listed here is replaced by the next `kotalc build -o`;\n\
         # edit the inputs, not these files.\n"
    } else if marker == GENERATED_MARKER {
        "# Written by kotalc new, with fresh keys. kotalc never writes here again: edit these\n\
         # files as your own.\n"
    } else if marker == IMPORT_MARKER {
        "# Written by kotalc import. A file that still matches its sum here is replaced by the\n\
         # next `kotalc import -o`; edited files are kept unless --force.\n"
    } else {
        "# Written by kotalc migrate. A file that still matches its sum here is replaced by the\n\
         # next `kotalc migrate -o`; edited files are kept unless --force.\n"
    }
}

/// Files kotalc reads back from an output directory (its own outputs and markers) are
/// never larger than this; a larger one is not kotalc's.
pub const MAX_OUTPUT_FILE: u64 = crate::input::load::MAX_FILE_BYTES;

/// A file of an output directory: its bytes if it is a regular file within the limit, never
/// following a link.
pub fn read_owned(path: &Path) -> io::Result<Vec<u8>> {
    crate::input::load::read_regular(path, MAX_OUTPUT_FILE, false)
}

/// What an existing output directory holds, as far as ownership goes.
enum Existing {
    Absent,
    Empty(fs::Metadata),
    Owned {
        listed: BTreeMap<String, Vec<String>>,
        meta: fs::Metadata,
    },
    Foreign,
}

/// The marker's listing: relative path to each sum it may have (two while an update runs,
/// see [`crate::output::update`]).
fn listing(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut listed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (hash, name) in text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once("  "))
    {
        listed
            .entry(name.to_string())
            .or_default()
            .push(hash.to_string());
    }
    listed
}

fn inspect(dir: &Path, marker: &str) -> Result<Existing, Diagnostic> {
    let shown = display(dir);
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => {
            return Err(out_error(
                &shown,
                &format!("cannot read: {}", io_reason(&e)),
            ));
        }
    };
    if meta.file_type().is_symlink() {
        return Err(out_error(&shown, "is a symbolic link").help(
            "kotalc never follows links in or to the output: name the directory it points to",
        ));
    }
    if !meta.is_dir() {
        return Err(out_error(&shown, "exists and is not a directory"));
    }
    let mut entries = fs::read_dir(dir).map_err(|e| out_error(&shown, &io_reason(&e)))?;
    if entries.next().is_none() {
        return Ok(Existing::Empty(meta));
    }
    match read_owned(&dir.join(marker)) {
        Ok(bytes) => Ok(Existing::Owned {
            listed: listing(&String::from_utf8_lossy(&bytes)),
            meta,
        }),
        Err(_) => Ok(Existing::Foreign),
    }
}

/// Every file below `dir`, relative, except the marker. Links and other non-directories are
/// listed as files: they are never followed.
pub fn files_in(dir: &Path, marker: &str) -> Result<BTreeSet<String>, Diagnostic> {
    let mut found = BTreeSet::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.map_err(|e| out_error(&display(dir), &e.to_string()))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = display(entry.path().strip_prefix(dir).unwrap_or(entry.path()));
        if relative != marker {
            found.insert(relative);
        }
    }
    Ok(found)
}

/// The files of an output directory, for a check of what it holds: as [`files_in`], none
/// where it does not exist or is not a directory, and a link to it refused, never followed.
pub fn files_present(dir: &Path) -> Result<BTreeSet<String>, Diagnostic> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(
            Diagnostic::new(Code::OutputDir, "output directory is a symbolic link")
                .path(display(dir))
                .help(
                    "kotalc never follows links in or to the output: name the directory it \
                     points to",
                ),
        );
    }
    if dir.is_dir() {
        files_in(dir, "")
    } else {
        Ok(BTreeSet::new())
    }
}

/// Whether `dir` is a directory that holds anything: a directory kotalc writes only when it
/// is new or empty is refused otherwise.
pub fn holds_entries(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// How `write_dir` went, for the summary line.
#[derive(Debug, Default)]
pub struct Written {
    pub files: usize,
    /// In an update of a tree kotalc owns, how many files were written; `None` when the whole
    /// tree was.
    pub updated: Option<usize>,
    pub removed: Vec<String>,
    /// Files kotalc did not write, kept in the new tree.
    pub kept: Vec<String>,
    /// Whether the directory already held exactly this: nothing was written.
    pub unchanged: bool,
    /// Trees beside the output directory named like kotalc's leftovers that kotalc cannot
    /// prove its own, with why: they are left as they are.
    pub left_alone: Vec<String>,
}

impl Written {
    /// Names the leftovers kotalc left alone, on stderr.
    pub fn warn_left_alone(&self) {
        for what in &self.left_alone {
            eprintln!("kotalc: warning: {}", crate::diagnostic::inert(what));
        }
    }
}

/// Refuses an output directory that holds one of the inputs: replacing it would delete them.
pub fn check_overlap(dir: &Path, inputs: &[PathBuf]) -> Result<(), Diagnostic> {
    let Ok(out) = fs::canonicalize(dir) else {
        return Ok(());
    };
    let inputs: Vec<PathBuf> = if inputs.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        inputs.to_vec()
    };
    for input in inputs.iter().filter(|i| i.as_os_str() != "-") {
        if let Ok(input) = fs::canonicalize(input)
            && input.starts_with(&out)
        {
            return Err(out_error(
                &display(dir),
                &format!("holds the input {}", display(input.as_path())),
            )
            .help("kotalc replaces the whole output directory: keep the inputs outside it"));
        }
    }
    Ok(())
}

/// The input directory that holds the output directory `dir`, resolved: a command whose
/// output is input would read it back, and copy it into itself one level deeper each run.
pub fn input_holding(dir: &Path, inputs: &[PathBuf]) -> Option<PathBuf> {
    let out = fs::canonicalize(dir).ok()?;
    inputs
        .iter()
        .filter_map(|p| fs::canonicalize(p).ok())
        .find(|root| root.is_dir() && out.starts_with(root))
}

/// The output directory as a place kotalc can swap a tree into: named by a final component
/// (not `.` or `..`), not the working directory or one of its parents, not a mount point.
fn placement(dir: &Path) -> Result<(PathBuf, String), Diagnostic> {
    let shown = display(dir);
    let base = match dir.components().next_back() {
        Some(std::path::Component::Normal(name)) => name.to_string_lossy().into_owned(),
        _ => {
            return Err(
                out_error(&shown, "is not named by its last component").help(
                    "kotalc builds the new tree beside the output directory and swaps it in: \
                 name a directory, such as `rendered`, not `.` or `..`",
                ),
            );
        }
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if let (Ok(out), Ok(cwd)) = (fs::canonicalize(dir), std::env::current_dir())
        && cwd.starts_with(&out)
    {
        return Err(
            out_error(&shown, "is the working directory or one of its parents")
                .help("name a directory below the working directory, such as `rendered`"),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(d), Ok(p)) = (fs::symlink_metadata(dir), fs::metadata(&parent))
            && d.is_dir()
            && d.dev() != p.dev()
        {
            return Err(out_error(&shown, "is a mount point").help(
                "kotalc swaps a whole new tree in, which cannot replace a mount point: \
                 name a directory inside it",
            ));
        }
    }
    Ok((parent, base))
}

/// Writes `files` as the whole content of `dir`. `dir` must be absent, empty, or kotalc's
/// (it holds the marker). Files edited by hand since kotalc wrote them are kept unless
/// `force`; files kotalc did not write are never touched: they are refused, or with `force`
/// kept. A new tree is built beside `dir` and renamed into place; a tree kotalc owns is
/// brought up to date in place (see [`crate::output::update`]): only files whose bytes change
/// are written, and an up-to-date tree is not written at all.
pub fn write_dir<S: AsRef<str>>(
    dir: &Path,
    files: &BTreeMap<String, S>,
    force: bool,
    marker: &str,
) -> Result<Written, Diagnostic> {
    let shown = display(dir);
    // Through a link in a parent, DIR could be anywhere on the machine.
    crate::input::load::confine(dir, "the output directory")?;
    let (parent, base) = placement(dir)?;
    let existing = inspect(dir, marker)?;
    let (listed, meta) = match &existing {
        Existing::Foreign => {
            return Err(out_error(
                &shown,
                &format!("is not empty and was not written by kotalc (it has no {marker})"),
            )
            .help(
                "name an empty or new directory; kotalc never replaces a directory it does not own",
            ));
        }
        Existing::Owned { listed, meta } => (listed, meta),
        Existing::Absent | Existing::Empty(_) => {
            let left_alone = remove_leftovers(&parent, &base, marker);
            let staging = parent.join(format!(".{base}.kotalc-new-{}", std::process::id()));
            let meta = match &existing {
                Existing::Empty(meta) => Some(meta),
                _ => None,
            };
            stage(&staging, files, marker, meta).map_err(|e| {
                out_error(
                    &shown,
                    &format!(
                        "cannot be written: kotalc builds the new tree beside it, in {}: {}",
                        display(&staging),
                        io_reason(&e)
                    ),
                )
            })?;
            let kept = swap(
                dir,
                &staging,
                &parent,
                &base,
                &existing,
                &BTreeMap::new(),
                force,
                marker,
            )?;
            return Ok(Written {
                files: files.len(),
                kept,
                left_alone,
                ..Written::default()
            });
        }
    };
    let present = files_in(dir, marker)?;
    let mut edited = Vec::new();
    let mut foreign = Vec::new();
    let mut taken = Vec::new();
    let mut writes = Vec::new();
    let mut removes = Vec::new();
    let mut removed = Vec::new();
    // Every sum a file may have while the update runs: its sum now, where kotalc replaces
    // or removes it, and its new sum.
    let mut sums: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let writes_into = |name: &str| {
        files
            .range(format!("{name}/")..)
            .next()
            .is_some_and(|(f, _)| f.starts_with(&format!("{name}/")))
    };
    for name in &present {
        let new = files.get_key_value(name.as_str());
        let path = dir.join(name);
        if writes_into(name) {
            taken.push(name.clone());
            continue;
        }
        match (listed.get(name), read_owned(&path)) {
            (Some(_), Ok(bytes))
                if new.is_some_and(|(_, content)| content.as_ref().as_bytes() == bytes) => {}
            (Some(hashes), Ok(bytes)) => {
                let hash = sha256_hex(&bytes);
                if !hashes.contains(&hash) {
                    edited.push(name.clone());
                }
                // What was read, to be sure it is what gets replaced or removed.
                let Ok(stat) = crate::output::owned::stat_at(
                    crate::output::owned::open_dir(path.parent().unwrap_or(dir))
                        .map_err(|e| out_error(&shown, &io_reason(&e)))?,
                    path.file_name().unwrap_or_default(),
                ) else {
                    taken.push(name.clone());
                    continue;
                };
                let seen = crate::output::update::Seen::of(&stat);
                match new {
                    Some((key, content)) => {
                        sums.insert(key, vec![hash]);
                        writes.push((key.as_str(), content.as_ref(), Some(seen)));
                    }
                    None => {
                        sums.insert(name, vec![hash]);
                        removes.push((name.clone(), seen));
                        removed.push(name.clone());
                    }
                }
            }
            // A link or a special file where kotalc writes a file, or a directory it writes
            // into, is not kotalc's.
            _ if new.is_some() => taken.push(name.clone()),
            _ => foreign.push(name.clone()),
        }
    }
    for (name, content) in files {
        if !present.contains(name) {
            // Nothing is there, or a directory is: kotalc writes no file over it.
            if inside(dir, name).is_none_or(|target| fs::symlink_metadata(target).is_ok()) {
                taken.push(name.clone());
                continue;
            }
            writes.push((name.as_str(), content.as_ref(), None));
        }
    }
    let mut lines = Vec::new();
    if !force {
        lines.extend(
            edited
                .iter()
                .map(|f| format!("edited since kotalc wrote it: {f}")),
        );
        lines.extend(
            foreign
                .iter()
                .map(|f| format!("not written by kotalc: {f}")),
        );
    }
    lines.extend(
        taken
            .iter()
            .map(|f| format!("not written by kotalc, and kotalc would write it: {f}")),
    );
    if !lines.is_empty() {
        let help = if taken.is_empty() {
            "move them away, or pass --force to replace the edited files and keep the others"
        } else {
            "move them away; --force never replaces a file kotalc did not write"
        };
        let mut error = out_error(
            &shown,
            "holds changes made by hand; refusing to overwrite them",
        );
        error.help = lines;
        return Err(error.help_line(help));
    }
    let left_alone = remove_leftovers(&parent, &base, marker);
    let new_sums = sums_of(files);
    let final_marker = marker_of(
        marker,
        files
            .keys()
            .map(String::as_str)
            .zip(new_sums.iter().cloned()),
    );
    let marker_current = read_owned(&dir.join(marker)).is_ok_and(|b| b == final_marker.as_bytes());
    if writes.is_empty() && removes.is_empty() && marker_current {
        return Ok(Written {
            files: files.len(),
            kept: foreign,
            left_alone,
            unchanged: true,
            ..Written::default()
        });
    }
    for (name, sum) in files.keys().zip(new_sums) {
        let entry = sums.entry(name.as_str()).or_default();
        if !entry.contains(&sum) {
            entry.push(sum);
        }
    }
    let updated = Some(writes.len());
    let plan = crate::output::update::Plan {
        writes,
        removes,
        journal: crate::output::update::journal(marker_header(marker), &sums),
        marker: final_marker,
    };
    let staging = parent.join(format!(".{base}.kotalc-new-{}", std::process::id()));
    let group = {
        use std::os::unix::fs::MetadataExt;
        (meta.mode() & 0o2000 != 0).then(|| meta.gid())
    };
    use crate::output::update::Stopped;
    crate::output::update::apply(dir, &staging, &plan, group).map_err(|stopped| match stopped {
        Stopped::Untouched(e) => out_error(
            &shown,
            &format!(
                "cannot be written: kotalc stages the changed files beside it, in {}: {}; \
                 nothing was replaced",
                display(&staging),
                io_reason(&e)
            ),
        ),
        Stopped::Partial(e) => out_error(
            &shown,
            &format!(
                "could not be completed ({}): some files are new, some old, and its {marker} \
                 says so",
                io_reason(&e)
            ),
        )
        .help("run kotalc again once the cause is fixed: it completes the tree"),
        Stopped::Changed(name) => out_error(
            &shown,
            &format!("changed while kotalc was writing it: {name} is not what kotalc read"),
        )
        .help(format!(
            "some files are new, some old, and its {marker} says so; run kotalc again"
        )),
    })?;
    Ok(Written {
        files: files.len(),
        updated,
        removed,
        kept: foreign,
        left_alone,
        unchanged: false,
    })
}

/// Builds the new tree at `staging`, which must not exist: kotalc never removes what it did
/// not create. On failure, what it created is removed.
fn stage<S: AsRef<str>>(
    staging: &Path,
    files: &BTreeMap<String, S>,
    marker: &str,
    like: Option<&fs::Metadata>,
) -> io::Result<()> {
    // DIR's parents come from the command line, as with `mkdir -p`; the staging tree itself
    // must be new.
    if let Some(parent) = staging.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::create_dir(staging).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            io::Error::new(
                e.kind(),
                "it is already there, and kotalc cannot prove it its own leftover: remove it",
            )
        } else {
            e
        }
    })?;
    let filled = fill(staging, files, marker, like);
    if filled.is_err() {
        let _ = crate::output::owned::remove_tree_at(staging);
    }
    filled
}

fn fill<S: AsRef<str>>(
    staging: &Path,
    files: &BTreeMap<String, S>,
    marker: &str,
    like: Option<&fs::Metadata>,
) -> io::Result<()> {
    use rayon::prelude::*;
    let tree = crate::output::owned::open_dir(staging)?;
    crate::output::owned::write_staging_flag(&tree)?;
    let mut made = BTreeSet::new();
    let mut writes = Vec::with_capacity(files.len());
    for (name, content) in files {
        let path = inside(staging, name).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("unsafe path {name:?}"))
        })?;
        if let Some(parent) = path.parent()
            && made.insert(parent.to_path_buf())
        {
            fs::create_dir_all(parent)?;
        }
        writes.push((path, content.as_ref()));
    }
    // Creating files is mostly the kernel's work, which then runs on every core.
    writes.par_iter().try_for_each(|(path, content)| {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?
            .write_all(content.as_bytes())?;
        crate::output::update::step();
        Ok::<(), io::Error>(())
    })?;
    fs::write(staging.join(marker), marker_text(files, marker).as_bytes())?;
    crate::output::update::step();
    if let Some(like) = like {
        keep_attributes(staging, like)?;
    }
    // No `syncfs` here, as `cp -r` has none: a first tree replaces nothing, so a power loss
    // can cost only the new tree's data, never a file kotalc had written before, and
    // `--check` then reports the difference. On a file system mounted with `discard`,
    // `syncfs` also waited for every other writer's data and pending discards.
    crate::output::owned::remove_file(&tree, Path::new(crate::output::owned::STAGING_FLAG))
}

/// Gives the new tree the old directory's mode, owner and group, and, where the directory
/// is setgid, what the kernel would have given files created in it: its group, and the
/// setgid bit on subdirectories. An owner kotalc may not give (it is not root) stays its own.
#[cfg(unix)]
fn keep_attributes(staging: &Path, like: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    const SETGID: u32 = 0o2000;
    let setgid = like.mode() & SETGID != 0;
    if setgid {
        for entry in walkdir::WalkDir::new(staging).min_depth(1) {
            let entry = entry.map_err(io::Error::other)?;
            let _ = std::os::unix::fs::lchown(entry.path(), None, Some(like.gid()));
            if entry.file_type().is_dir() {
                let mode = entry.metadata().map_err(io::Error::other)?.mode();
                fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode | SETGID))?;
            }
        }
    }
    let _ = std::os::unix::fs::chown(staging, Some(like.uid()), Some(like.gid()));
    fs::set_permissions(staging, fs::Permissions::from_mode(like.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_attributes(staging: &Path, like: &fs::Metadata) -> io::Result<()> {
    fs::set_permissions(staging, like.permissions())
}

/// Puts the staged tree at `dir`. An existing tree is exchanged with it in one atomic
/// `renameat2(RENAME_EXCHANGE)`, so that a kill at any moment leaves either the old tree or
/// the new one at `dir`, never neither and never a mix. Where the filesystem cannot exchange,
/// two renames are the fallback. The old tree is then emptied of kotalc's files only (see
/// [`settle`]). Returns the files kept from the old tree. On failure, the new tree is
/// removed and the old one is at `dir`.
#[allow(clippy::too_many_arguments)]
fn swap(
    dir: &Path,
    staging: &Path,
    parent: &Path,
    base: &str,
    existing: &Existing,
    listed: &BTreeMap<String, Vec<String>>,
    force: bool,
    marker: &str,
) -> Result<Vec<String>, Diagnostic> {
    let shown = display(dir);
    let fail = |e: io::Error| {
        let _ = crate::output::owned::remove_tree_at(staging);
        out_error(&shown, &io_reason(&e))
    };
    if matches!(existing, Existing::Absent) {
        return fs::rename(staging, dir).map(|()| Vec::new()).map_err(fail);
    }
    if exchange(staging, dir).is_ok() {
        // `staging` now holds the old tree.
        return settle(dir, staging, staging, listed, force, marker, || {
            exchange(staging, dir)
        });
    }
    if matches!(existing, Existing::Empty(_)) {
        // Empty when inspected; `remove_dir` fails rather than lose what appeared since.
        fs::remove_dir(dir).map_err(fail)?;
        return fs::rename(staging, dir).map(|()| Vec::new()).map_err(fail);
    }
    let old = parent.join(format!(".{base}.kotalc-old-{}", std::process::id()));
    rename_new(dir, &old).map_err(fail)?;
    if let Err(e) = fs::rename(staging, dir) {
        let _ = fs::rename(&old, dir);
        return Err(fail(e));
    }
    settle(dir, &old, staging, listed, force, marker, || {
        fs::rename(dir, staging).and_then(|()| fs::rename(&old, dir))
    })
}

/// Renames `from` to `to`, which must not exist: kotalc never replaces what it did not
/// create.
#[cfg(target_os = "linux")]
fn rename_new(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            if fs::symlink_metadata(to).is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            fs::rename(from, to)
        }
        result => result.map_err(io::Error::from),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_new(from: &Path, to: &Path) -> io::Result<()> {
    if fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    fs::rename(from, to)
}

/// Empties the old tree `old` of kotalc's files, now that the new tree is at `dir`: the
/// marker, and each file the marker lists with the content it lists (or, with `force`,
/// edited). Anything else (a file added by hand, during the build too) is moved into the new
/// tree. If one cannot be (kotalc wrote a file at its path), `restore` puts the old tree back
/// whole, the new tree at `staging`, which is then removed, and nothing is lost. Every
/// removal goes through the old tree's descriptor, never following a link.
#[allow(clippy::too_many_arguments)]
fn settle(
    dir: &Path,
    old: &Path,
    staging: &Path,
    listed: &BTreeMap<String, Vec<String>>,
    force: bool,
    marker: &str,
    restore: impl FnOnce() -> io::Result<()>,
) -> Result<Vec<String>, Diagnostic> {
    let shown = display(dir);
    let root =
        crate::output::owned::open_dir(old).map_err(|e| out_error(&shown, &io_reason(&e)))?;
    let present = files_in(old, "")?;
    let mut delete = Vec::new();
    let mut carry = Vec::new();
    let mut conflicts = Vec::new();
    for name in present {
        let path = old.join(&name);
        let ours = name == marker
            || match (listed.get(&name), read_owned(&path)) {
                (Some(hashes), Ok(bytes)) => force || hashes.contains(&sha256_hex(&bytes)),
                _ => false,
            };
        if ours {
            delete.push(name);
            continue;
        }
        match inside(dir, &name) {
            Some(target) if fs::symlink_metadata(&target).is_err() => {
                carry.push((path, target, name));
            }
            _ => conflicts.push(name),
        }
    }
    if !conflicts.is_empty() {
        let restored = restore();
        let mut d = out_error(
            &shown,
            "changed while kotalc was building; nothing was replaced",
        );
        d.help = conflicts
            .iter()
            .map(|f| format!("changed meanwhile: {f}"))
            .collect();
        d = d.help_line("run kotalc again");
        match restored {
            Ok(()) => {
                let _ = crate::output::owned::remove_tree_at(staging);
            }
            Err(e) => {
                d = out_error(
                    &shown,
                    &format!(
                        "changed while kotalc was building, and the old tree could not be put \
                         back ({}); it is in {}",
                        io_reason(&e),
                        display(old)
                    ),
                );
            }
        }
        return Err(d);
    }
    let mut kept = Vec::new();
    for (from, to, name) in carry {
        if let Some(parent) = to.parent() {
            let _ = fs::create_dir_all(parent);
        }
        if fs::rename(&from, &to).is_ok() {
            kept.push(name);
        }
    }
    for name in delete {
        let _ = crate::output::owned::remove_file(&root, Path::new(&name));
    }
    crate::output::owned::remove_empty_dirs(&root);
    let _ = fs::remove_dir(old);
    Ok(kept)
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Trees that an interrupted run left beside `dir`, removed under the same rules as the
/// output: a staging tree whose flag proves it kotalc's (see [`crate::output::owned::STAGING_FLAG`]) is removed
/// whole; any other (an old tree swapped out) only when it is plain directories and regular
/// files, each one the marker or a file the marker lists with its listed content, so that
/// nothing but kotalc's own output is ever lost. A tree kotalc cannot prove its own, a link
/// or anything else by such a name is left alone, and named. No removal follows a link.
fn remove_leftovers(parent: &Path, base: &str, marker: &str) -> Vec<String> {
    let prefixes = [
        format!(".{base}.kotalc-new-"),
        format!(".{base}.kotalc-old-"),
    ];
    let mut left_alone = Vec::new();
    let Ok(parent_fd) = crate::output::owned::open_dir(parent) else {
        return left_alone;
    };
    let Ok(entries) = fs::read_dir(parent) else {
        return left_alone;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let shown = name.to_string_lossy().into_owned();
        let pid = prefixes
            .iter()
            .find_map(|p| shown.strip_prefix(p.as_str()))
            .and_then(|pid| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        // A run that is still going keeps its trees; one with this process's id is a
        // leftover of an earlier process, since this one has made none yet.
        if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let mut leave = |why: String| {
            left_alone.push(format!(
                "left {} alone: it is named like kotalc's leftover, but {why}",
                display(&parent.join(&name))
            ));
        };
        let tree = match crate::output::owned::open_sub(&parent_fd, &name) {
            Ok(tree) => tree,
            Err(_) => {
                leave("it is not a directory (a link is never followed)".into());
                continue;
            }
        };
        let removable = if crate::output::owned::proven_staging(&tree) {
            Ok(())
        } else {
            plain_output(&tree, marker)
        };
        match removable {
            Ok(()) => {
                if let Err(e) = crate::output::owned::remove_tree(&parent_fd, &name) {
                    leave(format!("it could not be removed: {}", io_reason(&e)));
                }
            }
            Err(why) => leave(why),
        }
    }
    left_alone
}

/// Whether a tree is nothing but kotalc's output: plain directories and regular files, each
/// file the marker, an empty staging flag, or a file the marker lists with its listed
/// content. Otherwise, why not.
fn plain_output(tree: &std::os::fd::OwnedFd, marker: &str) -> Result<(), String> {
    let entries =
        crate::output::owned::walk(tree).map_err(|e| format!("it cannot be read: {e}"))?;
    crate::output::owned::only_files_and_dirs(&entries)?;
    let read = |name: &str| -> io::Result<Vec<u8>> {
        let (dir, last) = match name.rsplit_once('/') {
            Some((dirs, last)) => (
                dirs.split('/').try_fold(
                    crate::output::owned::open_sub(tree, ".".as_ref())?,
                    |d, c| crate::output::owned::open_sub(&d, c.as_ref()),
                )?,
                last,
            ),
            None => (crate::output::owned::open_sub(tree, ".".as_ref())?, name),
        };
        let file = rustix::fs::openat(
            &dir,
            last,
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::NOFOLLOW
                | rustix::fs::OFlags::NONBLOCK
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        crate::input::load::read_stream(fs::File::from(file), MAX_OUTPUT_FILE)
    };
    let listed = read(marker)
        .map(|b| listing(&String::from_utf8_lossy(&b)))
        .unwrap_or_default();
    for entry in &entries {
        if entry.kind() == rustix::fs::FileType::Directory {
            continue;
        }
        let name = entry.path.to_string_lossy();
        let ours = name == marker
            || (name == crate::output::owned::STAGING_FLAG && entry.stat.st_size == 0)
            || listed
                .get(&*name)
                .is_some_and(|hashes| read(&name).is_ok_and(|b| hashes.contains(&sha256_hex(&b))));
        if !ours {
            return Err(format!(
                "it holds {name}, which its {marker} does not list with that content"
            ));
        }
    }
    Ok(())
}

fn out_error(path: &str, message: &str) -> Diagnostic {
    Diagnostic::new(Code::OutputDir, format!("output directory {message}")).path(path)
}
