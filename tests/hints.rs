//! A hint that asks for a setting names it as the front end the user runs spells it: a flag on
//! the command line, a key of the KRM function's or the kustomize plugin's `KotalcBuild`, a
//! variable or parameter of Argo CD's plugin. Each front end is driven as its orchestrator
//! runs kotalc, and never names another's words.

use std::fs;
use std::path::Path;

use crate::common::{Kotalc, Run, run, scratch, text};

const PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n";
const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n";
/// Sealed for one namespace (strict scope), and naming none.
const SEALED: &str = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  \
                      name: swarm-key\nspec:\n  encryptedData:\n    swarm.key: AgBy3i4OJSWK+PiTySYZZA==\n";

/// A directory `in/` holding a Peer and a plain manifest, and an empty `empty/`.
fn inputs(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    fs::create_dir_all(dir.join("in")).expect("mkdir");
    fs::create_dir_all(dir.join("empty")).expect("mkdir");
    fs::write(dir.join("in/peer.yaml"), PEER).expect("write");
    fs::write(dir.join("in/config.yaml"), CONFIG_MAP).expect("write");
    dir
}

/// No flag of the command line in `said`.
#[track_caller]
fn no_flags(said: &str) {
    for flag in [
        "--passthrough",
        "--allow-empty",
        "--namespace",
        "--no-network-policies",
        "pass --",
    ] {
        assert!(!said.contains(flag), "{flag} in: {said}");
    }
}

#[test]
fn the_command_line_names_its_flags() {
    let dir = inputs("hints-cli");
    let out = run(&dir, &["build", "in"]);
    out.code(1)
        .stderr_has("pass --passthrough to copy other manifests");
    let out = run(&dir, &["build", "empty"]);
    out.code(1)
        .stderr_has("pass --allow-empty if that is intended");
    fs::write(dir.join("empty/sealed.yaml"), SEALED).expect("write");
    let out = run(&dir, &["build", "empty"]);
    out.code(1).stderr_has("or pass --namespace");
}

/// The KRM function's results once told a KRM user to "pass --passthrough" and "pass
/// --allow-empty", flags a function cannot be given.
#[test]
fn the_krm_function_names_its_config_keys() {
    let dir = inputs("hints-krm");
    let list = |items: &[&str], spec: &str| {
        let items: Vec<serde_json::Value> = items
            .iter()
            .map(|i| serde_saphyr::from_str(i).expect("item"))
            .collect();
        format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {}\n\
             functionConfig:\n  apiVersion: kotalc.io/v1alpha1\n  kind: KotalcBuild\n  \
             metadata:\n    name: x\n  spec: {spec}\n",
            serde_json::to_string(&items).expect("json")
        )
    };
    let krm = |items: &[&str], spec: &str| {
        Kotalc::new()
            .current_dir(&dir)
            .args(["krm"])
            .stdin(list(items, spec).as_bytes())
            .run()
    };

    // A plain manifest in a file the config names: refused, naming the key that copies it.
    let out = krm(&[], r#"{"paths": ["in"]}"#);
    out.code(1);
    let said = text(&out.stdout);
    out.stdout_has("set passthrough: true in the functionConfig to copy other manifests");
    no_flags(&said);
    let out = krm(&[], r#"{"paths": ["in"], "passthrough": true}"#);
    out.code(0)
        .stdout_has("name: extra")
        .stdout_has("Turn them off (set networkPolicies: false in the functionConfig)");
    no_flags(&text(&out.stdout));
    // As kpt passes a ConfigMap's data, a string.
    let out = krm(&[], r#"{"paths": ["in"], "passthrough": "yes"}"#);
    out.code(1)
        .stdout_has("config passthrough: expected true or false");

    // Nothing to render.
    let out = krm(&[CONFIG_MAP], "{}");
    out.code(1);
    let said = text(&out.stdout);
    out.stdout_has("set allowEmpty: true in the functionConfig if that is intended");
    no_flags(&said);
    krm(&[CONFIG_MAP], r#"{"allowEmpty": true}"#).code(0);

    // A SealedSecret that names no namespace.
    let out = krm(&[PEER, SEALED], "{}");
    out.code(1);
    let said = text(&out.stdout);
    out.stdout_has("or set namespace in the functionConfig");
    no_flags(&said);

    // A warning made an error, and a SealedSecret left out, by the config's settings.
    let isolated = format!("{PEER}spec:\n  swarmKeySecretName: swarm-key\n");
    let out = krm(&[&isolated], r#"{"denyWarnings": true}"#);
    out.code(1)
        .stdout_has("made an error by config denyWarnings")
        .stdout_lacks("--deny-warnings");
    let sealed = SEALED.replace("name: swarm-key\n", "name: swarm-key\n  namespace: ipfs\n");
    let out = krm(&[PEER, &sealed], r#"{"secretMode": "none"}"#);
    out.stdout_has("(config secretMode none writes no Secret objects)")
        .stdout_lacks("--secret-mode");
}

#[test]
fn the_kustomize_plugin_names_its_config_keys() {
    let dir = inputs("hints-plugin");
    let plugin = |spec: &str| {
        fs::write(
            dir.join("kotalc.yaml"),
            format!(
                "apiVersion: kotalc.io/v1alpha1\nkind: KotalcBuild\nmetadata:\n  name: x\n\
                 spec: {spec}\n"
            ),
        )
        .expect("write");
        run(&dir, &["kustomize-plugin", "kotalc.yaml"])
    };
    let out = plugin(r#"{"paths": ["in"]}"#);
    out.code(1);
    let said = text(&out.stderr);
    out.stderr_has("set passthrough: true in the plugin's KotalcBuild spec");
    no_flags(&said);
    let out = plugin(r#"{"paths": ["in"], "passthrough": true}"#);
    out.code(0).stdout_has("name: extra");

    let out = plugin(r#"{"paths": ["empty"]}"#);
    out.code(1);
    let said = text(&out.stderr);
    out.stderr_has("set allowEmpty: true in the plugin's KotalcBuild spec");
    no_flags(&said);
    plugin(r#"{"paths": ["empty"], "allowEmpty": true}"#).code(0);
}

/// `build --argocd`, as the plugin's generate command runs it: no terminal, no stdin, the
/// Application's environment alone.
#[test]
fn the_argocd_plugin_names_its_env_and_parameters() {
    let dir = inputs("hints-argocd");
    let generate = |at: &str, env: &[(&str, &str)]| -> Run {
        Kotalc::new()
            .args(["build", "--argocd", "."])
            .current_dir(Path::new(&dir).join(at))
            .env_clear()
            .env("ARGOCD_APP_NAME", "ipfs")
            .envs(env.iter().copied())
            .run()
    };
    let out = generate("in", &[]);
    out.code(1);
    let said = text(&out.stderr);
    out.stderr_has(
        "set KOTALC_PASSTHROUGH to \"true\" in the Application's plugin env \
             (ARGOCD_ENV_KOTALC_PASSTHROUGH) or the plugin's passthrough parameter",
    );
    no_flags(&said);
    generate("in", &[("PARAM_PASSTHROUGH", "true")]).code(0);

    let out = generate("empty", &[]);
    out.code(1);
    let said = text(&out.stderr);
    out.stderr_has(
        "set KOTALC_ALLOW_EMPTY to \"true\" in the Application's plugin env \
             (ARGOCD_ENV_KOTALC_ALLOW_EMPTY) or the plugin's allow-empty parameter",
    );
    no_flags(&said);

    // No destination namespace, and a SealedSecret that names none.
    fs::write(dir.join("empty/sealed.yaml"), SEALED).expect("write");
    fs::write(dir.join("empty/peer.yaml"), PEER).expect("write");
    let out = generate("empty", &[]);
    out.code(1);
    let said = text(&out.stderr);
    out.stderr_has("or set KOTALC_NAMESPACE in the Application's plugin env");
    no_flags(&said);

    // A value the plugin refuses is named as the Application sets it.
    let out = generate("in", &[("ARGOCD_ENV_KOTALC_SECRET_MODE", "vault")]);
    out.code(2)
        .stderr_has("ARGOCD_ENV_KOTALC_SECRET_MODE: \"vault\" is not sealed");
}
