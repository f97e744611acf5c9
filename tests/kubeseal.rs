//! sealed-secrets' own unsealing code reads what kotalc seals: `kubeseal --recovery-unseal`
//! (sealed-secrets v0.40.0, the release whose controller opens them) with the private key of
//! the test key pair decrypts every SealedSecret kotalc writes to exactly the sealed
//! plaintext, under the scope it was sealed for, and refuses a strict copy under another name
//! or namespace. Offline, in a network namespace with no interface up.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use base64::Engine;
use serde_json::Value as J;

use crate::common::{real_program, root, run, scratch, text};

fn recovery_unseal(sealed: &Path) -> Output {
    Command::new("unshare")
        .arg("-n")
        .arg(real_program("sealed-secrets-v0.40.0", "kubeseal"))
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(root().join("tests/data/controller.key"))
        .args(["-o", "json", "-f"])
        .arg(sealed)
        .env("KUBECONFIG", "/dev/null")
        .output()
        .expect("kubeseal runs")
}

fn unsealed(sealed: &Path) -> BTreeMap<String, Vec<u8>> {
    let out = recovery_unseal(sealed);
    assert!(
        out.status.success(),
        "kubeseal --recovery-unseal {}: {}",
        sealed.display(),
        text(&out.stderr)
    );
    let secret: J = serde_json::from_slice(&out.stdout).expect("a Secret");
    secret["data"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .expect("base64");
            (k.clone(), bytes)
        })
        .collect()
}

/// The data of every SealedSecret in the files under `dir`, each document unsealed alone.
fn unsealed_all(dir: &Path) -> Vec<BTreeMap<String, Vec<u8>>> {
    let mut out = Vec::new();
    let single = dir.with_extension("documents");
    fs::create_dir_all(&single).expect("mkdir");
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if !entry.file_type().is_file() {
            continue;
        }
        let body = fs::read_to_string(entry.path()).unwrap_or_default();
        let documents: Vec<J> = serde_saphyr::from_multiple(&body).unwrap_or_default();
        for (i, document) in documents.iter().enumerate() {
            if document["kind"] == "SealedSecret" {
                let file = single.join(format!("{}-{i}.json", out.len()));
                fs::write(&file, document.to_string()).expect("write");
                out.push(unsealed(&file));
            }
        }
    }
    out
}

fn swarm_key(fill: &str) -> String {
    format!("/key/swarm/psk/1.0.0/\n/base16/\n{}\n", fill.repeat(32))
}

fn seal(dir: &Path, args: &[&str]) {
    let cert = root().join("tests/data/controller.crt");
    let cert = cert.to_string_lossy();
    let mut all = vec!["seal", "--cert", &cert];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    assert!(
        out.status.success(),
        "kotalc {all:?}: {}",
        text(&out.stderr)
    );
}

/// A copy of a sealed file with its name or namespace replaced everywhere, as an attacker
/// copies it.
fn copy(dir: &Path, from: &str, to: &str, old: &str, new: &str) -> std::path::PathBuf {
    let body = fs::read_to_string(dir.join(from)).expect("read");
    assert!(body.contains(old), "{old} in {body}");
    let file = dir.join(to);
    fs::write(&file, body.replace(old, new)).expect("write");
    file
}

#[test]
fn kubeseal_unseals_what_kotalc_seals_under_each_scope() {
    let dir = scratch("kubeseal-scopes");
    fs::write(dir.join("swarm.key"), swarm_key("1f")).expect("write");
    seal(
        &dir,
        &[
            "-n",
            "ns-a",
            "--name",
            "strict",
            "--key",
            "swarm.key",
            "--from-file",
            "swarm.key",
            "-o",
            "strict.yaml",
        ],
    );
    let want = BTreeMap::from([("swarm.key".to_string(), swarm_key("1f").into_bytes())]);
    assert_eq!(unsealed(&dir.join("strict.yaml")), want);
    for (to, old, new) in [
        ("renamed.yaml", "name: strict\n", "name: stolen\n"),
        ("moved.yaml", "namespace: ns-a\n", "namespace: ns-b\n"),
    ] {
        let file = copy(&dir, "strict.yaml", to, old, new);
        let out = recovery_unseal(&file);
        assert!(!out.status.success(), "{to} must not open");
        assert!(
            text(&out.stderr).contains("no key could decrypt secret"),
            "{to}: {}",
            text(&out.stderr)
        );
    }

    fs::write(dir.join("secret"), "ab".repeat(32)).expect("write");
    seal(
        &dir,
        &[
            "-n",
            "ns-a",
            "--name",
            "wide",
            "--scope",
            "namespace-wide",
            "--key",
            "secret",
            "--from-file",
            "secret",
            "-o",
            "wide.yaml",
        ],
    );
    let want = BTreeMap::from([("secret".to_string(), "ab".repeat(32).into_bytes())]);
    let renamed = copy(
        &dir,
        "wide.yaml",
        "wide-renamed.yaml",
        "name: wide\n",
        "name: other\n",
    );
    assert_eq!(unsealed(&renamed), want);
    let moved = copy(
        &dir,
        "wide.yaml",
        "wide-moved.yaml",
        "namespace: ns-a\n",
        "namespace: ns-b\n",
    );
    assert!(
        !recovery_unseal(&moved).status.success(),
        "another namespace"
    );

    seal(
        &dir,
        &[
            "--name",
            "anywhere",
            "--scope",
            "cluster-wide",
            "--key",
            "secret",
            "--from-file",
            "secret",
            "-o",
            "cluster.yaml",
        ],
    );
    let moved = copy(
        &dir,
        "cluster.yaml",
        "cluster-moved.yaml",
        "name: anywhere\n",
        "name: elsewhere\n",
    );
    assert_eq!(unsealed(&moved), want);
}

#[test]
fn kubeseal_unseals_every_sealed_secret_of_generate_new_and_migrate() {
    let dir = scratch("kubeseal-writers");
    let cert = root().join("tests/data/controller.crt");
    let cert = cert.to_string_lossy();
    seal(
        &dir,
        &[
            "-n",
            "ns",
            "--name",
            "swarm-key",
            "--generate",
            "swarm-key",
            "-o",
            "generated.yaml",
        ],
    );
    let data = unsealed(&dir.join("generated.yaml"));
    let value = String::from_utf8(data["swarm.key"].clone()).expect("text");
    let lines: Vec<&str> = value.lines().collect();
    assert_eq!(lines[..2], ["/key/swarm/psk/1.0.0/", "/base16/"], "{value}");
    assert!(lines[2].len() == 64 && lines[2].bytes().all(|b| b.is_ascii_hexdigit()));

    let out = run(
        &dir,
        &[
            "new",
            "private-swarm",
            "swarm",
            "--peers",
            "2",
            "--cluster",
            "--cert",
            &cert,
            "-n",
            "ns",
            "-o",
            "new",
        ],
    );
    out.success();
    let opened = unsealed_all(&dir.join("new"));
    assert_eq!(
        opened.len(),
        6,
        "a swarm key, a cluster secret, four identities"
    );
    assert!(opened.iter().flatten().all(|(_, v)| !v.is_empty()));

    let swarm = fs::read_to_string(root().join("examples/swarm/legacy-swarm.yaml")).expect("read");
    let mut keys: Vec<String> = swarm
        .lines()
        .filter_map(|l| l.trim().strip_prefix("privateKey: "))
        .map(|k| k.trim_matches('"').to_string())
        .collect();
    fs::create_dir_all(dir.join("swarms")).expect("mkdir");
    fs::write(dir.join("swarms/swarm.yaml"), &swarm).expect("write");
    let out = run(
        &dir,
        &[
            "migrate", "swarms", "-n", "ns", "--cert", &cert, "-o", "migrated",
        ],
    );
    out.success();
    let mut opened: Vec<String> = unsealed_all(&dir.join("migrated"))
        .into_iter()
        .map(|data| String::from_utf8(data["key"].clone()).expect("text"))
        .collect();
    opened.sort();
    keys.sort();
    assert!(!keys.is_empty());
    assert_eq!(opened, keys);
}
