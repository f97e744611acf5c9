//! kotalc inside kustomize: the legacy exec plugin under the real `kubectl kustomize`, using
//! the files of `examples/kustomize/legacy-plugin` as a user would copy them.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value as J;

use crate::common::{Kotalc, Run, copy_tree, root, run, scratch, text};

fn objects(yaml: &str) -> Vec<J> {
    let mut docs: Vec<J> = serde_saphyr::from_multiple(yaml).expect("YAML stream");
    docs.retain(|d| !d.is_null());
    docs.sort_by_key(kotalc::kube::manifest::Key::of);
    docs
}

#[test]
fn kubectl_kustomize_runs_the_legacy_plugin() {
    crate::common::require_kubectl();
    let dir = scratch("kustomize-legacy");
    copy_tree(&root().join("examples/kustomize/legacy-plugin"), &dir);
    let path = format!(
        "{}:{}",
        Kotalc::bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Run::of(
        Command::new("kubectl")
            .args(["kustomize", "--enable-alpha-plugins", "."])
            .current_dir(&dir)
            .env("PATH", path)
            .env("KUSTOMIZE_PLUGIN_HOME", dir.join("plugins")),
        "kubectl runs",
    );
    out.success();
    let built = run(&dir, &["build", "--namespace", "ipfs", "ipfs"]);
    built.success();
    let through_kustomize = objects(&text(&out.stdout));
    assert_eq!(
        through_kustomize.len(),
        5,
        "the Peer's four objects and its NetworkPolicy"
    );
    assert_eq!(through_kustomize, objects(&text(&built.stdout)));
}

/// An empty input is an error for the plugin too: printing nothing would make Argo CD prune.
#[test]
fn the_legacy_plugin_refuses_empty_input() {
    let dir = scratch("kustomize-legacy-empty");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(
        dir.join("kotalc.yaml"),
        "apiVersion: kotalc.io/v1alpha1\nkind: KotalcBuild\nmetadata:\n  name: x\nspec:\n  paths: [ipfs]\n",
    )
    .expect("write");
    let out = run(&dir, &["kustomize-plugin", "kotalc.yaml"]);
    out.code(1);
    assert!(out.stdout.is_empty());
    out.stderr_has("empty-output");
}

/// The generate command of `examples/argocd/plugin.yaml`, run as Argo CD's repo server runs
/// it: in the application's directory, with its environment, no terminal and no stdin.
#[test]
fn argocd_generate_command() {
    let plugin: J = serde_saphyr::from_str(
        &fs::read_to_string(root().join("examples/argocd/plugin.yaml")).expect("plugin.yaml"),
    )
    .expect("YAML");
    let command: Vec<String> = plugin["spec"]["generate"]["command"]
        .as_array()
        .expect("command")
        .iter()
        .map(|a| a.as_str().expect("string").to_string())
        .collect();
    assert_eq!(command[0], "kotalc");
    let generate = |dir: &Path, env: &[(&str, &str)]| {
        Kotalc::new()
            .args(&command[1..])
            .current_dir(dir)
            .env_clear()
            .env("ARGOCD_APP_NAME", "ipfs")
            .env("ARGOCD_APP_NAMESPACE", "team-a")
            .envs(env.iter().copied())
            .run()
    };
    let dir = scratch("argocd-generate");
    fs::write(
        dir.join("peer.kotal.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: gateway\nspec:\n  swarmKeySecretName: swarm-key\n",
    )
    .expect("write");
    let out = generate(
        &dir,
        &[
            ("ARGOCD_ENV_KOTALC_SECRET_MODE", "none"),
            ("ARGOCD_ENV_KOTALC_NETWORK_POLICIES", "false"),
        ],
    );
    out.success();
    let manifests = objects(&text(&out.stdout));
    assert_eq!(
        manifests.len(),
        4,
        "only manifests on stdout, no Secret objects in mode none, no NetworkPolicy when off"
    );
    for object in &manifests {
        assert_eq!(object["metadata"]["namespace"], "team-a");
    }
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning[private-swarm-isolated]") && !stderr.contains('\u{1b}'));

    // The Application's options win, and warnings can fail the sync.
    let denied = generate(&dir, &[("ARGOCD_ENV_KOTALC_DENY_WARNINGS", "true")]);
    denied.code(1);
    assert!(denied.stdout.is_empty());
    let namespaced = generate(
        &dir,
        &[
            ("ARGOCD_ENV_KOTALC_NAMESPACE", "other"),
            ("ARGOCD_ENV_KOTALC_SECRET_MODE", "none"),
        ],
    );
    namespaced.stdout_has("namespace: other");

    // Nothing to render is an error, not an empty (pruning) sync; the help names the plugin's
    // option, not a flag the plugin cannot be given.
    let empty = scratch("argocd-generate-empty");
    let out = generate(&empty, &[]);
    out.code(1);
    assert!(out.stdout.is_empty());
    out.stderr_has("empty-output")
        .stderr_has("set KOTALC_ALLOW_EMPTY to \"true\"")
        .stderr_lacks("--allow-empty");
    for allowed in ["ARGOCD_ENV_KOTALC_ALLOW_EMPTY", "PARAM_ALLOW_EMPTY"] {
        let out = generate(&empty, &[(allowed, "true")]);
        out.success();
    }

    // A plain manifest beside the resources: refused, naming the plugin's option, then copied
    // with it, from the plugin env or the plugin's parameter.
    fs::write(
        dir.join("config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n",
    )
    .expect("write");
    let base = ("ARGOCD_ENV_KOTALC_SECRET_MODE", "none");
    let out = generate(&dir, &[base]);
    out.code(1)
        .stderr_has("set KOTALC_PASSTHROUGH to \"true\"")
        .stderr_lacks("--passthrough");
    for passthrough in ["ARGOCD_ENV_KOTALC_PASSTHROUGH", "PARAM_PASSTHROUGH"] {
        let out = generate(&dir, &[base, (passthrough, "true")]);
        out.success().stdout_has("name: extra");
    }

    // Every parameter plugin.yaml declares is an option kotalc reads: given both ways with
    // different values, it is named as a conflict.
    let parameters = plugin["spec"]["parameters"]["static"]
        .as_array()
        .expect("parameters");
    assert_eq!(parameters.len(), 12, "one per option");
    for parameter in parameters {
        let name = parameter["name"]
            .as_str()
            .expect("name")
            .to_uppercase()
            .replace('-', "_");
        let env = format!("ARGOCD_ENV_KOTALC_{name}");
        let param = format!("PARAM_{name}");
        let out = generate(&dir, &[(&env, "one"), (&param, "two")]);
        out.code(2).stderr_has(format!(
            "{env} is \"one\" but the plugin parameter {param} is \"two\""
        ));
    }
}
