//! A hint that asks for a setting names it as the front end the user runs spells it: a flag on
//! the command line, a key of the KRM function's or the kustomize plugin's `KotalcBuild`, a
//! variable or parameter of Argo CD's plugin. Each front end is driven as its orchestrator
//! runs kotalc, and never names another's words.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{assert_exit, run, run_with_stdin, scratch, text};

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
    for flag in ["--passthrough", "--allow-empty", "--namespace", "pass --"] {
        assert!(!said.contains(flag), "{flag} in: {said}");
    }
}

#[test]
fn the_command_line_names_its_flags() {
    let dir = inputs("hints-cli");
    let out = run(&dir, &["build", "in"]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("pass --passthrough to copy other manifests"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&dir, &["build", "empty"]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("pass --allow-empty if that is intended"));
    fs::write(dir.join("empty/sealed.yaml"), SEALED).expect("write");
    let out = run(&dir, &["build", "empty"]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("or pass --namespace"),
        "{}",
        text(&out.stderr)
    );
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
    let krm =
        |items: &[&str], spec: &str| run_with_stdin(&dir, &["krm"], list(items, spec).as_bytes());

    // A plain manifest in a file the config names: refused, naming the key that copies it.
    let out = krm(&[], r#"{"paths": ["in"]}"#);
    assert_exit(&out, 1);
    let said = text(&out.stdout);
    assert!(
        said.contains("set passthrough: true in the functionConfig to copy other manifests"),
        "{said}"
    );
    no_flags(&said);
    let out = krm(&[], r#"{"paths": ["in"], "passthrough": true}"#);
    assert_exit(&out, 0);
    assert!(text(&out.stdout).contains("name: extra"));
    // As kpt passes a ConfigMap's data, a string.
    let out = krm(&[], r#"{"paths": ["in"], "passthrough": "yes"}"#);
    assert_exit(&out, 1);
    assert!(text(&out.stdout).contains("config passthrough: expected true or false"));

    // Nothing to render.
    let out = krm(&[CONFIG_MAP], "{}");
    assert_exit(&out, 1);
    let said = text(&out.stdout);
    assert!(
        said.contains("set allowEmpty: true in the functionConfig if that is intended"),
        "{said}"
    );
    no_flags(&said);
    assert_exit(&krm(&[CONFIG_MAP], r#"{"allowEmpty": true}"#), 0);

    // A SealedSecret that names no namespace.
    let out = krm(&[PEER, SEALED], "{}");
    assert_exit(&out, 1);
    let said = text(&out.stdout);
    assert!(
        said.contains("or set namespace in the functionConfig"),
        "{said}"
    );
    no_flags(&said);

    // A warning made an error, and a SealedSecret left out, by the config's settings.
    let isolated = format!("{PEER}spec:\n  swarmKeySecretName: swarm-key\n");
    let out = krm(&[&isolated], r#"{"denyWarnings": true}"#);
    assert_exit(&out, 1);
    let said = text(&out.stdout);
    assert!(
        said.contains("made an error by config denyWarnings"),
        "{said}"
    );
    assert!(!said.contains("--deny-warnings"), "{said}");
    let sealed = SEALED.replace("name: swarm-key\n", "name: swarm-key\n  namespace: ipfs\n");
    let out = krm(&[PEER, &sealed], r#"{"secretMode": "none"}"#);
    let said = text(&out.stdout);
    assert!(
        said.contains("(config secretMode none writes no Secret objects)"),
        "{said}"
    );
    assert!(!said.contains("--secret-mode"), "{said}");
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
    assert_exit(&out, 1);
    let said = text(&out.stderr);
    assert!(
        said.contains("set passthrough: true in the plugin's KotalcBuild spec"),
        "{said}"
    );
    no_flags(&said);
    let out = plugin(r#"{"paths": ["in"], "passthrough": true}"#);
    assert_exit(&out, 0);
    assert!(text(&out.stdout).contains("name: extra"));

    let out = plugin(r#"{"paths": ["empty"]}"#);
    assert_exit(&out, 1);
    let said = text(&out.stderr);
    assert!(
        said.contains("set allowEmpty: true in the plugin's KotalcBuild spec"),
        "{said}"
    );
    no_flags(&said);
    assert_exit(&plugin(r#"{"paths": ["empty"], "allowEmpty": true}"#), 0);
}

/// `build --argocd`, as the plugin's generate command runs it: no terminal, no stdin, the
/// Application's environment alone.
#[test]
fn the_argocd_plugin_names_its_env_and_parameters() {
    let dir = inputs("hints-argocd");
    let generate = |at: &str, env: &[(&str, &str)]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_kotalc"))
            .args(["build", "--argocd", "."])
            .current_dir(Path::new(&dir).join(at))
            .env_clear()
            .env("ARGOCD_APP_NAME", "ipfs")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("kotalc runs")
    };
    let out = generate("in", &[]);
    assert_exit(&out, 1);
    let said = text(&out.stderr);
    assert!(
        said.contains(
            "set KOTALC_PASSTHROUGH to \"true\" in the Application's plugin env \
             (ARGOCD_ENV_KOTALC_PASSTHROUGH) or the plugin's passthrough parameter"
        ),
        "{said}"
    );
    no_flags(&said);
    assert_exit(&generate("in", &[("PARAM_PASSTHROUGH", "true")]), 0);

    let out = generate("empty", &[]);
    assert_exit(&out, 1);
    let said = text(&out.stderr);
    assert!(
        said.contains(
            "set KOTALC_ALLOW_EMPTY to \"true\" in the Application's plugin env \
             (ARGOCD_ENV_KOTALC_ALLOW_EMPTY) or the plugin's allow-empty parameter"
        ),
        "{said}"
    );
    no_flags(&said);

    // No destination namespace, and a SealedSecret that names none.
    fs::write(dir.join("empty/sealed.yaml"), SEALED).expect("write");
    fs::write(dir.join("empty/peer.yaml"), PEER).expect("write");
    let out = generate("empty", &[]);
    assert_exit(&out, 1);
    let said = text(&out.stderr);
    assert!(
        said.contains("or set KOTALC_NAMESPACE in the Application's plugin env"),
        "{said}"
    );
    no_flags(&said);

    // A value the plugin refuses is named as the Application sets it.
    let out = generate("in", &[("ARGOCD_ENV_KOTALC_SECRET_MODE", "vault")]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("ARGOCD_ENV_KOTALC_SECRET_MODE: \"vault\" is not sealed"),
        "{}",
        text(&out.stderr)
    );
}
