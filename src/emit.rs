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

/// Secret-like objects first (nothing may start before its Secret exists), then the order of
/// spec 2, then any passthrough kind by name.
fn kind_rank(kind: &str) -> u8 {
    match kind {
        "Secret" | "SealedSecret" | "ExternalSecret" => 0,
        "ConfigMap" => 1,
        "PersistentVolumeClaim" => 2,
        "Service" => 3,
        "StatefulSet" => 4,
        _ => 5,
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

/// The path of an object inside an output directory.
pub fn file_name(object: &Object) -> String {
    let file = format!("{}-{}.yaml", object.kind.to_lowercase(), object.name);
    match &object.namespace {
        Some(ns) => format!("{ns}/{file}"),
        None => file,
    }
}

/// Every file of an output directory, by relative path, with its content.
pub fn tree(objects: &[Object]) -> Result<BTreeMap<String, String>, Diagnostic> {
    let mut files = BTreeMap::new();
    for object in objects {
        let name = file_name(object);
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

/// What an existing output directory holds, as far as ownership goes.
enum Existing {
    Absent,
    Empty,
    Owned { listed: BTreeMap<String, String> },
    Foreign,
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
    if !meta.is_dir() {
        return Err(out_error(&shown, "exists and is not a directory"));
    }
    let mut entries = fs::read_dir(dir).map_err(|e| out_error(&shown, &io_reason(&e)))?;
    if entries.next().is_none() {
        return Ok(Existing::Empty);
    }
    match fs::read_to_string(dir.join(marker)) {
        Ok(text) => {
            let listed = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once("  "))
                .map(|(hash, name)| (name.to_string(), hash.to_string()))
                .collect();
            Ok(Existing::Owned { listed })
        }
        Err(_) => Ok(Existing::Foreign),
    }
}

/// Every file below `dir`, relative, except the marker.
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
}

/// Writes `files` as the whole content of `dir`. `dir` must be absent, empty, or kotalc's
/// (it holds the marker); files edited by hand since kotalc wrote them, or added by hand,
/// are kept unless `force`. The new tree is built beside `dir` and renamed into place.
pub fn write_dir(
    dir: &Path,
    files: &BTreeMap<String, String>,
    force: bool,
    marker: &str,
) -> Result<Written, Diagnostic> {
    let shown = display(dir);
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
        Existing::Owned { listed } => {
            let present = files_in(dir, marker)?;
            let mut edited = Vec::new();
            let mut foreign = Vec::new();
            for name in &present {
                match listed.get(name) {
                    Some(hash) => {
                        let bytes = fs::read(dir.join(name))
                            .map_err(|e| out_error(&format!("{shown}/{name}"), &io_reason(&e)))?;
                        if sha256_hex(&bytes) != *hash {
                            edited.push(name.clone());
                        }
                    }
                    None => foreign.push(name.clone()),
                }
                if !files.contains_key(name) {
                    removed.push(name.clone());
                }
            }
            if !force && (!edited.is_empty() || !foreign.is_empty()) {
                let mut lines = Vec::new();
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
                return Err(out_error(
                    &shown,
                    "holds changes made by hand; refusing to overwrite them",
                )
                .help(format!(
                    "{}\nmove them away, or pass --force to replace them",
                    lines.join("\n")
                )));
            }
        }
        Existing::Absent | Existing::Empty => {}
    }

    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = dir
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    remove_leftovers(&parent, &base);
    let staging = parent.join(format!(".{base}.kotalc-new-{}", std::process::id()));
    let result = stage(&staging, files, marker)
        .and_then(|()| swap(dir, &staging, &parent, &base, &existing));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result.map(|()| Written {
        files: files.len(),
        removed,
    })
}

fn stage(staging: &Path, files: &BTreeMap<String, String>, marker: &str) -> Result<(), Diagnostic> {
    let shown = display(staging);
    let fail = |e: io::Error| out_error(&shown, &io_reason(&e));
    let _ = fs::remove_dir_all(staging);
    fs::create_dir_all(staging).map_err(fail)?;
    for (name, content) in files {
        let path = staging.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        fs::write(&path, content.as_bytes()).map_err(fail)?;
    }
    fs::write(staging.join(marker), marker_text(files, marker).as_bytes()).map_err(fail)?;
    durable(staging).map_err(fail)
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
/// two renames are the fallback.
fn swap(
    dir: &Path,
    staging: &Path,
    parent: &Path,
    base: &str,
    existing: &Existing,
) -> Result<(), Diagnostic> {
    let shown = display(dir);
    let fail = |e: io::Error| out_error(&shown, &io_reason(&e));
    if matches!(existing, Existing::Absent) {
        return fs::rename(staging, dir).map_err(fail);
    }
    if exchange(staging, dir).is_ok() {
        // `staging` now holds the old tree.
        return fs::remove_dir_all(staging).map_err(fail);
    }
    if matches!(existing, Existing::Empty) {
        fs::remove_dir(dir).map_err(fail)?;
        return fs::rename(staging, dir).map_err(fail);
    }
    let old = parent.join(format!(".{base}.kotalc-old-{}", std::process::id()));
    fs::rename(dir, &old).map_err(fail)?;
    if let Err(e) = fs::rename(staging, dir) {
        let _ = fs::rename(&old, dir);
        return Err(fail(e));
    }
    fs::remove_dir_all(&old).map_err(fail)
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

/// Staging trees that an interrupted run left beside `dir`: they are kotalc's by name, never
/// the output, and would otherwise pile up.
fn remove_leftovers(parent: &Path, base: &str) {
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
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn out_error(path: &str, message: &str) -> Diagnostic {
    Diagnostic::new(Code::OutputDir, format!("output directory {message}")).path(path)
}
