//! Ordering, canonical YAML, and the two outputs: a stream on stdout, or a directory tree
//! that is swapped in whole so that nothing is ever half-written or lost.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diagnostic::{Code, Diagnostic};
use crate::load::{display, io_reason};
use crate::render::Object;

/// The file that marks a directory as kotalc's and lists what kotalc wrote there, in
/// `sha256sum` format so that `sha256sum -c .kotalc-files` checks it too.
pub const MARKER: &str = ".kotalc-files";
/// The marker of a tree `kotalc migrate` wrote: inputs, so the loader reads it.
pub const MIGRATE_MARKER: &str = ".kotalc-migrated";
/// The marker of a tree `kotalc import` wrote: inputs too.
pub const IMPORT_MARKER: &str = ".kotalc-imported";

/// Secret-like objects first (nothing may start before its Secret exists), then
/// NetworkPolicies (no pod may start unprotected), then the order of spec 2, then any
/// passthrough kind by name.
fn kind_rank(kind: &str) -> u8 {
    match kind {
        "Secret" | "SealedSecret" | "ExternalSecret" => 0,
        "NetworkPolicy" => 1,
        "ConfigMap" => 2,
        "PersistentVolumeClaim" => 3,
        "Service" => 4,
        "StatefulSet" => 5,
        _ => 6,
    }
}

pub fn sort(objects: &mut [Object]) {
    objects.sort_by(|a, b| {
        (
            kind_rank(&a.kind),
            &a.kind,
            &a.namespace,
            &a.name,
            &a.api_version,
        )
            .cmp(&(
                kind_rank(&b.kind),
                &b.kind,
                &b.namespace,
                &b.name,
                &b.api_version,
            ))
    });
}

/// Canonical YAML of one object: keys sorted, block style, strings quoted where YAML 1.1
/// readers would misread them.
pub fn to_yaml(object: &Object) -> &str {
    &object.yaml
}

pub fn write_stream(objects: &[Object], out: &mut dyn Write) -> io::Result<()> {
    for object in objects {
        out.write_all(b"---\n")?;
        out.write_all(to_yaml(object).as_bytes())?;
    }
    out.flush()
}

/// The path of an object inside an output directory, from its namespace, kind and name;
/// `None` when a component could leave the directory or name kotalc's own files. Names are
/// checked as Kubernetes names long before this (`names`): this is the last guard.
pub fn file_name(object: &Object) -> Option<String> {
    let file = format!("{}-{}.yaml", object.kind.to_lowercase(), object.name);
    if !crate::names::path_component(&file) {
        return None;
    }
    match &object.namespace {
        Some(ns) if crate::names::path_component(ns) => Some(format!("{ns}/{file}")),
        Some(_) => None,
        None => Some(file),
    }
}

/// Every file of an output directory, by relative path, with its content.
pub fn tree(objects: &[Object]) -> Result<BTreeMap<String, String>, Diagnostic> {
    let mut files = BTreeMap::new();
    for object in objects {
        let Some(name) = file_name(object) else {
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
            .insert(name.clone(), to_yaml(object).to_string())
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
    files.insert("kustomization.yaml".into(), kustomization);
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
    crate::keys::hex(&Sha256::digest(bytes))
}

pub fn marker_text(files: &BTreeMap<String, String>, marker: &str) -> String {
    let mut text = if marker == MARKER {
        String::from(
            "# Written by kotalc. Every file listed here is replaced by the next `kotalc build -o`;\n\
             # edit the inputs, not these files.\n",
        )
    } else if marker == IMPORT_MARKER {
        String::from(
            "# Written by kotalc import. A file that still matches its sum here is replaced by the\n\
             # next `kotalc import -o`; edited files are kept unless --force.\n",
        )
    } else {
        String::from(
            "# Written by kotalc migrate. A file that still matches its sum here is replaced by the\n\
             # next `kotalc migrate -o`; edited files are kept unless --force.\n",
        )
    };
    for (name, content) in files {
        text.push_str(&format!("{}  {name}\n", sha256_hex(content.as_bytes())));
    }
    text
}

/// Files kotalc reads back from an output directory (its own outputs and markers) are
/// never larger than this; a larger one is not kotalc's.
pub const MAX_OUTPUT_FILE: u64 = crate::load::MAX_FILE_BYTES;

/// A file of an output directory: its bytes if it is a regular file within the limit, never
/// following a link.
pub fn read_owned(path: &Path) -> io::Result<Vec<u8>> {
    crate::load::read_regular(path, MAX_OUTPUT_FILE, false)
}

/// What an existing output directory holds, as far as ownership goes.
enum Existing {
    Absent,
    Empty(fs::Metadata),
    Owned {
        listed: BTreeMap<String, String>,
        meta: fs::Metadata,
    },
    Foreign,
}

/// The marker's listing: relative path to sha256.
fn listing(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once("  "))
        .map(|(hash, name)| (name.to_string(), hash.to_string()))
        .collect()
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

/// How `write_dir` went, for the summary line.
#[derive(Debug, Default)]
pub struct Written {
    pub files: usize,
    pub removed: Vec<String>,
    /// Files kotalc did not write, kept in the new tree.
    pub kept: Vec<String>,
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
/// `force`; files kotalc did not write are never deleted: they are refused, or with `force`
/// kept in the new tree. The new tree is built beside `dir` and swapped in; whatever
/// appeared in `dir` meanwhile is kept too.
pub fn write_dir(
    dir: &Path,
    files: &BTreeMap<String, String>,
    force: bool,
    marker: &str,
) -> Result<Written, Diagnostic> {
    let shown = display(dir);
    let (parent, base) = placement(dir)?;
    let existing = inspect(dir, marker)?;
    let mut removed = Vec::new();
    match &existing {
        Existing::Foreign => {
            return Err(out_error(
                &shown,
                &format!("is not empty and was not written by kotalc (it has no {marker})"),
            )
            .help(
                "name an empty or new directory; kotalc never replaces a directory it does not own",
            ));
        }
        Existing::Owned { listed, .. } => {
            let present = files_in(dir, marker)?;
            let mut edited = Vec::new();
            let mut foreign = Vec::new();
            let mut taken = Vec::new();
            for name in &present {
                match (listed.get(name), read_owned(&dir.join(name))) {
                    (Some(hash), Ok(bytes)) => {
                        if sha256_hex(&bytes) != *hash {
                            edited.push(name.clone());
                        }
                        if !files.contains_key(name) {
                            removed.push(name.clone());
                        }
                    }
                    // A link or a special file where kotalc writes a file, or a directory
                    // it writes into, is not kotalc's.
                    _ if files.contains_key(name)
                        || files
                            .range(format!("{name}/")..)
                            .next()
                            .is_some_and(|(f, _)| f.starts_with(&format!("{name}/"))) =>
                    {
                        taken.push(name.clone());
                    }
                    _ => foreign.push(name.clone()),
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
                return Err(out_error(
                    &shown,
                    "holds changes made by hand; refusing to overwrite them",
                )
                .help(format!("{}\n{help}", lines.join("\n"))));
            }
        }
        Existing::Absent | Existing::Empty(_) => {}
    }

    remove_leftovers(&parent, &base, marker);
    let staging = parent.join(format!(".{base}.kotalc-new-{}", std::process::id()));
    let meta = match &existing {
        Existing::Empty(meta) | Existing::Owned { meta, .. } => Some(meta),
        _ => None,
    };
    let staged = stage(&staging, files, marker, meta).map_err(|e| {
        let _ = fs::remove_dir_all(&staging);
        out_error(
            &shown,
            &format!(
                "cannot be written: kotalc builds the new tree beside it, in {}: {}",
                display(&parent),
                io_reason(&e)
            ),
        )
    });
    staged?;
    let listed = match &existing {
        Existing::Owned { listed, .. } => listed.clone(),
        _ => BTreeMap::new(),
    };
    let kept = swap(
        dir, &staging, &parent, &base, &existing, &listed, force, marker,
    );
    if kept.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    kept.map(|kept| Written {
        files: files.len(),
        removed,
        kept,
    })
}

/// Marks a staging tree as being written: a tree with this file is kotalc's whole, so a
/// later run may delete it; the file is removed before the tree is swapped in.
const STAGING_FLAG: &str = ".kotalc-staging";

fn stage(
    staging: &Path,
    files: &BTreeMap<String, String>,
    marker: &str,
    like: Option<&fs::Metadata>,
) -> io::Result<()> {
    let _ = fs::remove_dir_all(staging);
    // DIR's parents come from the command line, as with `mkdir -p`; the staging tree itself
    // must be new.
    if let Some(parent) = staging.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::create_dir(staging)?;
    fs::write(staging.join(STAGING_FLAG), b"")?;
    for (name, content) in files {
        let path = inside(staging, name).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("unsafe path {name:?}"))
        })?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?
            .write_all(content.as_bytes())?;
    }
    fs::write(staging.join(marker), marker_text(files, marker).as_bytes())?;
    if let Some(like) = like {
        keep_attributes(staging, like)?;
    }
    durable(staging)?;
    fs::remove_file(staging.join(STAGING_FLAG))
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

/// Everything staged reaches the disk before the tree is swapped in: one `syncfs` for the
/// whole tree, where fsync per file would cost a disk flush for each of thousands of files.
#[cfg(target_os = "linux")]
fn durable(staging: &Path) -> io::Result<()> {
    let dir = fs::File::open(staging)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn durable(staging: &Path) -> io::Result<()> {
    for entry in walkdir::WalkDir::new(staging) {
        let entry = entry.map_err(io::Error::other)?;
        fs::File::open(entry.path())?.sync_all()?;
    }
    Ok(())
}

/// Puts the staged tree at `dir`. An existing tree is exchanged with it in one atomic
/// `renameat2(RENAME_EXCHANGE)`, so that a kill at any moment leaves either the old tree or
/// the new one at `dir`, never neither and never a mix. Where the filesystem cannot exchange,
/// two renames are the fallback. The old tree is then emptied of kotalc's files only (see
/// [`settle`]). Returns the files kept from the old tree.
#[allow(clippy::too_many_arguments)]
fn swap(
    dir: &Path,
    staging: &Path,
    parent: &Path,
    base: &str,
    existing: &Existing,
    listed: &BTreeMap<String, String>,
    force: bool,
    marker: &str,
) -> Result<Vec<String>, Diagnostic> {
    let shown = display(dir);
    let fail = |e: io::Error| out_error(&shown, &io_reason(&e));
    if matches!(existing, Existing::Absent) {
        return fs::rename(staging, dir).map(|()| Vec::new()).map_err(fail);
    }
    if exchange(staging, dir).is_ok() {
        // `staging` now holds the old tree.
        return settle(dir, staging, listed, force, marker, || {
            exchange(staging, dir)
        });
    }
    if matches!(existing, Existing::Empty(_)) {
        // Empty when inspected; `remove_dir` fails rather than lose what appeared since.
        fs::remove_dir(dir).map_err(fail)?;
        return fs::rename(staging, dir).map(|()| Vec::new()).map_err(fail);
    }
    let old = parent.join(format!(".{base}.kotalc-old-{}", std::process::id()));
    fs::rename(dir, &old).map_err(fail)?;
    if let Err(e) = fs::rename(staging, dir) {
        let _ = fs::rename(&old, dir);
        return Err(fail(e));
    }
    settle(dir, &old, listed, force, marker, || {
        fs::rename(dir, staging).and_then(|()| fs::rename(&old, dir))
    })
}

/// Empties the old tree `old` of kotalc's files, now that the new tree is at `dir`: the
/// marker, and each file the marker lists with the content it lists (or, with `force`,
/// edited). Anything else (a file added by hand, during the build too) is moved into the new
/// tree. If one cannot be (kotalc wrote a file at its path), `restore` puts the old tree back
/// whole and nothing is lost.
fn settle(
    dir: &Path,
    old: &Path,
    listed: &BTreeMap<String, String>,
    force: bool,
    marker: &str,
    restore: impl FnOnce() -> io::Result<()>,
) -> Result<Vec<String>, Diagnostic> {
    let shown = display(dir);
    let present = files_in(old, "")?;
    let mut delete = Vec::new();
    let mut carry = Vec::new();
    let mut conflicts = Vec::new();
    for name in present {
        let path = old.join(&name);
        let ours = name == marker
            || match (listed.get(&name), read_owned(&path)) {
                (Some(hash), Ok(bytes)) => force || sha256_hex(&bytes) == *hash,
                _ => false,
            };
        if ours {
            delete.push(path);
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
        let _ = fs::remove_dir_all(old);
        let mut d = out_error(
            &shown,
            "changed while kotalc was building; nothing was replaced",
        )
        .help(format!(
            "{}\nrun kotalc again",
            conflicts
                .iter()
                .map(|f| format!("changed meanwhile: {f}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
        if let Err(e) = restored {
            d = out_error(
                &shown,
                &format!(
                    "changed while kotalc was building, and the old tree could not be put back \
                     ({}); it is in {}",
                    io_reason(&e),
                    display(old)
                ),
            );
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
    for path in delete {
        let _ = fs::remove_file(path);
    }
    remove_empty_dirs(old);
    Ok(kept)
}

/// Removes the empty directories of a tree, deepest first, and the tree itself if it is then
/// empty; a directory that is not empty is left as it is.
fn remove_empty_dirs(root: &Path) {
    let dirs: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .contents_first(true)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .collect();
    for dir in dirs {
        let _ = fs::remove_dir(dir);
    }
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

/// Trees that an interrupted run left beside `dir`. A staging tree still flagged as one is
/// kotalc's whole and is removed; any other (an old tree swapped out) loses only the files
/// its marker lists with their listed content, so that a file added by hand is never lost.
fn remove_leftovers(parent: &Path, base: &str, marker: &str) {
    let prefixes = [
        format!(".{base}.kotalc-new-"),
        format!(".{base}.kotalc-old-"),
    ];
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = prefixes
            .iter()
            .find_map(|p| name.strip_prefix(p.as_str()))
            .and_then(|pid| pid.parse::<u32>().ok());
        // A run that is still going keeps its staging tree.
        let Some(pid) = pid else { continue };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let tree = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if fs::symlink_metadata(tree.join(STAGING_FLAG)).is_ok_and(|m| m.is_file()) {
            let _ = fs::remove_dir_all(&tree);
            continue;
        }
        let listed = read_owned(&tree.join(marker))
            .map(|b| listing(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        for (file, hash) in &listed {
            if let Some(path) = inside(&tree, file)
                && read_owned(&path).is_ok_and(|b| sha256_hex(&b) == *hash)
            {
                let _ = fs::remove_file(path);
            }
        }
        let _ = fs::remove_file(tree.join(marker));
        remove_empty_dirs(&tree);
    }
}

fn out_error(path: &str, message: &str) -> Diagnostic {
    Diagnostic::new(Code::OutputDir, format!("output directory {message}")).path(path)
}
