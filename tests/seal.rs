//! `kotalc seal` and `kotalc keygen`: sealed values decrypt, step by step as the
//! sealed-secrets controller does it, with the test controller's private key.

use std::path::PathBuf;

use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::common::{Kotalc, root, scratch, text};

pub const TEST_CLUSTER_SECRET: &str =
    "3c5b0e2a1f9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa99";
pub const TEST_PRIVATE_KEY: &str =
    "CAESQOH/DvUJmeJ9z6m3wAStpkrlBwJQxIyNSK0YGf0EI5ZRGpwsWxl4wmgReqmHl8LQjTC2iPM0QbYAjeY3Z63AFnI=";
pub const TEST_PRIVATE_KEY_ID: &str = "12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq";

fn data(file: &str) -> PathBuf {
    root().join("tests/data").join(file)
}

/// Runs `kotalc seal` with `args`, feeding `stdin`; returns the parsed SealedSecret, stderr
/// and the exit code.
pub fn seal(args: &[&str], stdin: &[u8]) -> (serde_json::Value, String, i32) {
    let out = Kotalc::new()
        .arg("seal")
        .arg("--cert")
        .arg(data("controller.crt"))
        .args(args)
        .stdin(stdin)
        .run();
    let object = if out.stdout.is_empty() {
        serde_json::Value::Null
    } else {
        serde_saphyr::from_str(&text(&out.stdout)).expect("the output is YAML")
    };
    (object, text(&out.stderr), out.status.code().unwrap_or(-1))
}

/// The test controller's certificate, as `--cert` takes it.
pub fn controller_cert() -> String {
    data("controller.crt").to_string_lossy().into_owned()
}

/// The plaintext of a SealedSecret's data key, unsealed as the controller does.
pub fn unsealed(object: &serde_json::Value, key: &str) -> Vec<u8> {
    let name = object["metadata"]["name"].as_str().expect("name");
    let namespace = object["metadata"]["namespace"].as_str().expect("namespace");
    let encrypted = object["spec"]["encryptedData"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{name} holds {key}"));
    unseal(encrypted, &format!("{namespace}/{name}")).expect("unseals")
}

fn controller_key() -> rsa::PrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    let pem = std::fs::read_to_string(data("controller.key")).expect("test key");
    rsa::PrivateKey::from_pkcs8_pem(&pem).expect("PKCS#8 key")
}

/// The controller's unsealing: split off the RSA-wrapped session key by its two-byte length,
/// unwrap it with RSA-OAEP(SHA-256) under the scope's label, then open the rest with
/// AES-256-GCM under a zero nonce.
pub fn unseal(encrypted: &str, label: &str) -> Result<Vec<u8>, String> {
    unseal_with(&controller_key(), encrypted, label)
}

fn unseal_with(key: &rsa::PrivateKey, encrypted: &str, label: &str) -> Result<Vec<u8>, String> {
    let bytes = STANDARD.decode(encrypted).map_err(|e| e.to_string())?;
    let length = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    let (wrapped, sealed) = bytes[2..].split_at(length);
    let padding = rsa::Oaep::<sha2::Sha256>::new_with_label(label.as_bytes().to_vec());
    let session = key.decrypt(padding, wrapped).map_err(|e| e.to_string())?;
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&session).map_err(|e| e.to_string())?;
    cipher
        .decrypt(&aes_gcm::Nonce::default(), sealed)
        .map_err(|e| e.to_string())
}

#[test]
fn sealed_values_decrypt_under_each_scope_and_only_with_its_label() {
    let scopes = [
        ("strict", "ipfs/cluster-secret", None),
        (
            "namespace-wide",
            "ipfs",
            Some("sealedsecrets.bitnami.com/namespace-wide"),
        ),
        (
            "cluster-wide",
            "",
            Some("sealedsecrets.bitnami.com/cluster-wide"),
        ),
    ];
    for (scope, label, annotation) in scopes {
        let (object, stderr, code) = seal(
            &[
                "-n",
                "ipfs",
                "--name",
                "cluster-secret",
                "--scope",
                scope,
                "--key",
                "secret",
                "--from-stdin",
            ],
            format!("{TEST_CLUSTER_SECRET}\n").as_bytes(),
        );
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(object["apiVersion"], "bitnami.com/v1alpha1");
        assert_eq!(object["kind"], "SealedSecret");
        assert_eq!(object["spec"]["template"]["type"], "Opaque");
        assert_eq!(
            object["spec"]["template"]["metadata"]["name"],
            "cluster-secret"
        );
        if let Some(annotation) = annotation {
            assert_eq!(object["metadata"]["annotations"][annotation], "true");
        } else {
            assert!(object["metadata"].get("annotations").is_none());
        }
        let encrypted = object["spec"]["encryptedData"]["secret"]
            .as_str()
            .expect("encryptedData.secret");
        // The trailing newline of the input is not part of the secret.
        assert_eq!(
            unseal(encrypted, label).expect("decrypts"),
            TEST_CLUSTER_SECRET.as_bytes(),
            "{scope}"
        );
        assert!(
            unseal(encrypted, "ipfs/other").is_err(),
            "{scope}: wrong label"
        );
    }
}

#[test]
fn generated_values_decrypt_to_valid_material() {
    let (object, stderr, code) = seal(
        &[
            "-n",
            "ipfs",
            "--name",
            "swarm-key",
            "--generate",
            "swarm-key",
        ],
        b"",
    );
    assert_eq!(code, 0, "{stderr}");
    let encrypted = object["spec"]["encryptedData"]["swarm.key"]
        .as_str()
        .expect("swarm.key");
    let plaintext = unseal(encrypted, "ipfs/swarm-key").expect("decrypts");
    kotalc::ipfs::keys::check_swarm_key(&plaintext).expect("a valid swarm key");

    let (object, stderr, code) = seal(
        &["-n", "ipfs", "--name", "id", "--generate", "peer-identity"],
        b"",
    );
    assert_eq!(code, 0, "{stderr}");
    let plaintext = unseal(
        object["spec"]["encryptedData"]["key"]
            .as_str()
            .expect("key"),
        "ipfs/id",
    )
    .expect("decrypts");
    let id = kotalc::ipfs::keys::check_private_key(&plaintext).expect("a valid key");
    // Recorded with the sealed key, and printed ready to paste into a Peer or a ClusterPeer.
    assert_eq!(
        object["metadata"]["annotations"]["kotalc.io/peer-id"],
        id.to_base58()
    );
    for line in [
        format!("  kotalc.io/peer-id: {id}\n  kotalc.io/identity-secret: id\n"),
        format!("  id: {id}\n  privateKeySecretName: id\n"),
    ] {
        assert!(stderr.contains(&line), "{line:?} is printed: {stderr}");
    }
}

#[test]
fn keygen_output_passes_the_format_checks() {
    for (material, check) in [
        (
            "swarm-key",
            kotalc::ipfs::keys::check_swarm_key as fn(&[u8]) -> Result<(), String>,
        ),
        ("cluster-secret", kotalc::ipfs::keys::check_cluster_secret),
    ] {
        let out = Kotalc::new().args(["keygen", material]).run();
        out.success();
        let mut value = out.stdout.clone();
        if material == "cluster-secret" {
            assert_eq!(value.pop(), Some(b'\n'));
        }
        check(&value).unwrap_or_else(|e| panic!("{material}: {e}"));
    }
    let out = Kotalc::new()
        .args(["keygen", "peer-identity", "--format", "json"])
        .run();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let id = kotalc::ipfs::keys::check_private_key(
        json["value"].as_str().unwrap_or_default().as_bytes(),
    )
    .expect("a valid key");
    assert_eq!(json["peerId"], id.to_base58());
}

#[test]
fn bad_values_and_certificates_are_refused() {
    let args = [
        "-n",
        "ipfs",
        "--name",
        "s",
        "--key",
        "secret",
        "--from-stdin",
    ];
    let (_, stderr, code) = seal(&args, b"not hex");
    assert_eq!(code, 1);
    assert!(
        stderr.contains("invalid-secret-value") && !stderr.contains("not hex"),
        "{stderr}"
    );

    let key_args = ["-n", "ipfs", "--name", "k", "--key", "key", "--from-stdin"];
    let (_, stderr, code) = seal(
        &[
            &key_args[..],
            &[
                "--expect-id",
                "12D3KooWN16bUqeedKUQHXtHJjUT1oEyFBr6YnKQ7B4LSTAnbTye",
            ],
        ]
        .concat(),
        TEST_PRIVATE_KEY.as_bytes(),
    );
    assert_eq!(code, 1);
    assert!(stderr.contains(TEST_PRIVATE_KEY_ID), "{stderr}");
    let (_, stderr, code) = seal(
        &[&key_args[..], &["--expect-id", TEST_PRIVATE_KEY_ID]].concat(),
        TEST_PRIVATE_KEY.as_bytes(),
    );
    assert_eq!(code, 0, "{stderr}");

    let expired = Kotalc::new()
        .args([
            "seal",
            "-n",
            "ipfs",
            "--name",
            "s",
            "--generate",
            "cluster-secret",
            "--cert",
        ])
        .arg(data("expired.crt"))
        .run();
    expired.code(1).stderr_has("expired on 2021-01-01");

    // Usage: strict scope without a namespace.
    let (_, stderr, code) = seal(&["--name", "s", "--generate", "cluster-secret"], b"");
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn output_file_is_never_overwritten_without_force() {
    let dir = scratch("seal-output");
    let file = dir.join("sealed.yaml");
    std::fs::write(&file, "mine\n").expect("write");
    let file_arg = file.to_string_lossy().into_owned();
    let args = [
        "-n",
        "ipfs",
        "--name",
        "s",
        "--generate",
        "cluster-secret",
        "-o",
        &file_arg,
    ];
    let (_, stderr, code) = seal(&args, b"");
    assert_eq!(code, 1);
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "mine\n");
    let (_, stderr, code) = seal(&[&args[..], &["--force"]].concat(), b"");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read_to_string(&file)
            .expect("read")
            .contains("kind: SealedSecret")
    );
}

/// With a key pair made here rather than the committed one: nothing about the test material
/// is special.
#[test]
fn a_freshly_generated_key_pair_round_trips() {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let private = rsa::PrivateKey::new(&mut rand::rngs::SysRng, 2048).expect("key pair");
    let pem = rsa::PublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM");
    let dir = scratch("seal-fresh-key");
    let cert = dir.join("public.pem");
    std::fs::write(&cert, pem).expect("write");
    let out = Kotalc::new()
        .args([
            "seal",
            "-n",
            "ipfs",
            "--name",
            "swarm-key",
            "--generate",
            "swarm-key",
            "--cert",
        ])
        .arg(&cert)
        .run();
    out.success();
    let object: serde_json::Value = serde_saphyr::from_str(&text(&out.stdout)).expect("YAML");
    let encrypted = object["spec"]["encryptedData"]["swarm.key"]
        .as_str()
        .expect("value");
    let plaintext = unseal_with(&private, encrypted, "ipfs/swarm-key").expect("decrypts");
    kotalc::ipfs::keys::check_swarm_key(&plaintext).expect("a valid swarm key");
}

/// `kubectl get secret NAME -o yaml | kotalc seal --from-secret`: the Secret's own name and
/// namespace, its base64 data decoded and sealed, and no value ever printed.
#[test]
fn a_secret_manifest_on_stdin_is_sealed_under_its_own_identity() {
    let key = Kotalc::new()
        .args(["keygen", "swarm-key"])
        .run()
        .output
        .stdout;
    let encoded = STANDARD.encode(&key);
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: my-swarm-key\n  namespace: ipfs\n  \
         uid: 0b0e4d56-1111-2222-3333-444455556666\n  resourceVersion: \"12\"\n\
         data:\n  swarm.key: {encoded}\n  other: aGVsbG8=\ntype: Opaque\n"
    );
    let (object, stderr, code) = seal(
        &["--from-secret", "--key", "swarm.key"],
        manifest.as_bytes(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(object["metadata"]["name"], "my-swarm-key");
    assert_eq!(object["metadata"]["namespace"], "ipfs");
    let encrypted = object["spec"]["encryptedData"]["swarm.key"]
        .as_str()
        .expect("swarm.key sealed");
    assert_eq!(
        unseal(encrypted, "ipfs/my-swarm-key").expect("decrypts"),
        key
    );
    assert!(
        object["spec"]["encryptedData"].get("other").is_none(),
        "only --key is sealed"
    );

    // Without --key every value is sealed; JSON (kubectl -o json) is read the same way.
    let json = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "my-swarm-key", "namespace": "ipfs"},
        "data": {"swarm.key": encoded, "other": "aGVsbG8="}
    });
    let (object, stderr, code) = seal(&["--from-secret"], json.to_string().as_bytes());
    assert_eq!(code, 0, "{stderr}");
    let other = object["spec"]["encryptedData"]["other"]
        .as_str()
        .expect("other");
    assert_eq!(
        unseal(other, "ipfs/my-swarm-key").expect("decrypts"),
        b"hello"
    );

    // A missing key, a bad value or another kind is refused, and the message never holds a
    // value of the Secret.
    let secret_text = String::from_utf8_lossy(&key).into_owned();
    let hex_line = secret_text.lines().last().unwrap_or_default().to_string();
    for (args, input, expected) in [
        (
            vec!["--from-secret", "--key", "nope"],
            manifest.clone(),
            "has no data key \"nope\"",
        ),
        (
            vec!["--from-secret", "--key", "other"],
            manifest.replace("other: aGVsbG8=", "other: '!!not base64'"),
            "is not base64",
        ),
        (
            vec!["--from-secret", "--key", "swarm.key"],
            manifest.replace("kind: Secret", "kind: ConfigMap"),
            "reads a v1 Secret",
        ),
        (
            vec!["--from-secret", "--key", "swarm.key"],
            manifest.replace(&encoded, &STANDARD.encode(b"not a swarm key")),
            "not a valid swarm-key",
        ),
    ] {
        let (object, stderr, code) = seal(&args, input.as_bytes());
        assert_eq!(code, 1, "{stderr}");
        assert!(object.is_null());
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            !stderr.contains(&hex_line) && !stderr.contains(&encoded),
            "{stderr}"
        );
    }
}

/// A generated REST credential is `admin:<64 hex>`, sealed under the data key the daemon's
/// `CLUSTER_RESTAPI_BASICAUTHCREDENTIALS` reads; a value ipfs-cluster's envconfig would split
/// wrongly is refused without being quoted.
#[test]
fn rest_credentials_are_generated_sealed_and_checked() {
    let (object, stderr, code) = seal(
        &[
            "-n",
            "ipfs",
            "--name",
            "cluster-rest",
            "--generate",
            "rest-credentials",
        ],
        b"",
    );
    assert_eq!(code, 0, "{stderr}");
    let plaintext = unseal(
        object["spec"]["encryptedData"]["credentials"]
            .as_str()
            .expect("credentials"),
        "ipfs/cluster-rest",
    )
    .expect("decrypts");
    let text = String::from_utf8(plaintext).expect("text");
    let (user, password) = text.split_once(':').expect("USER:PASSWORD");
    assert_eq!(user, "admin");
    assert!(
        password.len() == 64 && password.bytes().all(|b| b.is_ascii_hexdigit()),
        "a 32-byte hex password"
    );

    let out = Kotalc::new().args(["keygen", "rest-credentials"]).run();
    out.success();
    let mut value = out.stdout.clone();
    assert_eq!(value.pop(), Some(b'\n'));
    kotalc::ipfs::keys::check_rest_credentials(&value).expect("valid credentials");

    let args = [
        "-n",
        "ipfs",
        "--name",
        "r",
        "--key",
        "credentials",
        "--from-stdin",
    ];
    for bad in [
        &b"only-a-user"[..],
        b"user:pass:word",
        b"user:",
        b":secret-pass",
        b"a:b,",
        b"user:pa\tss",
    ] {
        let (_, stderr, code) = seal(&args, bad);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("invalid-secret-value"), "{stderr}");
        assert!(
            !stderr.contains("pass") && !stderr.contains("secret-pass"),
            "the value is quoted: {stderr}"
        );
    }
    // A file's trailing newline is dropped, as for the cluster secret.
    let (_, stderr, code) = seal(&args, b"alice:s3cret,bob:hunter2\n");
    assert_eq!(code, 0, "{stderr}");
}
