//! `build -o DIR`: one file per object plus a kustomization, never losing a file kotalc does
//! not own (interrupted runs: `interrupted.rs`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::{run, scratch, text};

const PEER: &str =
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: NAME\n  namespace: ipfs\n";

fn write_peers(input: &Path, names: &[&str]) {
    let _ = fs::remove_dir_all(input);
    fs::create_dir_all(input).expect("mkdir");
    for name in names {
        fs::write(
            input.join(format!("{name}.yaml")),
            PEER.replace("NAME", name),
        )
        .expect("write");
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path()
                    .strip_prefix(dir)
                    .expect("prefix")
                    .display()
                    .to_string(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[test]
fn writes_one_file_per_object_with_a_kustomization() {
    let work = scratch("outdir-layout");
    write_peers(&work.join("in"), &["alpha"]);
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(0);
    let files: Vec<String> = snapshot(&work.join("out")).into_keys().collect();
    assert_eq!(
        files,
        [
            ".kotalc-files",
            "ipfs/configmap-alpha.yaml",
            "ipfs/networkpolicy-alpha.yaml",
            "ipfs/persistentvolumeclaim-alpha.yaml",
            "ipfs/service-alpha.yaml",
            "ipfs/statefulset-alpha.yaml",
            "kustomization.yaml"
        ]
    );
    let kustomization = fs::read_to_string(work.join("out/kustomization.yaml")).expect("read");
    assert!(kustomization.contains(
        "- ipfs/configmap-alpha.yaml\n- ipfs/networkpolicy-alpha.yaml\n\
         - ipfs/persistentvolumeclaim-alpha.yaml\n"
    ));
    // The directory is what kustomize (and so Flux) consumes as it is.
    if let Ok(k) = std::process::Command::new("kubectl")
        .args(["kustomize"])
        .arg(work.join("out"))
        .output()
    {
        assert!(k.status.success(), "kubectl kustomize: {}", text(&k.stderr));
        assert_eq!(text(&k.stdout).matches("kind: StatefulSet").count(), 1);
    }
    // The rendered tree is never read back as input.
    let again = run(&work, &["build", ".", "-o", "out"]);
    again.code(0);
}

#[test]
fn refuses_a_directory_it_does_not_own() {
    let work = scratch("outdir-foreign");
    write_peers(&work.join("in"), &["alpha"]);
    fs::create_dir_all(work.join("out")).expect("mkdir");
    fs::write(work.join("out/notes.txt"), "mine").expect("write");
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(1).stderr_has("was not written by kotalc");
    assert_eq!(
        fs::read_to_string(work.join("out/notes.txt")).expect("kept"),
        "mine"
    );
    assert_eq!(snapshot(&work.join("out")).len(), 1);
    // --force never takes a foreign directory.
    run(&work, &["build", "in", "-o", "out", "--force"]).code(1);
}

#[test]
fn keeps_the_previous_output_when_rendering_fails() {
    let work = scratch("outdir-failure");
    write_peers(&work.join("in"), &["alpha"]);
    run(&work, &["build", "in", "-o", "out"]).success();
    let before = snapshot(&work.join("out"));
    fs::write(
        work.join("in/broken.yaml"),
        PEER.replace("NAME", "Broken_Name"),
    )
    .expect("write");
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(1);
    assert_eq!(snapshot(&work.join("out")), before);
    let leftovers: Vec<_> = fs::read_dir(&work)
        .expect("list")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "staging directories left behind: {leftovers:?}"
    );
}

#[test]
fn removes_stale_files_it_owns() {
    let work = scratch("outdir-stale");
    write_peers(&work.join("in"), &["alpha", "beta"]);
    run(&work, &["build", "in", "-o", "out"]).success();
    assert!(work.join("out/ipfs/statefulset-beta.yaml").exists());
    write_peers(&work.join("in"), &["alpha"]);
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(0);
    assert!(!work.join("out/ipfs/statefulset-beta.yaml").exists());
    assert!(work.join("out/ipfs/statefulset-alpha.yaml").exists());
}

/// The summary of an update counts the files written, not the tree: CI reads it to see what a
/// commit changed.
#[test]
fn an_update_says_how_many_files_it_wrote() {
    let work = scratch("outdir-update-count");
    write_peers(&work.join("in"), &["alpha", "beta"]);
    run(&work, &["build", "in", "-o", "out"])
        .success()
        .stderr_has("; wrote 11 files to out\n");
    // A third Peer: its five files are new, and the kustomization lists them.
    write_peers(&work.join("in"), &["alpha", "beta", "gamma"]);
    let added = run(&work, &["build", "in", "-o", "out"]);
    added.success();
    let said = text(&added.stderr);
    let (written, total) = said
        .trim_end()
        .rsplit("; wrote ")
        .next()
        .and_then(|s| s.strip_suffix(" files to out"))
        .and_then(|s| s.split_once(" of "))
        .and_then(|(n, m)| Some((n.parse::<usize>().ok()?, m.parse::<usize>().ok()?)))
        .unwrap_or_else(|| panic!("not \"wrote N of M files to out\": {said}"));
    assert_eq!(total, 16, "{said}");
    assert!((5..total).contains(&written), "{said}");
}

#[test]
fn refuses_to_overwrite_hand_edits_unless_forced() {
    let work = scratch("outdir-edited");
    write_peers(&work.join("in"), &["alpha"]);
    run(&work, &["build", "in", "-o", "out"]).success();
    let edited = work.join("out/ipfs/service-alpha.yaml");
    fs::write(&edited, "# hand edit\n").expect("edit");
    fs::write(work.join("out/extra.yaml"), "# added by hand\n").expect("add");
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(1)
        .stderr_has("edited since kotalc wrote it: ipfs/service-alpha.yaml")
        .stderr_has("not written by kotalc: extra.yaml");
    assert_eq!(fs::read_to_string(&edited).expect("kept"), "# hand edit\n");
    let forced = run(&work, &["build", "in", "-o", "out", "--force"]);
    forced.code(0);
    assert!(
        fs::read_to_string(&edited)
            .expect("read")
            .contains("kind: Service")
    );
    // --force replaces kotalc's files only: a file added by hand is kept.
    assert_eq!(
        fs::read_to_string(work.join("out/extra.yaml")).expect("kept"),
        "# added by hand\n"
    );
}

/// The one layout rule of `build -o DIR` and `import -o DIR`: `DIR/<namespace>/<kind>-<name>.yaml`
/// whatever else DIR holds, and `DIR/<kind>-<name>.yaml` for an object with no namespace. So
/// `import -o kotal/` then `build kotal/ -o rendered/` gives `rendered/<namespace>/...`.
#[test]
fn every_output_directory_has_one_directory_per_namespace() {
    let work = scratch("output-layout");
    let export = "apiVersion: v1\nkind: List\nitems:\n\
        - apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: a\n    namespace: ipfs\n  spec: {}\n\
        - apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata:\n    name: b\n    namespace: team-b\n  spec: {}\n";
    fs::write(work.join("export.yaml"), export).expect("write");
    let out = run(&work, &["import", "export.yaml", "-o", "kotal/"]);
    out.code(0);
    assert!(work.join("kotal/ipfs/peer-a.yaml").is_file());
    assert!(work.join("kotal/team-b/peer-b.yaml").is_file());
    fs::write(
        work.join("kotal/c.yaml"),
        PEER.replace("NAME", "c").replace("  namespace: ipfs\n", ""),
    )
    .expect("write");
    let out = run(&work, &["build", "kotal/", "-o", "rendered/"]);
    out.code(0);
    for file in [
        "rendered/ipfs/statefulset-a.yaml",
        "rendered/team-b/statefulset-b.yaml",
        "rendered/statefulset-c.yaml",
        "rendered/kustomization.yaml",
    ] {
        assert!(work.join(file).is_file(), "{file}");
    }
}
