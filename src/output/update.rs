//! Bringing a tree kotalc owns up to date in place: only the files whose bytes change are
//! written, only the files no longer rendered are removed, and an up-to-date tree is not
//! written at all.
//!
//! Each file is replaced whole by a rename from a staging directory beside the tree, so no
//! file is ever half-written. The tree as a whole can be part old, part new after a `kill -9`;
//! the marker says so. Before the first file is replaced, the marker is replaced by a journal
//! (see [`JOURNAL_HEADER`]) that lists every file in transit with both its old and its new sum:
//! the next run owns both, completes the tree and writes the final marker last, and `--check`
//! never calls a tree with a journal up to date, since the journal is not the marker a build
//! writes.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};

use crate::output::owned;

/// The first line of a marker written while its tree is being changed. A tree whose marker
/// starts with it is part old, part new; the next run completes it.
pub const JOURNAL_HEADER: &str = "# INCOMPLETE: kotalc was interrupted while it replaced files here; some are old, some new,\n\
     # and each is listed with both sums. The next run completes the tree.\n";

/// What identifies a file as it was read, so that one changed meanwhile is never replaced or
/// removed unseen.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    ino: u64,
    size: i64,
    mtime: (i64, i64),
}

impl Seen {
    // The fields' types differ between platforms.
    #[allow(clippy::unnecessary_cast)]
    pub fn of(stat: &rustix::fs::Stat) -> Seen {
        Seen {
            ino: stat.st_ino as u64,
            size: stat.st_size as i64,
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
        }
    }
}

/// What changes in the tree: files written (new, or replacing the file seen), files removed.
pub struct Plan<'a> {
    pub writes: Vec<(&'a str, &'a str, Option<Seen>)>,
    pub removes: Vec<(String, Seen)>,
    /// The marker while files are in transit, and the final one.
    pub journal: String,
    pub marker: String,
}

/// Test hook: with `KOTALC_TEST_KILL_AFTER=N`, the process kills itself with SIGKILL right
/// after its Nth change to the file system while writing an output tree, so that a test can
/// interrupt a run between any two writes, whatever the machine's speed.
pub fn step() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static LIMIT: OnceLock<Option<usize>> = OnceLock::new();
    static DONE: AtomicUsize = AtomicUsize::new(0);
    let limit = LIMIT.get_or_init(|| {
        std::env::var("KOTALC_TEST_KILL_AFTER")
            .ok()
            .and_then(|n| n.parse().ok())
    });
    if let Some(limit) = limit
        && DONE.fetch_add(1, Ordering::SeqCst) + 1 >= *limit
    {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}

/// Why an update stopped after it had begun: the tree is left with its journal.
pub enum Stopped {
    /// Before the journal: the tree is as it was.
    Untouched(io::Error),
    /// After: some files are new; the journal says which may be either.
    Partial(io::Error),
    /// A file kotalc meant to replace or remove changed while it ran.
    Changed(String),
}

/// Applies `plan` to the tree at `dir`, staging in `staging` (which must not exist, and is
/// removed after). `group`: the tree's group where it is setgid, which new files get as the
/// kernel would give them in the tree.
pub fn apply(
    dir: &Path,
    staging: &Path,
    plan: &Plan<'_>,
    group: Option<u32>,
) -> Result<(), Stopped> {
    // Never one kotalc did not make: what is there is not removed.
    fs::create_dir(staging).map_err(|e| {
        Stopped::Untouched(if e.kind() == io::ErrorKind::AlreadyExists {
            io::Error::new(
                e.kind(),
                "it is already there, and kotalc cannot prove it its own leftover: remove it",
            )
        } else {
            e
        })
    })?;
    step();
    let applied = apply_staged(dir, staging, plan, group);
    // What is left staged is of no use to the next run, which plans afresh.
    let _ = owned::remove_tree_at(staging);
    applied
}

fn apply_staged(
    dir: &Path,
    staging: &Path,
    plan: &Plan<'_>,
    group: Option<u32>,
) -> Result<(), Stopped> {
    let tree = owned::open_dir(dir).map_err(Stopped::Untouched)?;
    let stage = stage(staging, plan, group).map_err(Stopped::Untouched)?;
    let marker = OsStr::new(crate::input::load::MARKER);
    let journal_in = |name: &str| -> io::Result<()> {
        rustix::fs::renameat(&stage, name, &tree, marker)?;
        step();
        Ok(())
    };
    // The journal is on disk before any file is replaced.
    journal_in("journal")
        .and_then(|()| Ok(rustix::fs::fsync(&tree)?))
        .map_err(Stopped::Untouched)?;
    let partial = Stopped::Partial;
    for (i, (name, _, seen)) in plan.writes.iter().enumerate() {
        let (parent, last) = parent_made(&tree, name).map_err(partial)?;
        match seen {
            Some(seen) => {
                if !unchanged(&parent, last, seen) {
                    return Err(Stopped::Changed(name.to_string()));
                }
                rustix::fs::renameat(&stage, i.to_string(), &parent, last)
                    .map_err(|e| partial(e.into()))?;
            }
            // Never over a file that appeared meanwhile.
            None => rustix::fs::renameat_with(
                &stage,
                i.to_string(),
                &parent,
                last,
                RenameFlags::NOREPLACE,
            )
            .map_err(|e| match e {
                rustix::io::Errno::EXIST => Stopped::Changed(name.to_string()),
                e => partial(e.into()),
            })?,
        }
        step();
    }
    for (name, seen) in &plan.removes {
        let (parent, last) = owned::parent_of(&tree, Path::new(name)).map_err(partial)?;
        if !unchanged(&parent, last, seen) {
            return Err(Stopped::Changed(name.clone()));
        }
        rustix::fs::unlinkat(&parent, last, AtFlags::empty()).map_err(|e| partial(e.into()))?;
        step();
        // The directory a removed file leaves empty goes too; one that holds anything stays.
        if let Some((dirs, _)) = name.rsplit_once('/') {
            let _ = owned::remove_empty_path(&tree, Path::new(dirs));
        }
    }
    journal_in("marker").map_err(partial)
}

/// Whether the entry `name` in `dir` is still the file seen.
fn unchanged(dir: &OwnedFd, name: &OsStr, seen: &Seen) -> bool {
    owned::stat_at(dir, name).is_ok_and(|stat| {
        owned::file_type(&stat) == rustix::fs::FileType::RegularFile && Seen::of(&stat) == *seen
    })
}

/// The directory that holds `relative` below `tree`, made where missing, each component
/// opened without following a link.
fn parent_made<'p>(tree: &OwnedFd, relative: &'p str) -> io::Result<(OwnedFd, &'p OsStr)> {
    let (dirs, last) = match relative.rsplit_once('/') {
        Some((dirs, last)) => (Some(dirs), last),
        None => (None, relative),
    };
    let mut dir = owned::open_sub(tree, OsStr::new("."))?;
    for part in dirs.into_iter().flat_map(|d| d.split('/')) {
        dir = match owned::open_sub(&dir, OsStr::new(part)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                rustix::fs::mkdirat(&dir, part, Mode::from_raw_mode(0o777))?;
                step();
                owned::open_sub(&dir, OsStr::new(part))?
            }
            other => other?,
        };
    }
    Ok((dir, OsStr::new(last)))
}

/// Fills the new staging directory, flagged as kotalc's, with each new file by its index in
/// `plan.writes`, the journal and the final marker, all on disk.
fn stage(staging: &Path, plan: &Plan<'_>, group: Option<u32>) -> io::Result<OwnedFd> {
    let dir = owned::open_dir(staging)?;
    owned::write_staging_flag(&dir)?;
    step();
    let write = |name: &str, content: &str| -> io::Result<()> {
        let file = rustix::fs::openat(
            &dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        )?;
        if let Some(group) = group {
            let _ = rustix::fs::fchown(&file, None, Some(rustix::fs::Gid::from_raw(group)));
        }
        fs::File::from(file).write_all(content.as_bytes())?;
        step();
        Ok(())
    };
    for (i, (_, content, _)) in plan.writes.iter().enumerate() {
        write(&i.to_string(), content)?;
    }
    write("journal", &plan.journal)?;
    write("marker", &plan.marker)?;
    owned::durable(staging)?;
    Ok(dir)
}

/// The journal of an update: the final marker's header after [`JOURNAL_HEADER`], and each
/// file the tree may hold while the update runs with every sum it may have.
pub fn journal(header: &str, sums: &BTreeMap<&str, Vec<String>>) -> String {
    let mut text = String::from(JOURNAL_HEADER);
    text.push_str(header);
    for (name, sums) in sums {
        for sum in sums {
            text.push_str(&format!("{sum}  {name}\n"));
        }
    }
    text
}

/// Whether a marker's text is a journal: its tree is part old, part new.
pub fn is_journal(text: &[u8]) -> bool {
    text.starts_with(JOURNAL_HEADER.as_bytes())
}
