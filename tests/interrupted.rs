//! `build -o` onto a tree kotalc owns writes only the files whose bytes change, and a run
//! killed between any two of its writes, or at a random moment, leaves a tree that is honest
//! about itself and that the next run completes. The kill between two writes is exact:
//! `KOTALC_TEST_KILL_AFTER=N` makes kotalc send itself SIGKILL right after its Nth change to
//! the file system, so no test depends on the machine's speed.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use crate::common::{Kotalc, Run, scratch, text};

const MARKER: &str = ".kotalc-files";

/// Writes the inputs, one Peer a file: `(namespace, name, gateway)`.
fn inputs(dir: &Path, peers: &[(&str, String, bool)]) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("mkdir");
    for (ns, name, gateway) in peers {
        fs::write(
            dir.join(format!("{ns}-{name}.yaml")),
            format!(
                "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: {name}\n  \
                 namespace: {ns}\nspec:\n  gateway: {gateway}\n"
            ),
        )
        .expect("write");
    }
}

/// The old inputs and the new: one Peer changes, and one namespace goes with its Peer and
/// another comes (its directory made, the other's removed).
fn old_and_new(work: &Path) {
    let peers = |changed: bool| {
        let mut peers: Vec<(&str, String, bool)> = (0..3)
            .map(|i| ("ipfs", format!("p{i}"), changed && i == 1))
            .collect();
        peers.push(if changed {
            ("fresh", "f0".into(), false)
        } else {
            ("gone", "g0".into(), false)
        });
        peers
    };
    inputs(&work.join("old"), &peers(false));
    inputs(&work.join("new"), &peers(true));
}

fn build(work: &Path, args: &[&str]) -> Run {
    Kotalc::new()
        .arg("build")
        .args(args)
        .current_dir(work)
        .run()
}

/// Every entry below `dir`: regular files by content; anything else is a failure.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.expect("walk");
        if entry.file_type().is_dir() {
            continue;
        }
        assert!(entry.file_type().is_file(), "{:?}", entry.path());
        let name = entry
            .path()
            .strip_prefix(dir)
            .expect("prefix")
            .to_string_lossy()
            .into_owned();
        files.insert(name, fs::read(entry.path()).expect("read"));
    }
    files
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh copy of `from` at `to`.
fn reset(from: &Path, to: &Path) {
    let _ = fs::remove_dir_all(to);
    crate::common::copy_tree(from, to);
}

/// What must hold of `work/out` after a run was killed, `old` and `new` the two complete
/// trees: every file is whole, old or new;
/// the tree is the old one, the new one, or a mix whose marker is a journal that lists every
/// file present with its sum; `--check` calls it up to date against either inputs only when
/// it is exactly that tree.
fn assert_honest(
    work: &Path,
    what: &str,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) {
    let out = work.join("out");
    let now = files(&out);
    for (name, bytes) in now.iter().filter(|(n, _)| *n != MARKER) {
        assert!(
            old.get(name) == Some(bytes) || new.get(name) == Some(bytes),
            "{what}: {name} is neither the old file nor the new one"
        );
    }
    if now != *old && now != *new {
        let marker = String::from_utf8_lossy(&now[MARKER]).into_owned();
        assert!(
            marker.starts_with("# INCOMPLETE"),
            "{what}: a mix of trees whose marker does not say so:\n{marker}"
        );
        for (name, bytes) in now.iter().filter(|(n, _)| *n != MARKER) {
            assert!(
                marker.contains(&format!("{}  {name}\n", sha256(bytes))),
                "{what}: the journal does not list {name} as it is"
            );
        }
    }
    for (inputs, tree) in [("new", new), ("old", old)] {
        let check = build(work, &[inputs, "-o", "out", "--check"]);
        assert_eq!(
            check.status.success(),
            now == *tree,
            "{what}: --check against the {inputs} inputs: {}",
            text(&check.stderr)
        );
    }
}

/// Runs `build new -o out ARGS` killed after its `n`th write; `None` once it finishes first.
fn killed_after(work: &Path, n: usize, args: &[&str]) -> Option<Run> {
    let out = Kotalc::new()
        .args(["build", "new", "-o", "out"])
        .args(args)
        .env("KOTALC_TEST_KILL_AFTER", n.to_string())
        .current_dir(work)
        .run();
    if out.status.success() {
        return None;
    }
    assert_eq!(
        out.status.signal(),
        Some(9),
        "write {n}: killed by the hook: {}",
        text(&out.stderr)
    );
    Some(out)
}

fn leftovers(work: &Path) -> Vec<String> {
    fs::read_dir(work)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("kotalc-"))
        .collect()
}

/// The reference trees, built whole into directories of their own.
fn references(work: &Path) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    old_and_new(work);
    build(work, &["old", "-o", "ref-old"]).code(0);
    build(work, &["new", "-o", "ref-new"]).code(0);
    (files(&work.join("ref-old")), files(&work.join("ref-new")))
}

/// (inode, mtime, ctime) of every entry below `dir`, directories included.
fn identities(dir: &Path) -> BTreeMap<String, (u64, i64, i64, i64, i64)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| {
            let e = e.expect("walk");
            let m = fs::symlink_metadata(e.path()).expect("stat");
            (
                e.path().display().to_string(),
                (
                    m.ino(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ctime(),
                    m.ctime_nsec(),
                ),
            )
        })
        .collect()
}

#[test]
fn an_up_to_date_tree_is_not_written_and_a_change_writes_only_what_changed() {
    let work = scratch("incremental-writes");
    let (_, new) = references(&work);
    build(&work, &["old", "-o", "out"]).code(0);
    let before = identities(&work.join("out"));
    // Old inputs onto the old tree: nothing is written, not even the marker.
    let again = build(&work, &["old", "-o", "out"]);
    again.code(0).stderr_has("is unchanged");
    assert_eq!(identities(&work.join("out")), before);

    let changed = build(&work, &["new", "-o", "out"]);
    changed.code(0);
    assert_eq!(files(&work.join("out")), new);
    let after = identities(&work.join("out"));
    let old_files = files(&work.join("ref-old"));
    for (name, bytes) in &new {
        let path = work.join("out").join(name).display().to_string();
        let same_bytes = old_files.get(name) == Some(bytes);
        let same_file =
            before.get(&path).map(|b| (b.0, b.1, b.2)) == after.get(&path).map(|a| (a.0, a.1, a.2));
        assert_eq!(
            same_file, same_bytes,
            "{name}: rewritten although its bytes did not change, or the reverse"
        );
    }
    // The namespace that is no longer rendered is gone with its files.
    assert!(!work.join("out/gone").exists());
    assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
}

/// Killed between any two writes of an update: see [`assert_honest`]; the next run, without
/// --force, completes the tree.
#[test]
fn an_update_killed_between_any_two_writes_is_completed_by_the_next_run() {
    let work = scratch("incremental-kill-each");
    let (old, new) = references(&work);
    let mut n = 1;
    while let Some(_killed) = {
        reset(&work.join("ref-old"), &work.join("out"));
        killed_after(&work, n, &[])
    } {
        let what = format!("killed after write {n}");
        assert_honest(&work, &what, &old, &new);
        let next = build(&work, &["new", "-o", "out"]);
        next.code(0);
        assert_eq!(files(&work.join("out")), new, "{what}: not completed");
        assert!(
            leftovers(&work).is_empty(),
            "{what}: {:?}",
            leftovers(&work)
        );
        n += 1;
        assert!(n < 500, "the update never finished");
    }
    // Every point between staging and the final marker was tried.
    assert!(n > 15, "only {n} writes");
    assert_eq!(files(&work.join("out")), new);
}

/// With --force, at every kill point, a file added by hand inside the tree and a file beside
/// it keep their bytes and their inode, and the next run keeps them too.
#[test]
fn a_killed_forced_update_never_touches_a_file_kotalc_does_not_own() {
    let work = scratch("incremental-kill-own");
    let (_, new) = references(&work);
    fs::write(work.join("beside.yaml"), "# mine\n").expect("write");
    let mine = |work: &Path| {
        ["out/ipfs/notes.yaml", "beside.yaml"].map(|f| {
            let m = fs::symlink_metadata(work.join(f)).expect("kept");
            (
                fs::read(work.join(f)).expect("read"),
                m.ino(),
                m.mtime_nsec(),
            )
        })
    };
    let mut n = 1;
    loop {
        reset(&work.join("ref-old"), &work.join("out"));
        fs::write(work.join("out/ipfs/notes.yaml"), "# added by hand\n").expect("add");
        let was = mine(&work);
        let killed = killed_after(&work, n, &["--force"]);
        assert_eq!(mine(&work), was, "killed after write {n}");
        if killed.is_none() {
            break;
        }
        build(&work, &["new", "-o", "out", "--force"]).code(0);
        assert_eq!(mine(&work), was, "after the run that followed write {n}");
        n += 1;
        assert!(n < 500, "the update never finished");
    }
    let mut done = files(&work.join("out"));
    assert!(done.remove("ipfs/notes.yaml").is_some());
    assert_eq!(done, new);
}

/// A first `-o` killed between any two writes leaves no tree, or the whole new one.
#[test]
fn a_first_build_killed_between_any_two_writes_leaves_nothing_or_the_whole_tree() {
    let work = scratch("incremental-kill-first");
    inputs(&work.join("new"), &[("ipfs", "p0".into(), false)]);
    build(&work, &["new", "-o", "ref-new"]).code(0);
    let new = files(&work.join("ref-new"));
    let mut n = 1;
    loop {
        let _ = fs::remove_dir_all(work.join("out"));
        let killed = killed_after(&work, n, &[]);
        if killed.is_none() {
            break;
        }
        let out = work.join("out");
        assert!(
            !out.exists() || files(&out) == new,
            "killed after write {n}: a partial tree"
        );
        build(&work, &["new", "-o", "out"]).code(0);
        assert_eq!(files(&out), new);
        assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
        n += 1;
        assert!(n < 500, "the build never finished");
    }
    assert_eq!(files(&work.join("out")), new);
}

/// Real SIGKILLs at random moments of updates that alternate between the two inputs, on a
/// larger set: whatever moment the kill lands on, [`assert_honest`] holds, and a run to the
/// end completes the tree. The moments are spread over a run's own duration as measured here,
/// so that the test holds on any machine; the seed is printed.
#[test]
fn updates_killed_at_random_moments_leave_an_honest_tree() {
    let work = scratch("incremental-kill-random");
    let many = |changed: bool| -> Vec<(&str, String, bool)> {
        (0..40)
            .filter(|i| !changed || i % 20 != 7)
            .map(|i| ("ipfs", format!("p{i}"), changed && i % 3 == 0))
            .collect()
    };
    inputs(&work.join("old"), &many(false));
    inputs(&work.join("new"), &many(true));
    build(&work, &["old", "-o", "ref-old"]).code(0);
    build(&work, &["new", "-o", "ref-new"]).code(0);
    let (old, new) = (files(&work.join("ref-old")), files(&work.join("ref-new")));
    reset(&work.join("ref-old"), &work.join("out"));
    let start = std::time::Instant::now();
    build(&work, &["new", "-o", "out"]).code(0);
    build(&work, &["old", "-o", "out"]).code(0);
    let span = start.elapsed().as_micros() as u64 / 2 + 1;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("seed {seed}, a run takes {span} µs");
    for round in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let inputs = if round % 2 == 0 { "new" } else { "old" };
        let mut child = Kotalc::new()
            .args(["build", inputs, "-o", "out"])
            .current_dir(&work)
            .command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kotalc runs");
        std::thread::sleep(std::time::Duration::from_micros(seed % span));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        assert!(status.success() || status.signal() == Some(9), "{status}");
        assert_honest(&work, &format!("round {round}, seed {seed}"), &old, &new);
    }
    build(&work, &["new", "-o", "out"]).code(0);
    assert_eq!(files(&work.join("out")), new);
    assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
}
