//! Reads a directory of template overrides (`--templates DIR`) for the renderer, which never
//! touches the disk itself.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::{Code, Diagnostic};
use crate::input::load::{MAX_FILE_BYTES, read_regular};

/// The texts of the files below `dir` that override a template named in `known`, by that
/// name, and the problems found: an entry that is not a regular file is named, never followed
/// or read (a link could put any file of the machine into a ConfigMap, and a FIFO would block
/// the build, as the inputs' links are named); a file that overrides no template is refused
/// unread.
pub fn read_overrides<'a>(
    dir: &Path,
    known: &[&'a str],
) -> (BTreeMap<&'a str, String>, Vec<Diagnostic>) {
    let mut texts = BTreeMap::new();
    let mut problems = Vec::new();
    let shown = display(dir);
    if !dir.is_dir() {
        problems.push(Diagnostic::new(Code::Io, "--templates must name a directory").path(shown));
        return (texts, problems);
    }
    let mut known = known.to_vec();
    known.sort_unstable();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(entry) if entry.file_type().is_dir() => continue,
            Ok(entry) => entry,
            Err(e) => {
                problems.push(
                    Diagnostic::new(Code::Io, format!("cannot read templates: {e}")).path(&shown),
                );
                continue;
            }
        };
        let relative = display(entry.path().strip_prefix(dir).unwrap_or(entry.path()));
        let path = format!("{}/{relative}", shown.trim_end_matches('/'));
        if !entry.file_type().is_file() {
            let what = if entry.path_is_symlink() {
                "is a symbolic link"
            } else {
                "is not a regular file (a FIFO, socket or device)"
            };
            problems.push(
                Diagnostic::new(Code::Template, format!("`{relative}` {what}; not read"))
                    .path(path)
                    .help(
                        "kotalc reads only regular files in --templates: copy the template there",
                    ),
            );
            continue;
        }
        let Some(name) = known.iter().copied().find(|n| *n == relative) else {
            problems.push(
                Diagnostic::new(
                    Code::Template,
                    format!("`{relative}` does not override any template"),
                )
                .path(path)
                .help(format!("templates kotalc renders: {}", known.join(", "))),
            );
            continue;
        };
        match read_regular(entry.path(), MAX_FILE_BYTES, false)
            .and_then(|bytes| String::from_utf8(bytes).map_err(std::io::Error::other))
        {
            Ok(text) => {
                texts.insert(name, text);
            }
            Err(e) => problems.push(
                Diagnostic::new(Code::Io, format!("cannot read template: {}", io_reason(&e)))
                    .path(path),
            ),
        }
    }
    (texts, problems)
}
