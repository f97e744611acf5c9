//! Writing one file a user named: `seal -o`, `schema -o`, the manual pages.

use std::fs;
use std::io;
use std::path::Path;

use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::{Code, Diagnostic};

/// Writes a file beside its final path and renames it in, refusing to replace one unless
/// `force`.
pub fn write_staged(path: &Path, content: &[u8], force: bool) -> Result<(), Diagnostic> {
    let shown = display(path);
    let error = |what: String| Diagnostic::new(Code::OutputFile, what).path(&shown);
    if !force && path.symlink_metadata().is_ok() {
        return Err(error(format!("{shown} exists; pass --force to replace it")));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = path.with_file_name(format!(".{name}.kotalc-new-{}", std::process::id()));
    // A new file: a link or file planted at the staging name is neither written through
    // nor removed.
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staging)
        .map_err(|e| {
            error(format!(
                "cannot write {shown}: {} is in the way ({})",
                display(&staging),
                io_reason(&e)
            ))
        })?;
    let written = io::Write::write_all(&mut { created }, content).and_then(|()| {
        if !force && path.symlink_metadata().is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "appeared meanwhile",
            ));
        }
        fs::rename(&staging, path)
    });
    written.map_err(|e| {
        let _ = fs::remove_file(&staging);
        error(format!("cannot write {shown}: {}", io_reason(&e)))
    })
}

/// Writes a generated file, creating its directory (`.kotalc/` for an editor's schema is
/// usually new).
pub fn write_creating_dir(path: &Path, text: &str) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => fs::create_dir_all(dir),
        None => Ok(()),
    }
    .and_then(|()| fs::write(path, text))
}

/// Writes a file into an existing directory, replacing one of the same name.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::write(path, bytes)
}
