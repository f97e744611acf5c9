//! Flux: the rendered tree through Flux's own `flux build kustomization` (the code of
//! kustomize-controller's build and post-build substitution), with `postBuild.substitute`
//! and `substituteFrom` set; and the OCI path, `flux push artifact` to a real registry and
//! `flux pull artifact` back. Every program runs in the API server's network namespace,
//! loopback only.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as J;

use crate::apiserver::{Server, server};
use crate::common::{copy_tree, real_program, root, run, scratch, text, tools_cache};

const FLUX: &str = "flux-v2.9.5";

fn flux() -> PathBuf {
    real_program(FLUX, "flux")
}

/// kustomize-controller's Kustomization CRD, which `tests/tools/build.sh` copies beside flux.
fn kustomization_crd() -> PathBuf {
    let crd = tools_cache()
        .join(FLUX)
        .join("kustomize.toolkit.fluxcd.io_kustomizations.yaml");
    assert!(
        crd.is_file(),
        "{} is missing: build it with `tests/tools/build.sh` (or run the tests with `tests/run`)",
        crd.display()
    );
    crd
}

/// A peer whose argument holds what a kubelet would expand, `$(NAME)`, and what Flux would
/// substitute, `${NAME}`: kotalc writes both with `$$`.
const ARGS_PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: Peer
metadata:
  name: args
  namespace: ipfs
spec:
  extraArgs:
    --agent-version-suffix: \"$(HOSTNAME)-${zone}\"
";

/// The example repository plus [`ARGS_PEER`], rendered with `build -o`: the tree a Flux user
/// commits.
fn rendered(dir: &Path) -> PathBuf {
    copy_tree(&root().join("examples/ipfs"), &dir.join("ipfs"));
    fs::write(dir.join("ipfs/peers/args.yaml"), ARGS_PEER).expect("write");
    let out = run(dir, &["build", "ipfs", "-o", "rendered"]);
    out.success();
    dir.join("rendered")
}

/// A Kustomization as a Flux user writes one, substituting variables in the objects it
/// applies: inline, and from a ConfigMap and a Secret. The inline names are the scripts' own
/// variables, so a script that Flux rewrote cannot go unnoticed.
fn kustomization(namespace: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ipfs
  namespace: {namespace}
spec:
  interval: 10m
  path: ./rendered
  prune: true
  sourceRef:
    kind: GitRepository
    name: platform
  postBuild:
    substituteStrategy: Always
    substitute:
      kubo_release: \"9.9.9\"
      zone: inline-zone
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
      - kind: Secret
        name: cluster-secret-vars
"
    )
}

/// Every YAML document of a stream or of the rendered tree, by kind/namespace/name.
fn objects(documents: &[J]) -> BTreeMap<String, J> {
    documents
        .iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            let meta = &d["metadata"];
            let key = format!(
                "{}/{}/{}",
                d["kind"].as_str().unwrap_or_default(),
                meta["namespace"].as_str().unwrap_or_default(),
                meta["name"].as_str().unwrap_or_default()
            );
            (key, d.clone())
        })
        .collect()
}

fn stream(yaml: &str) -> Vec<J> {
    serde_saphyr::from_multiple(yaml).expect("a YAML stream")
}

/// The objects of the rendered tree: every file but the kustomization.yaml.
fn tree(dir: &Path) -> BTreeMap<String, J> {
    let mut documents = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().is_file() && name.ends_with(".yaml") && name != "kustomization.yaml" {
            documents.extend(stream(&fs::read_to_string(entry.path()).expect("read")));
        }
    }
    objects(&documents)
}

/// An object as Flux applies it, less the two labels that mark the Kustomization owning it.
fn without_owner_labels(mut object: J) -> J {
    if let Some(J::Object(meta)) = object.get_mut("metadata")
        && let Some(J::Object(labels)) = meta.get_mut("labels")
    {
        labels.remove("kustomize.toolkit.fluxcd.io/name");
        labels.remove("kustomize.toolkit.fluxcd.io/namespace");
        if labels.is_empty() {
            meta.remove("labels");
        }
    }
    object
}

/// `flux build kustomization` of the tree in `dir`: with `--dry-run` and no cluster when
/// `server` is None (in a network namespace of its own, with no interface up), else against
/// the API server, which `substituteFrom` reads.
fn flux_build(server: Option<&Server>, dir: &Path, strict: bool) -> Output {
    let mut command = match server {
        Some(server) => server.command(&flux()),
        None => {
            let mut command = Command::new("unshare");
            command.arg("-n").arg(flux());
            command
        }
    };
    command
        .args(["build", "kustomization", "ipfs", "--path", "rendered"])
        .args(["--kustomization-file", "flux-kustomization.yaml"])
        .args(["--namespace", "flux-subst", "--timeout", "10m"])
        .current_dir(dir)
        .env("HOME", dir);
    if server.is_none() {
        command.arg("--dry-run");
    }
    if strict {
        command.arg("--strict-substitute");
    }
    command.output().expect("flux runs")
}

/// The cluster half: kustomize-controller's CRD, the Kustomization's namespace, and the
/// ConfigMap and Secret its `substituteFrom` reads.
fn cluster(server: &Server) {
    static READY: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    READY.get_or_init(|| {
        let crd = kustomization_crd();
        server.ok(&["apply", "--server-side", "-f", &crd.to_string_lossy()]);
        server.ok(&[
            "wait",
            "--for=condition=Established",
            "crd/kustomizations.kustomize.toolkit.fluxcd.io",
            "--timeout=600s",
        ]);
        server.namespace("flux-subst");
        // The Kustomization itself, as Flux reads it from the cluster.
        let out = server.kubectl_stdin(
            &["apply", "-f", "-"],
            kustomization("flux-subst").as_bytes(),
        );
        out.success();
        server.ok(&[
            "-n",
            "flux-subst",
            "create",
            "configmap",
            "cluster-vars",
            "--from-literal=kubo_minor=77",
            "--from-literal=repo_version=from-configmap",
        ]);
        server.ok(&[
            "-n",
            "flux-subst",
            "create",
            "secret",
            "generic",
            "cluster-secret-vars",
            "--from-literal=IPFS_PATH=/from/secret",
        ]);
    });
}

/// Runs flux build on the tree and returns what it printed, by object.
fn built(server: Option<&Server>, dir: &Path, strict: bool) -> BTreeMap<String, J> {
    let out = flux_build(server, dir, strict);
    assert!(
        out.status.success(),
        "flux build kustomization{} failed:\n{}{}",
        if server.is_none() { " --dry-run" } else { "" },
        text(&out.stdout),
        text(&out.stderr)
    );
    objects(&stream(&text(&out.stdout)))
        .into_iter()
        .map(|(k, v)| (k, without_owner_labels(v)))
        .collect()
}

/// The scripts of every ConfigMap, and the arguments of every container, by object.
fn scripts_and_args(objects: &BTreeMap<String, J>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, object) in objects {
        if let Some(J::Object(data)) = object.get("data") {
            for (name, value) in data {
                out.insert(
                    format!("{key} data.{name}"),
                    value.as_str().unwrap_or_default().to_string(),
                );
            }
        }
        let containers = object
            .pointer("/spec/template/spec/containers")
            .and_then(J::as_array)
            .into_iter()
            .flatten();
        for container in containers {
            out.insert(
                format!("{key} {} args", container["name"]),
                container["args"].to_string(),
            );
        }
    }
    out
}

/// The rendered tree and its Kustomization in a fresh directory; the objects kotalc wrote, and
/// their scripts and arguments.
fn setup(
    name: &str,
) -> (
    PathBuf,
    PathBuf,
    BTreeMap<String, J>,
    BTreeMap<String, String>,
) {
    let dir = scratch(name);
    let rendered = rendered(&dir);
    fs::write(
        dir.join("flux-kustomization.yaml"),
        kustomization("flux-subst"),
    )
    .expect("write");
    let expected = tree(&rendered);
    let scripts = scripts_and_args(&expected);
    assert!(
        scripts.values().any(|s| s.contains("${kubo_release%%.*}")),
        "the rendered scripts hold the text Flux rewrites: {scripts:?}"
    );
    assert!(
        scripts
            .values()
            .any(|s| s.contains("$$(HOSTNAME)-$${zone}")),
        "the argument is written for the kubelet: {scripts:?}"
    );
    (dir, rendered, expected, scripts)
}

/// Flux's build equals kotalc's objects, every script and argument byte for byte, with and
/// without strict substitution (kustomize-controller 1.9's default).
fn assert_unchanged(
    server: Option<&Server>,
    dir: &Path,
    expected: &BTreeMap<String, J>,
    scripts: &BTreeMap<String, String>,
) {
    for strict in [false, true] {
        let applied = built(server, dir, strict);
        let what = format!("dry-run {}, strict {strict}", server.is_none());
        assert_eq!(
            applied.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{what}: the same objects"
        );
        let applied_scripts = scripts_and_args(&applied);
        for (key, script) in scripts {
            assert_eq!(
                applied_scripts.get(key),
                Some(script),
                "{what}: {key} is byte-identical"
            );
        }
        for (key, object) in expected {
            assert_eq!(&applied[key], object, "{what}: {key} means the same");
        }
    }
}

/// The same tree without kotalc's opt-out, as it was before: the hazard the tests guard.
fn strip_opt_out(rendered: &Path) {
    for entry in walkdir::WalkDir::new(rendered) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let body = fs::read_to_string(entry.path()).expect("read");
            let stripped = body.replace("kustomize.toolkit.fluxcd.io/substitute: disabled", "");
            fs::write(entry.path(), stripped).expect("write");
        }
    }
}

/// `flux build kustomization --dry-run` (no cluster) with `postBuild.substitute` set.
#[test]
fn flux_post_build_substitution_leaves_every_object_as_kotalc_wrote_it() {
    let (dir, rendered, expected, scripts) = setup("flux-substitution");
    assert_unchanged(None, &dir, &expected, &scripts);

    // Without the annotation Flux empties or replaces the scripts' variables and turns `$$(`
    // back into `$(`, which the kubelet expands; strict substitution fails on the variable
    // nobody set.
    strip_opt_out(&rendered);
    let rewritten = scripts_and_args(&built(None, &dir, false));
    assert!(
        rewritten.values().any(|s| s.contains("kubo_major=9\n")),
        "without the annotation Flux rewrites the scripts: {rewritten:?}"
    );
    assert!(
        rewritten
            .values()
            .any(|s| s.contains("--agent-version-suffix=$(HOSTNAME)") && !s.contains("$$(")),
        "without the annotation Flux reopens the kubelet's expansion: {rewritten:?}"
    );
    let strict = flux_build(None, &dir, true);
    assert!(
        !strict.status.success() && text(&strict.stderr).contains("variable not set (strict mode)"),
        "strict substitution refuses the unmarked scripts: {}{}",
        text(&strict.stdout),
        text(&strict.stderr)
    );
}

/// `flux build kustomization` against the API server, where `substituteFrom` reads a
/// ConfigMap and a Secret.
#[test]
fn flux_substitution_from_the_cluster_leaves_every_object_as_kotalc_wrote_it() {
    let server = server();
    cluster(server);
    let (dir, rendered, expected, scripts) = setup("flux-substitution-cluster");
    assert_unchanged(Some(server), &dir, &expected, &scripts);

    // Without the annotation: kubo_release from the inline variables, kubo_minor from the
    // ConfigMap, so substituteFrom was read.
    strip_opt_out(&rendered);
    let rewritten = scripts_and_args(&built(Some(server), &dir, false));
    assert!(
        rewritten
            .values()
            .any(|s| s.contains("kubo_major=9\n") && s.contains("kubo_minor=77\n")),
        "without the annotation Flux rewrites the scripts: {rewritten:?}"
    );
}

/// The OCI path: `build -o DIR`, `flux push artifact` to a real registry (distribution's), and
/// `flux pull artifact` back, in a network namespace of their own with only loopback up. The
/// pulled tree is the same bytes, and still passes `--check`.
#[test]
fn a_rendered_tree_goes_through_an_oci_registry_unchanged() {
    let registry = real_program("distribution-v3.1.2", "registry");
    let dir = scratch("flux-oci");
    let rendered = rendered(&dir);
    fs::create_dir_all(dir.join("registry-data")).expect("mkdir");
    fs::write(
        dir.join("registry.yaml"),
        format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:5055\n",
            dir.join("registry-data").display()
        ),
    )
    .expect("write");
    // What a CI job runs after rendering (see docs/gitops.md), against a registry that listens
    // within the bound.
    let script = format!(
        "set -e\n\
         ip link set lo up\n\
         {registry} serve registry.yaml >registry.log 2>&1 &\n\
         pid=$!\n\
         trap 'kill $pid' EXIT\n\
         for _ in $(seq 2400); do\n\
           (exec 3<>/dev/tcp/127.0.0.1/5055) 2>/dev/null && break\n\
           kill -0 $pid\n\
           sleep 0.25\n\
         done\n\
         {flux} push artifact oci://127.0.0.1:5055/platform/ipfs-manifests:main \\\n\
           --path=rendered --source=https://git.example.com/platform/ipfs.git \\\n\
           --revision=main@sha1:0123456789abcdef0123456789abcdef01234567 --insecure-registry\n\
         mkdir pulled\n\
         {flux} pull artifact oci://127.0.0.1:5055/platform/ipfs-manifests:main \\\n\
           --output=pulled --insecure-registry\n",
        registry = registry.display(),
        flux = flux().display()
    );
    let out = Command::new("unshare")
        .args(["-n", "bash", "-c", &script])
        .current_dir(&dir)
        .env("HOME", &dir)
        .output()
        .expect("unshare runs");
    assert!(
        out.status.success(),
        "{}{}\n--- registry ---\n{}",
        text(&out.stdout),
        text(&out.stderr),
        fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
    );
    let files = |root: &Path| -> BTreeMap<String, Vec<u8>> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .map(|e| e.expect("walk"))
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let name = e.path().strip_prefix(root).expect("prefix");
                (
                    name.display().to_string(),
                    fs::read(e.path()).expect("read"),
                )
            })
            .collect()
    };
    let pushed = files(&rendered);
    assert!(pushed.contains_key(".kotalc-files"), "{:?}", pushed.keys());
    assert_eq!(
        files(&dir.join("pulled")),
        pushed,
        "the same files, the same bytes"
    );
    let check = run(&dir, &["build", "ipfs", "-o", "pulled", "--check"]);
    check.code(0);
}
