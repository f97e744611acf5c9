//! Attacks on the file system through the inputs: names that would write outside the output
//! directory, migrations that would replace their inputs, builds that would delete files
//! kotalc did not write. Each test is the attack, then what must hold: nothing outside DIR
//! changes, the inputs stay byte-identical, and the exit code says what happened.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::{Kotalc, root, run, scratch, text};

const PEER: &str =
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: peer\n  namespace: ipfs\n";

/// Every file below `dir` with its bytes, links as their target text.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let name = e
                .path()
                .strip_prefix(dir)
                .expect("prefix")
                .display()
                .to_string();
            let bytes = if e.file_type().is_symlink() {
                fs::read_link(e.path())
                    .expect("link")
                    .display()
                    .to_string()
                    .into_bytes()
            } else {
                fs::read(e.path()).unwrap_or_default()
            };
            (name, bytes)
        })
        .collect()
}

/// Runs an attack in `work`: exit 1, a located `invalid-name` error, and nothing written.
fn refused(work: &Path, args: &[&str], env: &[(&str, &str)], located: &str) {
    let before = snapshot(work);
    let out = Kotalc::new()
        .args(args)
        .current_dir(work)
        .envs(env.iter().copied())
        .run();
    let stderr = text(&out.stderr);
    out.code(1).stderr_has("invalid-name");
    assert!(
        stderr.contains(located),
        "{args:?} names {located}: {stderr}"
    );
    assert_eq!(snapshot(work), before, "{args:?} wrote into the work tree");
}

#[test]
fn names_and_namespaces_never_reach_a_path_outside_dir() {
    let work = scratch("escape-names");
    let outside = scratch("escape-names-outside");
    let target = outside.join("esc");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    fs::write(work.join("in/peer.yaml"), PEER).expect("write");
    let sealed = format!(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: x\n  namespace: {}\nspec:\n  encryptedData:\n    k: AAAAAAAA\n",
        target.display()
    );
    fs::write(work.join("in/sealed.yaml"), &sealed).expect("write");
    refused(&work, &["build", "in", "-o", "out"], &[], "sealed.yaml:5:");
    fs::remove_file(work.join("in/sealed.yaml")).expect("rm");

    // A passthrough object whose name and namespace climb out of DIR onto the input.
    fs::write(
        work.join("in/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: /../peer\n  namespace: ../in\n",
    )
    .expect("write");
    refused(
        &work,
        &["build", "in", "--passthrough", "-o", "out"],
        &[],
        "cm.yaml:4:",
    );
    // A passthrough Service is named as the API server names Services (DNS-1035): it
    // starts with a letter.
    fs::write(
        work.join("in/cm.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1svc\n",
    )
    .expect("write");
    refused(
        &work,
        &["build", "in", "--passthrough", "-o", "out"],
        &[],
        "cm.yaml:4:",
    );
    // A kind is a path component too.
    fs::write(
        work.join("in/cm.yaml"),
        "apiVersion: example.com/v1\nkind: ../../Widget\nmetadata:\n  name: w\n",
    )
    .expect("write");
    refused(
        &work,
        &["build", "in", "--passthrough", "-o", "out"],
        &[],
        "cm.yaml:2:",
    );
    fs::remove_file(work.join("in/cm.yaml")).expect("rm");

    // The default namespace, from the command line, Argo CD, and a KRM functionConfig.
    let ns = target.display().to_string();
    refused(
        &work,
        &["build", "in", "-n", &ns, "-o", "out"],
        &[],
        "namespace",
    );
    refused(
        &work,
        &["build", "in", "--argocd", "-o", "out"],
        &[("ARGOCD_APP_NAMESPACE", "../../x")],
        "namespace",
    );
    refused(
        &work,
        &["build", "in", "--argocd", "-o", "out"],
        &[("ARGOCD_ENV_KOTALC_NAMESPACE", "/tmp/x")],
        "namespace",
    );
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {}\nfunctionConfig:\n  apiVersion: kotalc.io/v1alpha1\n  kind: KotalcBuild\n  spec:\n    namespace: ../x\n",
        serde_json::to_string(&serde_json::json!({
            "apiVersion": "ipfs.kotal.io/v1alpha1", "kind": "Peer", "metadata": {"name": "p"}
        }))
        .expect("json")
    );
    let out = Kotalc::new()
        .current_dir(&work)
        .args(["krm"])
        .stdin(list.as_bytes())
        .run();
    out.code(1).stdout_has("invalid-name");

    assert!(!target.exists(), "a file was written outside DIR");
    assert!(!work.join("out").exists());
    assert_eq!(
        fs::read_to_string(work.join("in/peer.yaml")).expect("input"),
        PEER
    );
}

/// A random name or namespace either is refused or gives a path inside DIR.
#[test]
fn every_path_built_from_names_stays_inside_dir() {
    use proptest::prelude::*;
    let alphabet = prop::sample::select(vec![
        'a', 'z', '0', '-', '.', '/', '\\', '%', ':', '\0', '\n', 'é',
    ]);
    let part = proptest::collection::vec(alphabet, 0..12)
        .prop_map(|chars| chars.into_iter().collect::<String>());
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 2000,
        ..Default::default()
    });
    runner
        .run(
            &(part.clone(), part.clone(), part),
            |(kind, name, namespace)| {
                let valid = kotalc::kube::names::kind(&kind).is_none()
                    && kotalc::kube::names::object_name(&kind, &name).is_none()
                    && kotalc::kube::names::namespace(&namespace).is_none();
                let object = kotalc::kube::manifest::Object {
                    api_version: "v1".into(),
                    kind: kind.clone(),
                    namespace: Some(namespace.clone()),
                    name: name.clone(),
                    value: serde_json::Value::Null,
                    yaml: String::new(),
                    origin: kotalc::diagnostic::source::Span {
                        file: 0,
                        line: 1,
                        col: 1,
                        len: 1,
                    },
                };
                let path = kotalc::kube::manifest::file_inside(&object.key());
                if valid {
                    prop_assert!(path.is_some(), "{kind:?} {name:?} {namespace:?}");
                }
                if let Some(path) = path {
                    let joined = kotalc::output::emit::inside(Path::new("/out"), &path);
                    prop_assert!(joined.is_some(), "{path:?}");
                    let joined = joined.unwrap_or_default();
                    prop_assert!(joined.starts_with("/out/"), "{path:?}");
                    prop_assert!(!path.split('/').any(|c| c == ".." || c.starts_with('.')));
                }
                Ok(())
            },
        )
        .expect("no path leaves DIR");
}

#[test]
fn migrate_reports_an_invalid_namespace_as_build_does() {
    let work = scratch("escape-migrate-namespace");
    let swarm = fs::read(root().join("fixtures/sample-swarm/input/ipfs_v1alpha1_swarm.yaml"))
        .expect("fixture");
    fs::write(work.join("s.yaml"), &swarm).expect("write");
    let out = run(
        &work,
        &[
            "migrate",
            "s.yaml",
            "-o",
            "out",
            "--namespace",
            "Not_A_Name",
            "--format",
            "json",
        ],
    );
    out.code(1);
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", text(&out.stderr));
    assert_eq!(lines[0]["code"], "invalid-name");
    assert_eq!(lines[0]["severity"], "error");
    let message = lines[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the default namespace \"Not_A_Name\" is invalid: "),
        "{message}"
    );
    assert_eq!(lines[1]["summary"]["errors"], 1);
    assert!(!work.join("out").exists(), "nothing is written");
    // The build of the same inputs says the same.
    let build = run(
        &work,
        &[
            "build",
            "s.yaml",
            "--namespace",
            "Not_A_Name",
            "--format",
            "json",
        ],
    );
    build.code(1);
    let first: serde_json::Value = text(&build.stderr)
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("a JSON line");
    assert_eq!(first["message"], message, "{}", text(&build.stderr));
}

#[test]
fn migrate_writes_only_inside_dir_and_never_touches_an_input() {
    let work = scratch("escape-migrate");
    let swarm = fs::read(root().join("fixtures/sample-swarm/input/ipfs_v1alpha1_swarm.yaml"))
        .expect("fixture");
    fs::write(work.join("s.yaml"), &swarm).expect("write");
    let absolute = work.join("s.yaml").display().to_string();
    let out = run(&work, &["migrate", &absolute, "-o", "out"]);
    out.code(0);
    assert_eq!(fs::read(work.join("s.yaml")).expect("input"), swarm);
    let migrated = fs::read_to_string(work.join("out/s.yaml")).expect("written inside DIR");
    assert!(migrated.contains("kind: Peer"), "{migrated}");

    // Inputs above the working directory: written below DIR by their roots' names.
    let nested = work.join("a/b");
    fs::create_dir_all(&nested).expect("mkdir");
    for dir in ["in", "other"] {
        fs::create_dir_all(work.join("a").join(dir)).expect("mkdir");
        fs::write(work.join("a").join(dir).join("s.yaml"), &swarm).expect("write");
    }
    let before = snapshot(&work.join("a"));
    let out = run(&nested, &["migrate", "../in", "../other", "-o", "out"]);
    out.code(0);
    let after = snapshot(&work.join("a"));
    let changed: Vec<&String> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(
        changed.iter().all(|k| k.starts_with("b/out/")),
        "written outside DIR: {changed:?}"
    );
    assert!(after.contains_key("b/out/in/s.yaml") && after.contains_key("b/out/other/s.yaml"));

    // An output directory that holds an input is refused.
    // An output directory that holds an input, or sits inside one (it would be read back
    // and copied into itself), is refused.
    for input in ["out", "."] {
        let before = snapshot(&work);
        let out = run(&work, &["migrate", input, "-o", "out", "--force"]);
        out.code(1).stderr_has("inside the input");
        // It is a diagnostic like any other: every format renders it, then the summary.
        let json = run(
            &work,
            &["migrate", input, "-o", "out", "--force", "--format", "json"],
        );
        json.code(1);
        let lines: Vec<serde_json::Value> = text(&json.stderr)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 2, "{}", text(&json.stderr));
        assert_eq!(lines[0]["code"], "output-dir");
        assert_eq!(lines[0]["severity"], "error");
        assert_eq!(lines[0]["file"], "out");
        let message = lines[0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("the output directory out is inside the input ")
                && message.ends_with(
                    "; migrate would read its own output: name a directory outside the inputs"
                ),
            "{message}"
        );
        assert_eq!(lines[1]["summary"]["errors"], 1);
        assert_eq!(snapshot(&work), before);
    }
}

#[test]
fn build_never_deletes_what_kotalc_did_not_write() {
    let work = scratch("escape-delete");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    fs::write(work.join("in/peer.yaml"), PEER).expect("write");
    run(&work, &["build", "in", "-o", "out"]).success();

    // The build's inputs inside DIR: refused, even with --force, and kept.
    fs::create_dir_all(work.join("out/src")).expect("mkdir");
    fs::write(work.join("out/src/peer.yaml"), PEER).expect("write");
    let out = run(&work, &["build", "out/src", "-o", "out", "--force"]);
    out.code(1).stderr_has("holds the input");
    assert_eq!(
        fs::read_to_string(work.join("out/src/peer.yaml")).expect("kept"),
        PEER
    );

    // --force replaces kotalc's files only; a hand-added file survives.
    let forced = run(&work, &["build", "in", "-o", "out", "--force"]);
    forced.code(0);
    assert_eq!(
        fs::read_to_string(work.join("out/src/peer.yaml")).expect("kept"),
        PEER
    );

    // A file a person adds while the build runs is kept, whenever it lands.
    let many = work.join("many");
    fs::create_dir_all(&many).expect("mkdir");
    for i in 0..300 {
        fs::write(
            many.join(format!("p{i}.yaml")),
            PEER.replace("name: peer", &format!("name: peer-{i}")),
        )
        .expect("write");
    }
    for delay in [0, 5, 20, 60] {
        let _ = fs::remove_file(work.join("out/notes.txt"));
        let mut child = Kotalc::new()
            .args(["build", "many", "-o", "out", "--force"])
            .current_dir(&work)
            .command()
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kotalc runs");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        fs::write(work.join("out/notes.txt"), "mine").expect("add");
        let _ = child.wait();
        assert_eq!(
            fs::read_to_string(work.join("out/notes.txt")).expect("kept"),
            "mine",
            "added {delay} ms into the build"
        );
    }
}

#[test]
fn build_keeps_the_directorys_mode_and_group() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let work = scratch("escape-mode");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    fs::write(work.join("in/peer.yaml"), PEER).expect("write");
    fs::create_dir_all(work.join("out")).expect("mkdir");
    fs::set_permissions(work.join("out"), fs::Permissions::from_mode(0o2750)).expect("chmod");
    for _ in 0..2 {
        let out = run(&work, &["build", "in", "-o", "out"]);
        out.code(0);
        let meta = fs::metadata(work.join("out")).expect("out");
        assert_eq!(meta.mode() & 0o7777, 0o2750);
        let sub = fs::metadata(work.join("out/ipfs")).expect("ipfs");
        assert_eq!(sub.mode() & 0o2000, 0o2000, "setgid is inherited");
        assert_eq!(sub.gid(), meta.gid());
    }
}
