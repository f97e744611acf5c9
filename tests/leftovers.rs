//! Trees named like kotalc's own leftovers (`.DIR.kotalc-old-<pid>`, `.DIR.kotalc-new-<pid>`)
//! and an output directory with a marker can be committed by anyone who opens a pull request.
//! kotalc removes only what it created or a leftover it proves its own, never through a link
//! in any component, and only under the directory it owns: for `build -o`, `import -o` and
//! `migrate -o` alike. A run killed with SIGKILL leaves a staging tree that the next run
//! still cleans.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common::{Kotalc, Run, root, run, scratch, text};

const PEER: &str =
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata: {name: p, namespace: ipfs}\n";

/// One subcommand writing to `-o rendered`, with the input it needs in the work directory.
struct Writer {
    name: &'static str,
    args: &'static [&'static str],
    marker: &'static str,
}

const WRITERS: [Writer; 3] = [
    Writer {
        name: "build",
        args: &["build", "ipfs"],
        marker: ".kotalc-files",
    },
    Writer {
        name: "import",
        args: &["import", "export.yaml"],
        marker: ".kotalc-imported",
    },
    Writer {
        name: "migrate",
        args: &["migrate", "swarm"],
        marker: ".kotalc-migrated",
    },
];

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A repository with each writer's input, and a victim directory beside it holding files
/// an attacker would like deleted.
fn repository(name: &str) -> (PathBuf, PathBuf) {
    let work = scratch(name);
    let repo = work.join("r");
    let victim = work.join("victim");
    fs::create_dir_all(repo.join("ipfs")).expect("mkdir");
    fs::create_dir_all(repo.join("swarm")).expect("mkdir");
    fs::create_dir_all(&victim).expect("mkdir");
    fs::write(repo.join("ipfs/p.yaml"), PEER).expect("write");
    fs::copy(
        root().join("tests/data/operator/peers-clusterpeers.yaml"),
        repo.join("export.yaml"),
    )
    .expect("export");
    fs::copy(
        root().join("fixtures/sample-swarm/input/ipfs_v1alpha1_swarm.yaml"),
        repo.join("swarm/s.yaml"),
    )
    .expect("swarm");
    fs::write(victim.join("v.txt"), "precious\n").expect("write");
    fs::write(victim.join("w.txt"), "precious too\n").expect("write");
    (repo, victim)
}

fn assert_victim_intact(victim: &Path, what: &str) {
    for (file, content) in [("v.txt", "precious\n"), ("w.txt", "precious too\n")] {
        assert_eq!(
            fs::read_to_string(victim.join(file)).ok().as_deref(),
            Some(content),
            "{what}: {file} outside the repository was deleted or changed"
        );
    }
}

fn write(writer: &Writer, repo: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&str> = writer.args.to_vec();
    args.extend(["-o", "rendered"]);
    args.extend(extra);
    run(repo, &args)
}

/// The attacks: planted trees whose marker lists a victim file through a link in each
/// possible component of the path.
fn plant(attack: &str, repo: &Path, victim: &Path, marker: &str) -> PathBuf {
    let v = sha256(&fs::read(victim.join("v.txt")).expect("victim"));
    let w = sha256(&fs::read(victim.join("w.txt")).expect("victim"));
    let listing = |names: &[(&str, &str)]| {
        names
            .iter()
            .map(|(hash, name)| format!("{hash}  {name}\n"))
            .collect::<String>()
    };
    let leftover = |kind: &str| repo.join(format!(".rendered.kotalc-{kind}-4000000000"));
    match attack {
        // The issue's repro: a link as a middle component.
        "link-in-the-middle" => {
            let tree = leftover("old");
            fs::create_dir(&tree).expect("mkdir");
            symlink("../../victim", tree.join("up")).expect("link");
            fs::write(
                tree.join(marker),
                listing(&[(&v, "up/v.txt"), (&w, "up/w.txt")]),
            )
            .expect("marker");
            tree
        }
        // The leftover itself a link to a directory that holds a marker.
        "link-as-the-tree" => {
            let tree = leftover("old");
            fs::write(
                victim.join(marker),
                listing(&[(&v, "v.txt"), (&w, "w.txt")]),
            )
            .expect("marker");
            symlink(victim, &tree).expect("link");
            tree
        }
        // A link as the last component, the listed sum that of its target.
        "link-as-the-file" => {
            let tree = leftover("old");
            fs::create_dir(&tree).expect("mkdir");
            symlink(victim.join("v.txt"), tree.join("v.txt")).expect("link");
            fs::create_dir(tree.join("ns")).expect("mkdir");
            symlink(victim.join("w.txt"), tree.join("ns/w.txt")).expect("link");
            fs::write(
                tree.join(marker),
                listing(&[(&v, "v.txt"), (&w, "ns/w.txt")]),
            )
            .expect("marker");
            tree
        }
        // A staging tree with a forged flag, the whole tree to be removed if believed.
        "forged-staging-flag" => {
            let tree = leftover("new");
            fs::create_dir(&tree).expect("mkdir");
            fs::write(
                tree.join(".kotalc-staging"),
                "kotalc staging tree 1 2 3.000000004\n",
            )
            .expect("flag");
            symlink("../../victim", tree.join("up")).expect("link");
            fs::write(tree.join("committed.yaml"), "kind: Kept\n").expect("write");
            tree
        }
        // The output directory itself committed with a marker and a link; --force.
        "owned-dir" => {
            let tree = repo.join("rendered");
            fs::create_dir(&tree).expect("mkdir");
            symlink("../../victim", tree.join("up")).expect("link");
            fs::write(
                tree.join(marker),
                listing(&[(&v, "up/v.txt"), (&w, "up/w.txt")]),
            )
            .expect("marker");
            tree
        }
        _ => unreachable!("{attack}"),
    }
}

const ATTACKS: [&str; 5] = [
    "link-in-the-middle",
    "link-as-the-tree",
    "link-as-the-file",
    "forged-staging-flag",
    "owned-dir",
];

#[test]
fn a_planted_leftover_never_makes_kotalc_delete_through_a_link() {
    for writer in &WRITERS {
        for attack in ATTACKS {
            let what = format!("{} -o, {attack}", writer.name);
            let (repo, victim) = repository(&format!("leftover-{}-{attack}", writer.name));
            let tree = plant(attack, &repo, &victim, writer.marker);
            let planted = snapshot(&tree);
            let out = write(writer, &repo, &["--force"]);
            let stderr = text(&out.stderr);
            assert_victim_intact(&victim, &what);
            // The inputs are never touched either.
            assert_eq!(
                fs::read_to_string(repo.join("ipfs/p.yaml")).expect("input"),
                PEER,
                "{what}"
            );
            if attack == "owned-dir" {
                // The link was not kotalc's: kept in the new tree, as a link.
                out.code(0);
                assert!(
                    fs::symlink_metadata(tree.join("up"))
                        .expect("kept")
                        .file_type()
                        .is_symlink(),
                    "{what}"
                );
                continue;
            }
            out.code(0);
            // What kotalc cannot prove its own is left as it is, and named.
            assert_eq!(snapshot(&tree), planted, "{what}: the planted tree changed");
            assert!(
                stderr.contains("alone") && stderr.contains(".rendered.kotalc-"),
                "{what}: the planted tree is not named: {stderr}"
            );
        }
    }
}

/// What a tree holds, links as their targets' names, never followed.
fn snapshot(tree: &Path) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let meta = fs::symlink_metadata(tree).expect("planted");
    if meta.file_type().is_symlink() {
        return vec![(
            String::new(),
            fs::read_link(tree).expect("link").display().to_string(),
        )];
    }
    for entry in walkdir::WalkDir::new(tree)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.expect("walk");
        let name = entry.path().display().to_string();
        let content = if entry.file_type().is_symlink() {
            format!(
                "-> {}",
                fs::read_link(entry.path()).expect("link").display()
            )
        } else if entry.file_type().is_file() {
            fs::read_to_string(entry.path()).expect("read")
        } else {
            String::from("dir")
        };
        entries.push((name, content));
    }
    entries
}

/// A plain leftover of kotalc's own output (an old tree swapped out, its marker listing each
/// file with its content) is cleaned; with a file added by hand, it is kept and named.
#[test]
fn an_old_tree_left_by_an_interrupted_run_is_cleaned_only_when_it_is_all_kotalc_s() {
    for writer in &WRITERS {
        let (repo, _) = repository(&format!("leftover-old-{}", writer.name));
        let out = write(writer, &repo, &[]);
        out.code(0);
        let old = repo.join(".rendered.kotalc-old-4000000001");
        fs::rename(repo.join("rendered"), &old).expect("move");
        let out = write(writer, &repo, &[]);
        out.code(0);
        assert!(
            !old.exists(),
            "{}: the old tree is still there",
            writer.name
        );

        let out = write(writer, &repo, &[]);
        out.code(0);
        fs::rename(repo.join("rendered"), &old).expect("move");
        fs::write(old.join("mine.txt"), "added by hand\n").expect("write");
        let out = write(writer, &repo, &[]);
        out.code(0);
        assert_eq!(
            fs::read_to_string(old.join("mine.txt")).expect("kept"),
            "added by hand\n"
        );
        out.stderr_has("mine.txt");
    }
}

/// `build -o` killed with SIGKILL while it writes thousands of files: the next run removes
/// the staging tree, which its flag proves kotalc's.
#[test]
fn a_staging_tree_left_by_kill_9_is_cleaned_by_the_next_run() {
    let work = scratch("leftover-kill");
    let inputs = work.join("in");
    fs::create_dir_all(&inputs).expect("mkdir");
    for i in 0..1500 {
        fs::write(
            inputs.join(format!("p{i}.yaml")),
            PEER.replace("name: p,", &format!("name: p{i},")),
        )
        .expect("write");
    }
    let staged = |pid: u32| work.join(format!(".out.kotalc-new-{pid}"));
    let mut left = None;
    // The run is killed as soon as its staging tree holds files; a run that finished first
    // (a fast machine) is tried again.
    for _ in 0..20 {
        let _ = fs::remove_dir_all(work.join("out"));
        let mut child = Kotalc::new()
            .args(["build", "in", "-o", "out"])
            .current_dir(&work)
            .command()
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kotalc runs");
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !staged(pid).join("ipfs").exists()
            && child.try_wait().expect("wait").is_none()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        let _ = child.kill();
        let _ = child.wait();
        if staged(pid).join("ipfs").exists() {
            left = Some(staged(pid));
            break;
        }
    }
    let left = left.expect("a run killed while it staged its tree");
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(0);
    assert!(!left.exists(), "{}: {}", left.display(), text(&out.stderr));
    let leftovers: Vec<String> = fs::read_dir(&work)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("kotalc-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
