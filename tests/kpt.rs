//! The KRM function under the real kpt (1.0): `kpt fn eval DIR --exec`, as a transformer and
//! as a generator, and `kpt fn source | kotalc krm | kpt fn sink`. kpt adds its annotations to
//! the items and prints the function's results, warnings and errors included.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value as J;

use crate::common::{self, root, run, scratch, text};

fn kotalc_bin() -> String {
    env!("CARGO_BIN_EXE_kotalc").to_string()
}

/// kpt with its home and caches in the scratch directory: nothing read from or written to
/// the user's, and no network needed with --exec.
fn kpt(home: &Path, dir: &Path, args: &[&str]) -> Output {
    fs::create_dir_all(home).expect("home");
    Command::new("kpt")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .expect("kpt runs")
}

fn objects_below(dir: &Path) -> Vec<J> {
    let mut objects = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "yaml") {
            let docs: Vec<J> =
                serde_saphyr::from_multiple(&fs::read_to_string(entry.path()).expect("read"))
                    .expect("YAML");
            objects.extend(docs.into_iter().filter(|d| !d.is_null()));
        }
    }
    for object in &mut objects {
        // kpt's own bookkeeping, not the objects'.
        let Some(metadata) = object.get_mut("metadata").and_then(J::as_object_mut) else {
            continue;
        };
        if let Some(annotations) = metadata.get_mut("annotations").and_then(J::as_object_mut) {
            annotations.retain(|k, _| !k.contains("config.kubernetes.io/"));
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    objects.sort_by_key(kotalc::kube::manifest::Key::of);
    objects
}

fn built(dir: &Path, path: &str) -> Vec<J> {
    let out = run(dir, &["build", path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut docs: Vec<J> = serde_saphyr::from_multiple(&text(&out.stdout)).expect("YAML");
    docs.retain(|d| !d.is_null());
    docs.sort_by_key(kotalc::kube::manifest::Key::of);
    docs
}

const PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: gw\n  \
    namespace: ipfs\nspec:\n  gateway: true\n";
const OTHER: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: ipfs\ndata:\n  a: b\n";

#[test]
fn kpt_fn_eval_runs_kotalc_as_a_transformer() {
    common::require_kpt();
    let dir = scratch("kpt-transformer");
    let pkg = dir.join("pkg");
    fs::create_dir_all(&pkg).expect("mkdir");
    fs::write(pkg.join("peer.yaml"), PEER).expect("write");
    fs::write(pkg.join("other.yaml"), OTHER).expect("write");
    let reference = scratch("kpt-transformer-reference");
    fs::write(reference.join("peer.yaml"), PEER).expect("write");
    let expected = built(&reference, "peer.yaml");

    let exec = format!("{} krm", kotalc_bin());
    let out = kpt(
        &dir.join("home"),
        &dir,
        &["fn", "eval", "pkg", "--exec", &exec],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("[PASS]"), "{stderr}");
    assert!(
        stderr.contains("[info]: kotalc: 1 resource, 0 errors, 0 warnings"),
        "kpt prints the summary result: {stderr}"
    );
    // The Peer is replaced by what kotalc renders; the ConfigMap passes untouched.
    assert!(!pkg.join("peer.yaml").exists());
    assert_eq!(
        fs::read_to_string(pkg.join("other.yaml")).expect("read"),
        OTHER
    );
    let mut objects = objects_below(&pkg);
    objects.retain(|o| o["metadata"]["name"] != "other");
    assert_eq!(objects, expected);
}

#[test]
fn kpt_prints_the_functions_warnings_and_errors() {
    common::require_kpt();
    let dir = scratch("kpt-errors");
    let pkg = dir.join("pkg");
    fs::create_dir_all(&pkg).expect("mkdir");
    let broken = PEER.replace("gateway: true", "gateway: true\n  apiPorts: 5001");
    fs::write(pkg.join("peer.yaml"), &broken).expect("write");
    let exec = format!("{} krm", kotalc_bin());
    let out = kpt(
        &dir.join("home"),
        &dir,
        &["fn", "eval", "pkg", "--exec", &exec],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[FAIL]"), "{stderr}");
    assert!(
        stderr.contains(
            "[error] ipfs.kotal.io/v1alpha1/Peer/ipfs/gw spec.apiPorts: [unknown-field] unknown field `apiPorts`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("[info]: kotalc: 1 resource, 1 error, 0 warnings"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(pkg.join("peer.yaml")).expect("read"),
        broken,
        "a failed function changes nothing"
    );

    // A warning is printed by kpt, and the package is rendered.
    let private = PEER.replace("gateway: true", "swarmKeySecretName: swarm-key");
    fs::write(pkg.join("peer.yaml"), &private).expect("write");
    let out = kpt(
        &dir.join("home"),
        &dir,
        &["fn", "eval", "pkg", "--exec", &exec],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("[warning] ipfs.kotal.io/v1alpha1/Peer/ipfs/gw spec.swarmKeySecretName: [sealed-secret-placeholder]"),
        "{stderr}"
    );

    // With the shipped configuration (denyWarnings), the warning fails the function.
    fs::write(pkg.join("peer.yaml"), &private).expect("write");
    let config = root().join("examples/kustomize/krm-function/kotalc.yaml");
    let out = kpt(
        &dir.join("home"),
        &dir,
        &[
            "fn",
            "eval",
            "pkg",
            "--exec",
            &exec,
            "--fn-config",
            &config.to_string_lossy(),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("[error]") && stderr.contains("sealed-secret-placeholder"),
        "{stderr}"
    );
}

#[test]
fn kpt_fn_eval_runs_kotalc_as_a_generator() {
    common::require_kpt();
    let dir = scratch("kpt-generator");
    fs::create_dir_all(dir.join("inputs")).expect("mkdir");
    fs::write(dir.join("inputs/peer.yaml"), PEER).expect("write");
    fs::create_dir_all(dir.join("pkg")).expect("mkdir");
    // Relative to the directory kpt runs in, the root the function's paths are confined to.
    fs::write(
        dir.join("fn.yaml"),
        "apiVersion: kotalc.io/v1alpha1\nkind: KotalcBuild\nmetadata:\n  name: gen\nspec:\n  \
         paths: [inputs]\n",
    )
    .expect("write");
    let exec = format!("{} krm", kotalc_bin());
    let out = kpt(
        &dir.join("home"),
        &dir,
        &[
            "fn",
            "eval",
            "pkg",
            "--exec",
            &exec,
            "--fn-config",
            "fn.yaml",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(objects_below(&dir.join("pkg")), built(&dir, "inputs"));
}

#[test]
fn kpt_fn_source_kotalc_krm_kpt_fn_sink() {
    common::require_kpt();
    let dir = scratch("kpt-pipeline");
    fs::create_dir_all(dir.join("pkg")).expect("mkdir");
    fs::write(dir.join("pkg/peer.yaml"), PEER).expect("write");
    fs::write(dir.join("pkg/other.yaml"), OTHER).expect("write");
    let home = dir.join("home");
    let source = kpt(&home, &dir, &["fn", "source", "pkg"]);
    assert!(source.status.success(), "{}", text(&source.stderr));
    assert!(text(&source.stdout).contains("config.kubernetes.io/index"));
    let function = crate::common::run_with_stdin(&dir, &["krm"], &source.stdout);
    assert!(function.status.success(), "{}", text(&function.stdout));
    let mut sink = Command::new("kpt")
        .args(["fn", "sink", "out"])
        .current_dir(&dir)
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kpt runs");
    use std::io::Write;
    sink.stdin
        .take()
        .expect("stdin")
        .write_all(&function.stdout)
        .expect("write");
    let sunk = sink.wait_with_output().expect("kpt ends");
    assert!(sunk.status.success(), "{}", text(&sunk.stderr));
    // The ConfigMap keeps its file and its content (as data: kotalc writes items back in
    // canonical key order).
    let other: J = serde_saphyr::from_str(
        &fs::read_to_string(dir.join("out/other.yaml")).expect("the ConfigMap keeps its file"),
    )
    .expect("YAML");
    assert_eq!(other, serde_saphyr::from_str::<J>(OTHER).expect("YAML"));
    let mut objects = objects_below(&dir.join("out"));
    objects.retain(|o| o["metadata"]["name"] != "other");
    assert_eq!(objects, built(&dir, "pkg/peer.yaml"));
}

/// `kpt fn render` runs the pipeline of `examples/kpt/Kptfile` as a user would, with kotalc
/// on PATH: with `-o DIR` the package is left as it is and DIR holds what `kotalc build`
/// renders; in place, the package's Peer is replaced by its objects, as the Kptfile says.
#[test]
fn kpt_fn_render_runs_the_example_kptfile() {
    common::require_kpt();
    let dir = scratch("kpt-render");
    let pkg = dir.join("pkg");
    common::copy_tree(&root().join("examples/kpt"), &pkg);
    let bin = std::path::PathBuf::from(kotalc_bin());
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = dir.join("home");
    fs::create_dir_all(&home).expect("home");
    let render = |args: &[&str]| {
        Command::new("kpt")
            .args(["fn", "render", "--allow-exec"])
            .args(args)
            .current_dir(&dir)
            .env("PATH", &path)
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .output()
            .expect("kpt runs")
    };
    let expected = {
        let out = run(&root(), &["build", "examples/kpt/ipfs", "-n", "ipfs"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut docs: Vec<J> = serde_saphyr::from_multiple(&text(&out.stdout)).expect("YAML");
        docs.retain(|d| !d.is_null());
        docs.sort_by_key(kotalc::kube::manifest::Key::of);
        docs
    };
    let rendered_objects = |at: &Path| {
        let mut objects = objects_below(at);
        objects.retain(|o| o["kind"] != "Kptfile" && o["kind"] != "KotalcBuild");
        objects
    };

    let out = render(&["pkg", "-o", "out"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("[info]: kotalc: 1 resource, 0 errors, 0 warnings"),
        "{stderr}"
    );
    assert_eq!(rendered_objects(&dir.join("out")), expected);
    assert_eq!(
        fs::read(pkg.join("ipfs/peer.yaml")).expect("the input is kept"),
        fs::read(root().join("examples/kpt/ipfs/peer.yaml")).expect("example")
    );

    // In place: the package holds the output, not the Peer.
    let out = render(&["pkg"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!pkg.join("ipfs/peer.yaml").exists());
    assert_eq!(rendered_objects(&pkg), expected);
}
