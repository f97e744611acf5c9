//! Swarms and the Peer extensions: building a Swarm equals building its migration, and the
//! rendered scripts give a node its identity once and its peering at every start.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value as J;

use kotalc::compile::{Options, compile};
use kotalc::kube::manifest::Object;

use crate::common::{root, run, scratch, text};

fn build(paths: Vec<std::path::PathBuf>, namespace: Option<&str>) -> Vec<Object> {
    let mut outcome = compile(&Options {
        paths,
        namespace: namespace.map(String::from),
        render: true,
        ..Options::default()
    });
    let objects = outcome.take_objects();
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    objects
}

fn without_secrets(objects: Vec<Object>) -> Vec<(String, J)> {
    objects
        .into_iter()
        .filter(|o| o.kind != "SealedSecret")
        .map(|o| (format!("{}/{}", o.kind, o.name), o.value))
        .collect()
}

/// `kotalc build` of a Swarm and `kotalc build` of what `kotalc migrate` writes for it give
/// the same objects, apart from the Secrets (placeholders against sealed values).
#[test]
fn building_a_swarm_equals_building_its_migration() {
    for case in ["sample-swarm", "swarm-memory-equal"] {
        let input = root().join("fixtures").join(case).join("input");
        let direct = build(vec![input.clone()], Some("ipfs"));
        let out = scratch(&format!("migrate-{case}")).join("migrated");
        let cert = root().join("tests/data/controller.crt");
        let migrated = run(
            &input,
            &[
                "migrate",
                "-n",
                "ipfs",
                "--cert",
                &cert.to_string_lossy(),
                "-o",
                &out.to_string_lossy(),
                ".",
            ],
        );
        migrated.code(0);
        let again = build(vec![out.clone()], Some("ipfs"));
        let sealed: Vec<&Object> = again.iter().filter(|o| o.kind == "SealedSecret").collect();
        assert!(!sealed.is_empty());
        for s in &sealed {
            let annotations = &s.value["metadata"]["annotations"];
            assert!(
                annotations.get("kotalc.io/placeholder").is_none(),
                "sealed, not a placeholder"
            );
            // Each identity records its node's peer ID.
            let id = annotations["kotalc.io/peer-id"].as_str().expect("peer ID");
            kotalc::ipfs::peer_id::PeerId::parse(id).expect("a peer ID");
        }
        assert_eq!(without_secrets(direct), without_secrets(again), "{case}");
        // The input is untouched, and the output tree is marked as migrate's.
        assert!(
            fs::read_to_string(
                input.join(
                    fs::read_dir(&input)
                        .expect("dir")
                        .next()
                        .expect("file")
                        .expect("entry")
                        .file_name()
                )
            )
            .expect("input")
            .contains("kind: Swarm")
        );
        assert!(out.join(".kotalc-migrated").is_file());
    }
}

#[test]
fn migrate_copies_other_documents_and_explains_placeholders() {
    let dir = scratch("migrate-other");
    let swarm =
        fs::read_to_string(root().join("fixtures/sample-swarm/input/ipfs_v1alpha1_swarm.yaml"))
            .expect("sample");
    let other = "# kept as written\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n";
    fs::write(dir.join("all.yaml"), format!("{other}---\n{swarm}")).expect("write");
    let out = run(&dir, &["migrate", "all.yaml"]);
    out.code(0);
    let stdout = text(&out.stdout);
    out.stdout_has(other);
    assert_eq!(stdout.matches("kind: Peer\n").count(), 3);
    assert_eq!(stdout.matches("kotalc.io/placeholder").count(), 3);
    out.stdout_lacks("kind: Swarm")
        .stderr_has("kotalc migrate --cert");
}

const STUB_IPFS: &str = r#"#!/bin/sh
# Records every call; `init` writes a config file laid out as kubo writes it.
echo "$*" >> "$CALLS"
if [ "$1 $2" = "version --number" ]; then
  echo 0.42.0
fi
if [ "$1" = init ]; then
  cat > "$IPFS_PATH/config" <<'CONFIG'
{
  "Identity": {
    "PeerID": "12D3KooWGeneratedByInit",
    "PrivKey": "CAESQGeneratedByInit"
  },
  "Peering": {
    "Peers": null
  }
}
CONFIG
fi
"#;

/// Runs the init containers of a rendered StatefulSet, in order, with the ConfigMap's scripts
/// and the pod's paths moved under `dir`.
fn start_pod(dir: &Path, objects: &[Object], name: &str) {
    let object = |kind: &str| {
        &objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .value
    };
    let home = "/home/ipfs";
    let local = dir.join("home").to_string_lossy().into_owned();
    let config_dir = dir.join("home/kotal-config");
    fs::create_dir_all(&config_dir).expect("mkdir");
    for (script, content) in object("ConfigMap")["data"].as_object().expect("data") {
        fs::write(config_dir.join(script), content.as_str().expect("script")).expect("write");
    }
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let sts = object("StatefulSet");
    for container in sts["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .expect("init")
    {
        let mut command = Command::new("sh");
        for arg in container["args"].as_array().expect("args") {
            command.arg(arg.as_str().expect("arg").replace(home, &local));
        }
        for var in container["env"].as_array().expect("env") {
            let value = var["value"]
                .as_str()
                .unwrap_or_default()
                .replace(home, &local);
            command.env(var["name"].as_str().expect("name"), value);
        }
        let out = command
            .env("PATH", &path)
            .env("CALLS", dir.join("calls"))
            .output()
            .expect("sh");
        assert!(
            out.status.success(),
            "{}: {}",
            container["name"],
            text(&out.stderr)
        );
    }
}

#[test]
fn identity_is_written_once_and_peering_on_every_start() {
    let dir = scratch("scripts-identity");
    fs::create_dir_all(dir.join("bin")).expect("mkdir");
    let stub = dir.join("bin/ipfs");
    fs::write(&stub, STUB_IPFS).expect("stub");
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
    let key = "CAESQMbyIcsxBsn8kIk9sbL2NdVwSBf/Uj9BOA5KbXnrgmNHtQwF4rgzxd2XXpmdhIBxnlghaYVNBLzcRj2f6PCKnD0=";
    let swarm_key = "/key/swarm/psk/1.0.0/\n/base16/\n00\n";
    for (secret, file, content) in [
        (".kotal-identity", "key", format!("{key}\n")),
        (".kotal-secrets", "swarm.key", swarm_key.to_string()),
    ] {
        fs::create_dir_all(dir.join("home").join(secret)).expect("mkdir");
        fs::write(dir.join("home").join(secret).join(file), content).expect("secret");
    }
    let objects = build(
        vec![root().join("fixtures/peer-identity-peering/input")],
        None,
    );
    let sts = &objects
        .iter()
        .find(|o| o.kind == "StatefulSet" && o.name == "fixed-0")
        .expect("sts")
        .value;
    let env: BTreeMap<String, String> = sts["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .expect("init")
        .iter()
        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| {
            Some((
                v["name"].as_str()?.to_string(),
                v["value"].as_str()?.to_string(),
            ))
        })
        .collect();

    start_pod(&dir, &objects, "fixed-0");
    let data = dir.join("home/kotal-data");
    let config = fs::read_to_string(data.join("config")).expect("config");
    assert!(
        config.contains(&format!("\"PeerID\": \"{}\"", env["IPFS_PEER_ID"])),
        "{config}"
    );
    assert!(
        config.contains(&format!("\"PrivKey\": \"{key}\"")),
        "{config}"
    );
    assert!(!data.join(".kotalc-identity-pending").exists());
    assert_eq!(
        fs::read_to_string(data.join("swarm.key")).expect("copied"),
        swarm_key
    );
    let calls = fs::read_to_string(dir.join("calls")).expect("calls");
    assert_eq!(calls.matches("init --empty-repo").count(), 1);
    let peering = format!("config --json Peering.Peers {}", env["IPFS_PEERING"]);
    assert_eq!(calls.matches(&peering).count(), 1, "{calls}");

    start_pod(&dir, &objects, "fixed-0");
    assert_eq!(
        fs::read_to_string(data.join("config")).expect("config"),
        config,
        "a second start changed the repository"
    );
    let calls = fs::read_to_string(dir.join("calls")).expect("calls");
    assert_eq!(
        calls.matches("init --empty-repo").count(),
        1,
        "initialised twice"
    );
    assert_eq!(
        calls.matches(&peering).count(),
        2,
        "peering is set on every start"
    );
}

/// A creation cut short after `ipfs init` is completed on the next start, not left with the
/// identity `init` generated.
#[test]
fn an_interrupted_identity_write_is_completed() {
    let dir = scratch("scripts-identity-interrupted");
    fs::create_dir_all(dir.join("bin")).expect("mkdir");
    let stub = dir.join("bin/ipfs");
    fs::write(&stub, STUB_IPFS).expect("stub");
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.join("home/kotal-data");
    fs::create_dir_all(&data).expect("mkdir");
    fs::create_dir_all(dir.join("home/.kotal-identity")).expect("mkdir");
    fs::create_dir_all(dir.join("home/.kotal-secrets")).expect("mkdir");
    fs::write(dir.join("home/.kotal-identity/key"), "CAESQkey=").expect("key");
    fs::write(dir.join("home/.kotal-secrets/swarm.key"), "k").expect("key");
    // As the first start left it: init ran, the identity was not written yet.
    fs::write(data.join(".kotalc-identity-pending"), "").expect("marker");
    fs::write(
        data.join("config"),
        "{\n  \"Identity\": {\n    \"PeerID\": \"x\",\n    \"PrivKey\": \"y\"\n  }\n}\n",
    )
    .expect("config");
    let objects = build(
        vec![root().join("fixtures/peer-identity-peering/input")],
        None,
    );
    start_pod(&dir, &objects, "fixed-0");
    let config = fs::read_to_string(data.join("config")).expect("config");
    assert!(config.contains("\"PrivKey\": \"CAESQkey=\""), "{config}");
    assert!(!data.join(".kotalc-identity-pending").exists());
}
