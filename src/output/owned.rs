//! Walking and removing inside a directory kotalc owns, through directory descriptors. Every
//! component below the owned directory is opened with `O_NOFOLLOW`, and every removal is an
//! `unlinkat` relative to the descriptor of its parent, so that no link anywhere in a path,
//! planted or swapped in, can lead a removal outside the owned directory.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, Stat, openat, statat, unlinkat};

/// Deeper than any tree kotalc writes (`namespace/file`): a deeper tree is not kotalc's, and
/// the bound keeps a planted deep tree from exhausting descriptors or the stack.
pub const MAX_DEPTH: usize = 8;

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn too_deep() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("deeper than {MAX_DEPTH} levels"),
    )
}

/// Opens `path` as a directory, refusing a link as its last component. The components before
/// it name where the owned directory is, from the command line (as `mkdir -p` takes them).
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(openat(CWD, path, dir_flags(), Mode::empty())?)
}

/// Opens the directory `name` inside `dir`, refusing a link.
pub fn open_sub(dir: impl AsFd, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(openat(dir, name, dir_flags(), Mode::empty())?)
}

/// What an entry is, without following it.
pub fn stat_at(dir: impl AsFd, name: &OsStr) -> io::Result<Stat> {
    Ok(statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

pub fn file_type(stat: &Stat) -> FileType {
    FileType::from_raw_mode(stat.st_mode)
}

/// The names in a directory, without `.` and `..`.
fn names(dir: impl AsFd) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let bytes = entry?.file_name().to_bytes().to_vec();
        if bytes != b"." && bytes != b".." {
            names.push(OsString::from_vec(bytes));
        }
    }
    Ok(names)
}

/// One entry below a walked directory: its relative path and what it is (never a link's
/// target).
pub struct Entry {
    pub path: PathBuf,
    pub stat: Stat,
}

impl Entry {
    pub fn kind(&self) -> FileType {
        file_type(&self.stat)
    }
}

/// Every entry below `root`, a directory before what it holds. Fails past [`MAX_DEPTH`].
pub fn walk(root: impl AsFd) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    walk_into(root.as_fd(), Path::new(""), 0, &mut entries)?;
    Ok(entries)
}

fn walk_into(
    dir: std::os::fd::BorrowedFd<'_>,
    prefix: &Path,
    depth: usize,
    entries: &mut Vec<Entry>,
) -> io::Result<()> {
    if depth >= MAX_DEPTH {
        return Err(too_deep());
    }
    let mut names = names(dir)?;
    names.sort();
    for name in names {
        let stat = stat_at(dir, &name)?;
        let path = prefix.join(&name);
        let is_dir = file_type(&stat) == FileType::Directory;
        entries.push(Entry {
            path: path.clone(),
            stat,
        });
        if is_dir {
            walk_into(open_sub(dir, &name)?.as_fd(), &path, depth + 1, entries)?;
        }
    }
    Ok(())
}

/// Opens the directory that holds `relative` below `root`, each component without following
/// a link, and returns it with the last component. `relative` must be plain components.
pub fn parent_of(root: impl AsFd, relative: &Path) -> io::Result<(OwnedFd, &OsStr)> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a plain relative path",
                ));
            }
        }
    }
    let Some((last, dirs)) = parts.split_last() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"));
    };
    if dirs.len() >= MAX_DEPTH {
        return Err(too_deep());
    }
    let mut dir = open_sub(root, OsStr::from_bytes(b"."))?;
    for part in dirs {
        dir = open_sub(&dir, part)?;
    }
    Ok((dir, last))
}

/// Removes the file (or link, which is not followed) `relative` below `root`.
pub fn remove_file(root: impl AsFd, relative: &Path) -> io::Result<()> {
    let (dir, name) = parent_of(root, relative)?;
    Ok(unlinkat(dir, name, AtFlags::empty())?)
}

/// What a removal of a tree may meet: only what kotalc writes, so that a tree holding
/// anything else is refused before a byte of it is removed.
pub fn only_files_and_dirs(entries: &[Entry]) -> Result<(), String> {
    for entry in entries {
        let kind = entry.kind();
        let what = match kind {
            FileType::Directory => continue,
            FileType::RegularFile if entry.stat.st_nlink == 1 => continue,
            FileType::RegularFile => "a hard-linked file",
            FileType::Symlink => "a symbolic link",
            FileType::Fifo => "a FIFO",
            _ => "a special file",
        };
        return Err(format!("holds {what}: {}", entry.path.display()));
    }
    Ok(())
}

/// Removes the directory `name` inside `parent` and everything in it, never following a
/// link: a link inside is removed as a link.
pub fn remove_tree(parent: impl AsFd, name: &OsStr) -> io::Result<()> {
    remove_into(parent.as_fd(), name, 0)
}

fn remove_into(parent: std::os::fd::BorrowedFd<'_>, name: &OsStr, depth: usize) -> io::Result<()> {
    if depth >= MAX_DEPTH {
        return Err(too_deep());
    }
    let dir = open_sub(parent, name)?;
    for entry in names(&dir)? {
        if file_type(&stat_at(&dir, &entry)?) == FileType::Directory {
            remove_into(dir.as_fd(), &entry, depth + 1)?;
        } else {
            unlinkat(&dir, &entry, AtFlags::empty())?;
        }
    }
    Ok(unlinkat(parent, name, AtFlags::REMOVEDIR)?)
}

/// Removes the tree at `path` (its last component not followed), as [`remove_tree`].
pub fn remove_tree_at(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no final component"))?;
    remove_tree(open_dir(parent)?, name)
}

/// Removes the directory `relative` below `root` if it is empty, then each of its parents
/// below `root` that this leaves empty; stops at the first that is not.
pub fn remove_empty_path(root: impl AsFd, relative: &Path) -> io::Result<()> {
    let root = root.as_fd();
    let mut path = relative;
    while !path.as_os_str().is_empty() {
        let (dir, name) = parent_of(root, path)?;
        unlinkat(dir, name, AtFlags::REMOVEDIR)?;
        path = path.parent().unwrap_or(Path::new(""));
    }
    Ok(())
}

/// Removes the empty directories below `root`, deepest first; a directory that is not empty
/// stays.
pub fn remove_empty_dirs(root: impl AsFd) {
    let root = root.as_fd();
    let Ok(entries) = walk(root) else { return };
    for entry in entries.iter().rev() {
        if entry.kind() == FileType::Directory
            && let Ok((dir, name)) = parent_of(root, &entry.path)
        {
            let _ = unlinkat(dir, name, AtFlags::REMOVEDIR);
        }
    }
}

/// Marks a staging tree as being written, and proves it kotalc's: the file records the
/// device and inode of the tree's directory and carries a modification time to the
/// nanosecond that it records too. Files committed to a repository cannot forge either (a
/// checkout gets new inodes and the time of the checkout), so a later run removes a tree
/// with a matching flag whole, and no other. The flag is removed before the tree is swapped
/// in.
pub(super) const STAGING_FLAG: &str = ".kotalc-staging";

fn staging_proof(tree: &rustix::fs::Stat, mtime: (i64, i64)) -> String {
    format!(
        "kotalc staging tree {} {} {}.{:09}\n",
        tree.st_dev, tree.st_ino, mtime.0, mtime.1
    )
}

pub(super) fn write_staging_flag(tree: &std::os::fd::OwnedFd) -> io::Result<()> {
    use rustix::fs::{Mode, OFlags, Timespec, Timestamps};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(io::Error::other)?;
    let mtime = (
        i64::try_from(now.as_secs()).map_err(io::Error::other)?,
        i64::from(now.subsec_nanos()),
    );
    let flag = rustix::fs::openat(
        tree,
        STAGING_FLAG,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let proof = staging_proof(&rustix::fs::fstat(tree)?, mtime);
    io::Write::write_all(
        &mut std::fs::File::from(flag.try_clone()?),
        proof.as_bytes(),
    )?;
    let time = Timespec {
        tv_sec: mtime.0,
        tv_nsec: mtime.1 as _,
    };
    rustix::fs::futimens(
        &flag,
        &Timestamps {
            last_access: time,
            last_modification: time,
        },
    )?;
    Ok(())
}

/// Whether the tree open at `tree` holds a staging flag that proves it kotalc's.
pub(super) fn proven_staging(tree: &std::os::fd::OwnedFd) -> bool {
    use rustix::fs::{Mode, OFlags};
    let proven = || -> io::Result<bool> {
        let flag = rustix::fs::openat(
            tree,
            STAGING_FLAG,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let stat = rustix::fs::fstat(&flag)?;
        if file_type(&stat) != rustix::fs::FileType::RegularFile || stat.st_size > 256 {
            return Ok(false);
        }
        let mut text = String::new();
        io::Read::read_to_string(&mut std::fs::File::from(flag), &mut text)?;
        let mtime = (stat.st_mtime as i64, stat.st_mtime_nsec as i64);
        Ok(text == staging_proof(&rustix::fs::fstat(tree)?, mtime))
    };
    proven().unwrap_or(false)
}

/// The files staged to replace files of a tree reach the disk before they are renamed over
/// the old ones: one `syncfs`, where fsync per file would cost a disk flush for each file.
#[cfg(target_os = "linux")]
pub(super) fn durable(staging: &Path) -> io::Result<()> {
    let dir = std::fs::File::open(staging)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn durable(staging: &Path) -> io::Result<()> {
    for entry in walkdir::WalkDir::new(staging) {
        let entry = entry.map_err(io::Error::other)?;
        std::fs::File::open(entry.path())?.sync_all()?;
    }
    Ok(())
}
