//! The KRM function under the real kpt (1.0): `kpt fn eval DIR --exec`, as a transformer and
//! as a generator, and `kpt fn source | kotalc krm | kpt fn sink`. kpt adds its annotations to
//! the items and prints the function's results, warnings and errors included.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value as J;

use crate::common::{self, Kotalc, Run, root, run, scratch, text};

/// kpt with its home and caches in the scratch directory: nothing read from or written to
/// the user's, and no network needed with --exec.
fn kpt(home: &Path, dir: &Path, args: &[&str]) -> Run {
    fs::create_dir_all(home).expect("home");
    Run::of(
        Command::new("kpt")
            .args(args)
            .current_dir(dir)
            .env("HOME", home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config")),
        "kpt runs",
    )
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
    out.success();
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

    let exec = format!("{} krm", Kotalc::bin().display());
    let out = kpt(
        &dir.join("home"),
        &dir,
        &["fn", "eval", "pkg", "--exec", &exec],
    );
    let stderr = text(&out.stderr);
    out.success().stderr_has("[PASS]");
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
    let exec = format!("{} krm", Kotalc::bin().display());
    let out = kpt(
        &dir.join("home"),
        &dir,
        &["fn", "eval", "pkg", "--exec", &exec],
    );
    out.fails()
        .stderr_has("[FAIL]")
        .stderr_has(
            "[error] ipfs.kotal.io/v1alpha1/Peer/ipfs/gw spec.apiPorts: [unknown-field] \
             unknown field `apiPorts`",
        )
        .stderr_has("[info]: kotalc: 1 resource, 1 error, 0 warnings");
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
    out.success().stderr_has(
        "[warning] ipfs.kotal.io/v1alpha1/Peer/ipfs/gw spec.swarmKeySecretName: \
         [sealed-secret-placeholder]",
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
    out.fails()
        .stderr_has("[error]")
        .stderr_has("sealed-secret-placeholder");
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
    let exec = format!("{} krm", Kotalc::bin().display());
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
    out.success();
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
    source.success().stdout_has("config.kubernetes.io/index");
    let function = Kotalc::new()
        .current_dir(&dir)
        .args(["krm"])
        .stdin(&source.stdout)
        .run();
    function.success();
    let sunk = Run::feeding(
        Command::new("kpt")
            .args(["fn", "sink", "out"])
            .current_dir(&dir)
            .env("HOME", &home),
        &function.stdout,
        "kpt runs",
    );
    sunk.success();
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
    let bin = Kotalc::bin().to_path_buf();
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = dir.join("home");
    fs::create_dir_all(&home).expect("home");
    let render = |args: &[&str]| {
        Run::of(
            Command::new("kpt")
                .args(["fn", "render", "--allow-exec"])
                .args(args)
                .current_dir(&dir)
                .env("PATH", &path)
                .env("HOME", &home)
                .env("XDG_CACHE_HOME", home.join("cache"))
                .env("XDG_CONFIG_HOME", home.join("config")),
            "kpt runs",
        )
    };
    let expected = {
        let out = run(&root(), &["build", "examples/kpt/ipfs", "-n", "ipfs"]);
        out.success();
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
    out.success()
        .stderr_has("[info]: kotalc: 1 resource, 0 errors, 0 warnings");
    assert_eq!(rendered_objects(&dir.join("out")), expected);
    assert_eq!(
        fs::read(pkg.join("ipfs/peer.yaml")).expect("the input is kept"),
        fs::read(root().join("examples/kpt/ipfs/peer.yaml")).expect("example")
    );

    // In place: the package holds the output, not the Peer.
    let out = render(&["pkg"]);
    out.success();
    assert!(!pkg.join("ipfs/peer.yaml").exists());
    assert_eq!(rendered_objects(&pkg), expected);
}
