//! The shipped examples work as shipped: they build with `--deny-warnings`, the Argo CD
//! Application passes on them, the Flux workflow is least-privilege and fails on
//! placeholders, the kustomize examples fail on what must not ship, and the Swarm migrates.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value as J;

use crate::common::{Kotalc, Run, copy_tree, root, run, scratch, text};

fn yaml(path: &str) -> J {
    serde_saphyr::from_str(&fs::read_to_string(root().join(path)).expect(path)).expect("YAML")
}

const PLACEHOLDER_PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  \
    name: unsealed\n  namespace: ipfs\n  annotations:\n    kotalc.io/allow: private-swarm-isolated\n\
    spec:\n  swarmKeySecretName: unsealed-swarm-key\n";

/// Every Secret the examples reference is sealed with the example certificate committed
/// beside them, so they build with `--deny-warnings`, and their output is the same bytes on
/// every run.
#[test]
fn the_examples_build_with_deny_warnings() {
    let out = run(&root(), &["build", "--deny-warnings", "examples/ipfs/"]);
    out.code(0);
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains("kotalc.io/placeholder"),
        "a placeholder ships"
    );
    assert_eq!(stdout.matches("kind: SealedSecret").count(), 4);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("note[network-policies]: the output holds 5 NetworkPolicies")
            && stderr.ends_with("\nkotalc: 5 resources, 0 errors, 0 warnings, 1 note\n"),
        "{stderr}"
    );
    let again = run(&root(), &["build", "--deny-warnings", "examples/ipfs/"]);
    assert_eq!(
        again.stdout, out.stdout,
        "the examples render deterministically"
    );
    // The certificate is marked as an example's, and its private key is not in the tree.
    let cert = fs::read_to_string(root().join("examples/ipfs/example-controller.crt"))
        .expect("the example certificate");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    for entry in walkdir::WalkDir::new(root().join("examples")) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let content = fs::read_to_string(entry.path()).unwrap_or_default();
            assert!(
                !content.contains("PRIVATE KEY-----"),
                "{:?} holds a private key",
                entry.path()
            );
        }
    }
    // The other example trees build too; the Swarm warns as its kind deserves.
    for dir in [
        "examples/kustomize/krm-function/ipfs",
        "examples/kustomize/legacy-plugin/ipfs",
    ] {
        let out = run(&root(), &["build", "--deny-warnings", "-n", "ipfs", dir]);
        out.success();
    }
}

/// The Application's env, as Argo CD passes it to the plugin's generate command, on the
/// examples: it passes; a placeholder fails the sync, and the failure is on stderr.
#[test]
fn the_argocd_application_passes_on_the_examples() {
    let app = yaml("examples/argocd/application.yaml");
    let plugin = yaml("examples/argocd/plugin.yaml");
    let command: Vec<String> = plugin["spec"]["generate"]["command"]
        .as_array()
        .expect("command")
        .iter()
        .map(|a| a.as_str().expect("string").to_string())
        .collect();
    let env: Vec<(String, String)> = app["spec"]["source"]["plugin"]["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| {
            (
                format!("ARGOCD_ENV_{}", e["name"].as_str().expect("name")),
                e["value"].as_str().expect("value").to_string(),
            )
        })
        .collect();
    assert!(
        env.iter()
            .any(|(k, v)| k == "ARGOCD_ENV_KOTALC_DENY_WARNINGS" && v == "true")
    );
    let dir = scratch("examples-argocd");
    copy_tree(&root().join("examples/ipfs"), &dir);
    let generate = |dir: &Path| {
        Kotalc::new()
            .args(&command[1..])
            .current_dir(dir)
            .env_clear()
            .env("ARGOCD_APP_NAME", "ipfs")
            .env(
                "ARGOCD_APP_NAMESPACE",
                app["spec"]["destination"]["namespace"]
                    .as_str()
                    .expect("ns"),
            )
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .run()
    };
    let out = generate(&dir);
    out.code(0).stdout_has("kind: StatefulSet");
    fs::write(dir.join("unsealed.yaml"), PLACEHOLDER_PEER).expect("write");
    let out = generate(&dir);
    out.code(1);
    assert!(out.stdout.is_empty(), "nothing to apply");
    out.stderr_has("error[sealed-secret-placeholder]");
}

/// The workflow of `examples/flux/ci.yaml`: read-only on pull requests, a cached binary,
/// and its commands, run on a copy of the examples, pass, and fail with an annotation on a
/// placeholder and on a stale tree.
#[test]
fn the_flux_workflow_is_least_privilege_and_fails_on_placeholders() {
    let ci = yaml("examples/flux/ci.yaml");
    assert_eq!(ci["permissions"]["contents"], "read");
    let check = &ci["jobs"]["check"];
    assert_eq!(check["if"], "github.event_name == 'pull_request'");
    assert_eq!(check["permissions"]["contents"], "read");
    assert_eq!(ci["jobs"]["render"]["if"], "github.event_name == 'push'");
    assert_eq!(ci["jobs"]["render"]["permissions"]["contents"], "write");
    let steps = |job: &J| -> Vec<J> { job["steps"].as_array().expect("steps").clone() };
    for job in [check, &ci["jobs"]["render"]] {
        let cache = steps(job)
            .into_iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/cache@"))
            })
            .expect("the kotalc binary is cached");
        assert_eq!(cache["with"]["path"], "~/.cargo/bin/kotalc");
        let install = steps(job)
            .into_iter()
            .find(|s| s["name"] == "Install kotalc")
            .expect("install step");
        assert!(
            install["run"]
                .as_str()
                .expect("run")
                .starts_with("command -v kotalc ||"),
            "a cached binary is not rebuilt"
        );
    }
    let command = |job: &J, name: &str| -> Vec<String> {
        let run = steps(job)
            .into_iter()
            .find(|s| s["name"] == name)
            .expect(name)["run"]
            .as_str()
            .expect("run")
            .to_string();
        let line = run
            .lines()
            .find(|l| l.trim_start().starts_with("kotalc build"))
            .expect("kotalc build line")
            .to_string();
        line.split_whitespace().skip(1).map(String::from).collect()
    };
    let check_args = command(check, "Check the rendered tree");
    for flag in ["--check", "--deny-warnings", "--format"] {
        assert!(
            check_args.iter().any(|a| a == flag),
            "{flag} in {check_args:?}"
        );
    }
    let render_args = command(&ci["jobs"]["render"], "Render");

    let repo = scratch("examples-flux");
    copy_tree(&root().join("examples/ipfs"), &repo.join("ipfs"));
    let rendered = run(&repo, &args(&render_args));
    rendered.code(0);
    let checked = run(&repo, &args(&check_args));
    checked.code(0).stderr_has("\n::notice title=kotalc::");

    fs::write(repo.join("ipfs/unsealed.yaml"), PLACEHOLDER_PEER).expect("write");
    let checked = run(&repo, &args(&check_args));
    checked.code(1).stderr_has(
        "::error file=ipfs/unsealed.yaml,line=9,col=23,title=sealed-secret-placeholder::",
    );
    fs::remove_file(repo.join("ipfs/unsealed.yaml")).expect("rm");
    fs::write(
        repo.join("ipfs/peers/public-gateway.yaml"),
        fs::read_to_string(root().join("examples/ipfs/peers/public-gateway.yaml"))
            .expect("read")
            .replace("storage: 50Gi", "storage: 60Gi"),
    )
    .expect("write");
    let stale = run(&repo, &args(&check_args));
    stale.code(1).stderr_has(
        "::error file=rendered/ipfs/persistentvolumeclaim-public-gateway.yaml,title=stale-output::",
    );
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// kubectl kustomize shows a legacy plugin's stderr only when it fails: the shipped example
/// denies warnings, so a placeholder fails the build and is shown.
#[test]
fn the_legacy_plugin_example_fails_on_a_placeholder_under_kubectl() {
    crate::common::require_kubectl();
    let dir = scratch("examples-kustomize-placeholder");
    copy_tree(&root().join("examples/kustomize/legacy-plugin"), &dir);
    fs::write(dir.join("ipfs/unsealed.yaml"), PLACEHOLDER_PEER).expect("write");
    let out = Run::of(
        Command::new("kubectl")
            .args(["kustomize", "--enable-alpha-plugins", "."])
            .current_dir(&dir)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    Kotalc::bin_dir().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("KUSTOMIZE_PLUGIN_HOME", dir.join("plugins")),
        "kubectl runs",
    );
    out.fails();
    assert!(out.stdout.is_empty());
    out.stderr_has("error[sealed-secret-placeholder]")
        .stderr_has("-o ipfs/sealedsecret-unsealed-swarm-key.yaml");
}

/// The Swarm example builds (with the warnings that point at migrate) and migrates; its
/// example keys never reach the migrated output.
#[test]
fn the_swarm_example_builds_and_migrates() {
    let built = run(&root(), &["build", "examples/swarm/"]);
    built
        .code(0)
        .stderr_has("warning[swarm-deprecated]")
        .stderr_has("warning[plaintext-private-key]");
    let source = fs::read_to_string(root().join("examples/swarm/legacy-swarm.yaml"))
        .expect("the Swarm example");
    assert!(source.contains("EXAMPLE ONLY"));
    let keys: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("privateKey: "))
        .map(|k| k.trim_matches('"'))
        .collect();
    assert_eq!(keys.len(), 2);
    let out = Kotalc::new()
        .args([
            "migrate",
            "examples/swarm/",
            "--cert",
            "examples/ipfs/example-controller.crt",
        ])
        .current_dir(root())
        .run();
    out.code(0);
    let migrated = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(migrated.matches("kind: Peer\n").count(), 2);
    assert_eq!(migrated.matches("kind: SealedSecret\n").count(), 2);
    for key in keys {
        assert!(!migrated.contains(key) && !migrated.contains(&key[..24]));
    }
    // The migrated tree ships as CI would check it: no warning at all.
    let out = Kotalc::new()
        .current_dir(root())
        .args(["build", "-", "--deny-warnings"])
        .stdin(&out.stdout)
        .run();
    out.code(0);
    // The one note says that the NetworkPolicies need an enforcing network plugin.
    assert!(
        text(&out.stderr).ends_with("kotalc: 2 resources, 0 errors, 0 warnings, 1 note\n"),
        "{}",
        text(&out.stderr)
    );
}

/// Every example passes `--deny-warnings` the way it runs: a new example directory must be
/// added here with how it denies warnings.
#[test]
fn every_example_denies_warnings() {
    let read = |path: &str| fs::read_to_string(root().join(path)).expect(path);
    let mut covered = Vec::new();
    for entry in fs::read_dir(root().join("examples")).expect("examples") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("UTF-8");
        match name.as_str() {
            // Built with --deny-warnings by the_examples_build_with_deny_warnings.
            "ipfs" => {}
            // Migrated, then built with --deny-warnings by the_swarm_example_builds_and_migrates.
            "swarm" => {}
            "kustomize" | "kpt" => {
                let configs: &[&str] = if name == "kpt" {
                    &["kpt/kotalc.yaml"]
                } else {
                    &[
                        "kustomize/krm-function/kotalc.yaml",
                        "kustomize/legacy-plugin/kotalc.yaml",
                    ]
                };
                for config in configs {
                    let config = read(&format!("examples/{config}"));
                    assert!(config.contains("\n  denyWarnings: true\n"), "{config}");
                }
            }
            "argocd" => assert!(
                read("examples/argocd/application.yaml")
                    .contains("- name: KOTALC_DENY_WARNINGS\n          value: \"true\"")
            ),
            "flux" => {
                let ci = read("examples/flux/ci.yaml");
                let builds: Vec<&str> = ci.lines().filter(|l| l.contains("kotalc build")).collect();
                assert!(!builds.is_empty());
                for line in builds {
                    assert!(line.contains("--deny-warnings"), "{line}");
                }
            }
            other => panic!("examples/{other}: say here how it denies warnings"),
        }
        covered.push(name);
    }
    assert_eq!(covered.len(), 6, "{covered:?}");
}

/// The Argo CD sidecar runs the image the repository's Dockerfile builds, and no example
/// names a registry or repository that does not exist.
#[test]
fn the_examples_use_the_repositorys_image_and_binary() {
    let read = |path: &str| fs::read_to_string(root().join(path)).expect(path);
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("#   docker build -t kotalc:0.1.0 ."));
    assert!(dockerfile.contains("--target x86_64-unknown-linux-musl"));
    assert!(dockerfile.contains("\nUSER 999:999\n"));
    let rust_version = read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version")
        .trim_matches('"')
        .to_string();
    assert!(
        dockerfile.contains(&format!("FROM rust:{rust_version}-bookworm AS build")),
        "the image builds with the rust-version of Cargo.toml"
    );
    assert!(read("examples/argocd/repo-server-patch.yaml").contains("image: kotalc:0.1.0\n"));
    let ci = read("examples/flux/ci.yaml");
    assert!(ci.contains("cargo install --locked --git \"$KOTALC_REPOSITORY\""));
    for path in [
        "examples/flux/ci.yaml",
        "examples/argocd/repo-server-patch.yaml",
    ] {
        assert!(!read(path).contains("example.com"), "{path}");
    }
}
