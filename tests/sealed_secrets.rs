//! The sealed-secrets controller opens what kotalc seals: the real controller
//! (bitnami-labs/sealed-secrets cmd/controller) against the tests' kube-apiserver, with the
//! SealedSecret CRD of its release and the test key pair of tests/data as its sealing key.
//! Every SealedSecret kotalc writes (`seal`, `seal --generate`, `new private-swarm`,
//! `migrate --cert`, `import`'s seal commands) must become a Secret holding exactly the sealed
//! plaintext; `kubeseal --recovery-unseal` reads each one too.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value as J;

use crate::apiserver::{Server, alive, server};
use crate::common::{Kotalc, real_program, root, run, scratch, text, tools_cache};

const RELEASE: &str = "sealed-secrets-v0.40.0";
/// A hang guard, far above the second or two the controller takes.
const BOUND: Duration = Duration::from_secs(600);

struct Controller {
    pid: u32,
    log: PathBuf,
}

static CONTROLLER: OnceLock<Result<Controller, String>> = OnceLock::new();

/// The controller, started once per run: its CRD, the test key pair as its active sealing key
/// in kube-system, and the in-cluster configuration it reads (a token and the CA, on a tmpfs
/// over /run in a mount namespace of its own, so nothing of the machine is touched).
fn controller() -> (&'static Server, &'static Controller) {
    let server = server();
    let started = CONTROLLER.get_or_init(|| start(server));
    match started {
        Ok(controller) => (server, controller),
        Err(problem) => panic!("{problem}{}", server.logs()),
    }
}

fn start(server: &Server) -> Result<Controller, String> {
    let program = real_program(RELEASE, "controller");
    let crd = tools_cache()
        .join(RELEASE)
        .join("bitnami.com_sealedsecrets.yaml");
    assert!(
        crd.is_file(),
        "{} is missing: build it with `tests/tools/build.sh` (or run the tests with `tests/run`)",
        crd.display()
    );
    server.ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        &crd.to_string_lossy(),
    ]);
    server.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/sealedsecrets.bitnami.com",
        "--timeout=600s",
    ]);
    let data = root().join("tests/data");
    server.ok(&[
        "-n",
        "kube-system",
        "create",
        "secret",
        "tls",
        "sealed-secrets-key-kotalc-test",
        &format!("--cert={}", data.join("controller.crt").display()),
        &format!("--key={}", data.join("controller.key").display()),
    ]);
    server.ok(&[
        "-n",
        "kube-system",
        "label",
        "secret",
        "sealed-secrets-key-kotalc-test",
        "sealedsecrets.bitnami.com/sealed-secrets-key=active",
    ]);
    let dir = scratch("sealed-secrets-controller");
    let account = dir.join("serviceaccount");
    fs::create_dir_all(&account).map_err(|e| e.to_string())?;
    let kubeconfig = fs::read_to_string(server.kubeconfig()).map_err(|e| e.to_string())?;
    let token = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .ok_or("no token in the kubeconfig")?;
    let ca = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority: "))
        .ok_or("no CA in the kubeconfig")?;
    fs::write(account.join("token"), token).map_err(|e| e.to_string())?;
    fs::copy(ca, account.join("ca.crt")).map_err(|e| e.to_string())?;
    fs::write(account.join("namespace"), "kube-system").map_err(|e| e.to_string())?;
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && \
         cp {account}/token {account}/ca.crt {account}/namespace \
         /run/secrets/kubernetes.io/serviceaccount/ && \
         KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 \
         POD_NAMESPACE=kube-system exec {program} --key-renew-period=0 --key-size=2048 \
         --listen-addr=127.0.0.1:8080 --listen-metrics-addr=127.0.0.1:8081",
        account = account.display(),
        program = program.display()
    );
    let log = dir.join("controller.log");
    let pid = server.spawn(
        Path::new("unshare"),
        &[
            "-m".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            script,
        ],
        &log,
    )?;
    Ok(Controller { pid, log })
}

impl Controller {
    fn log(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "\n--- {} (last lines) ---\n{}",
            self.log.display(),
            lines[lines.len().saturating_sub(60)..].join("\n")
        )
    }
}

/// The data of a Secret, decoded, once the controller has made it.
fn opened(
    server: &Server,
    controller: &Controller,
    ns: &str,
    name: &str,
) -> BTreeMap<String, Vec<u8>> {
    let start = Instant::now();
    loop {
        let out = server.kubectl(&["-n", ns, "get", "secret", name, "-o", "json"]);
        if out.status.success() {
            let secret: J = serde_json::from_slice(&out.stdout).expect("JSON");
            return decoded(&secret["data"]);
        }
        assert!(
            alive(controller.pid),
            "the controller exited{}",
            controller.log()
        );
        assert!(
            start.elapsed() < BOUND,
            "the controller never made the Secret {ns}/{name}: {}{}{}",
            text(&out.stderr),
            status(server, ns, name),
            controller.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn decoded(data: &J) -> BTreeMap<String, Vec<u8>> {
    data.as_object()
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

fn status(server: &Server, ns: &str, name: &str) -> String {
    let out = server.kubectl(&["-n", ns, "get", "sealedsecret", name, "-o", "json"]);
    let object: J = serde_json::from_slice(&out.stdout).unwrap_or(J::Null);
    format!("\nthe SealedSecret's status: {}", object["status"])
}

/// Waits for the controller to report that it could not open a SealedSecret; no Secret may
/// exist then.
fn refused(server: &Server, controller: &Controller, ns: &str, name: &str) -> String {
    let start = Instant::now();
    loop {
        let out = server.kubectl(&["-n", ns, "get", "sealedsecret", name, "-o", "json"]);
        let object: J = serde_json::from_slice(&out.stdout).unwrap_or(J::Null);
        let synced = object["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Synced")
            .cloned();
        if let Some(condition) = synced {
            assert_eq!(
                condition["status"],
                "False",
                "{ns}/{name} opened: {condition}{}",
                controller.log()
            );
            let secret = server.kubectl(&["-n", ns, "get", "secret", name]);
            assert!(!secret.status.success(), "no Secret {ns}/{name}");
            return condition["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        assert!(
            start.elapsed() < BOUND,
            "the controller never reported on {ns}/{name}{}",
            controller.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn apply(server: &Server, ns: &str, file: &Path) {
    server.ok(&["-n", ns, "apply", "-f", &file.to_string_lossy()]);
}

/// `kubeseal --recovery-unseal` with the controller's private key: a second reader.
fn recovery_unseal(server: &Server, sealed: &Path, key: &Path) -> BTreeMap<String, Vec<u8>> {
    let kubeseal = real_program(RELEASE, "kubeseal");
    let out = server
        .command(&kubeseal)
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(key)
        .args(["-o", "json", "-f"])
        .arg(sealed)
        .output()
        .expect("kubeseal runs");
    assert!(
        out.status.success(),
        "kubeseal --recovery-unseal {}: {}",
        sealed.display(),
        text(&out.stderr)
    );
    let secret: J = serde_json::from_slice(&out.stdout).expect("a Secret");
    decoded(&secret["data"])
}

/// Every SealedSecret document under `dir`, each written alone (as JSON) beside the tree, with
/// the namespace and name it seals for.
fn sealed_files(dir: &Path) -> Vec<(PathBuf, String, String)> {
    let single = dir.with_extension("documents");
    fs::create_dir_all(&single).expect("mkdir");
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if !entry.file_type().is_file() {
            continue;
        }
        let body = fs::read_to_string(entry.path()).unwrap_or_default();
        let documents: Vec<J> = serde_saphyr::from_multiple(&body).unwrap_or_default();
        for document in documents.iter().filter(|d| d["kind"] == "SealedSecret") {
            let file = single.join(format!("{}.json", out.len()));
            fs::write(&file, document.to_string()).expect("write");
            out.push((
                file,
                document["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                document["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
    }
    out
}

fn seal(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let cert = root().join("tests/data/controller.crt");
    let cert = cert.to_string_lossy();
    let mut all = vec!["seal", "--cert", &cert];
    all.extend_from_slice(args);
    let out = match stdin {
        Some(input) => Kotalc::new().current_dir(dir).args(&all).stdin(input).run(),
        None => run(dir, &all),
    };
    assert!(
        out.status.success(),
        "kotalc {all:?}: {}",
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn swarm_key(fill: &str) -> String {
    format!("/key/swarm/psk/1.0.0/\n/base16/\n{}\n", fill.repeat(32))
}

#[test]
fn the_controller_opens_what_kotalc_seal_writes_in_every_scope() {
    let (server, controller) = controller();
    let key = root().join("tests/data/controller.key");
    let ns = server.namespace("ss-seal");
    let other = server.namespace("ss-seal-other");
    let dir = scratch("ss-seal");

    // Strict, from a file: the Secret holds exactly the file's bytes.
    fs::write(dir.join("swarm.key"), swarm_key("1f")).expect("write");
    seal(
        &dir,
        &[
            "-n",
            &ns,
            "--name",
            "strict",
            "--key",
            "swarm.key",
            "--from-file",
            "swarm.key",
            "-o",
            "strict.yaml",
        ],
        None,
    );
    apply(server, &ns, &dir.join("strict.yaml"));
    let want = BTreeMap::from([("swarm.key".to_string(), swarm_key("1f").into_bytes())]);
    assert_eq!(opened(server, controller, &ns, "strict"), want);
    assert_eq!(
        recovery_unseal(server, &dir.join("strict.yaml"), &key),
        want
    );

    // Namespace-wide, from stdin: opens under another name in its namespace.
    let secret = "ab".repeat(32);
    seal(
        &dir,
        &[
            "-n",
            &ns,
            "--name",
            "wide",
            "--scope",
            "namespace-wide",
            "--key",
            "secret",
            "--from-stdin",
            "-o",
            "wide.yaml",
        ],
        Some(secret.as_bytes()),
    );
    let want = BTreeMap::from([("secret".to_string(), secret.clone().into_bytes())]);
    apply(server, &ns, &dir.join("wide.yaml"));
    assert_eq!(opened(server, controller, &ns, "wide"), want);
    let renamed = dir.join("wide-renamed.yaml");
    fs::write(
        &renamed,
        fs::read_to_string(dir.join("wide.yaml"))
            .expect("read")
            .replace("name: wide\n", "name: wide-copy\n"),
    )
    .expect("write");
    apply(server, &ns, &renamed);
    assert_eq!(opened(server, controller, &ns, "wide-copy"), want);
    assert_eq!(recovery_unseal(server, &dir.join("wide.yaml"), &key), want);

    // Cluster-wide, several keys from a Secret manifest: opens anywhere.
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-secret\n  namespace: {ns}\n\
         data:\n  secret: {}\n  swarm.key: {}\n",
        b64(&secret),
        b64(&swarm_key("2e"))
    );
    seal(
        &dir,
        &[
            "--from-secret",
            "--scope",
            "cluster-wide",
            "--name",
            "anywhere",
            "-o",
            "cluster.yaml",
        ],
        Some(manifest.as_bytes()),
    );
    let want = BTreeMap::from([
        ("secret".to_string(), secret.clone().into_bytes()),
        ("swarm.key".to_string(), swarm_key("2e").into_bytes()),
    ]);
    apply(server, &ns, &dir.join("cluster.yaml"));
    assert_eq!(opened(server, controller, &ns, "anywhere"), want);
    let moved = dir.join("cluster-moved.yaml");
    let body = fs::read_to_string(dir.join("cluster.yaml")).expect("read");
    let body = if body.contains(&format!("namespace: {ns}\n")) {
        body.replace(
            &format!("namespace: {ns}\n"),
            &format!("namespace: {other}\n"),
        )
    } else {
        body
    };
    fs::write(
        &moved,
        body.replace("name: anywhere\n", "name: elsewhere\n"),
    )
    .expect("write");
    apply(server, &other, &moved);
    assert_eq!(opened(server, controller, &other, "elsewhere"), want);
    assert_eq!(
        recovery_unseal(server, &dir.join("cluster.yaml"), &key),
        want
    );

    // A strict SealedSecret copied under another name, or into another namespace, is refused,
    // as kotalc's docs say.
    let strict = fs::read_to_string(dir.join("strict.yaml")).expect("read");
    fs::write(
        dir.join("copy-name.yaml"),
        strict.replace("name: strict\n", "name: stolen\n"),
    )
    .expect("write");
    apply(server, &ns, &dir.join("copy-name.yaml"));
    let message = refused(server, controller, &ns, "stolen");
    assert!(message.contains("no key could decrypt secret"), "{message}");
    fs::write(
        dir.join("copy-namespace.yaml"),
        strict.replace(
            &format!("namespace: {ns}\n"),
            &format!("namespace: {other}\n"),
        ),
    )
    .expect("write");
    apply(server, &other, &dir.join("copy-namespace.yaml"));
    let message = refused(server, controller, &other, "strict");
    assert!(message.contains("no key could decrypt secret"), "{message}");
    // A namespace-wide one copied into another namespace too.
    fs::write(
        dir.join("wide-moved.yaml"),
        fs::read_to_string(dir.join("wide.yaml"))
            .expect("read")
            .replace(
                &format!("namespace: {ns}\n"),
                &format!("namespace: {other}\n"),
            ),
    )
    .expect("write");
    apply(server, &other, &dir.join("wide-moved.yaml"));
    let message = refused(server, controller, &other, "wide");
    assert!(message.contains("no key could decrypt secret"), "{message}");
}

#[test]
fn the_controller_opens_generated_material_as_kubeseal_reads_it() {
    let (server, controller) = controller();
    let key = root().join("tests/data/controller.key");
    let ns = server.namespace("ss-generate");
    let dir = scratch("ss-generate");
    for material in ["swarm-key", "cluster-secret", "peer-identity"] {
        let file = format!("{material}.yaml");
        let stderr = seal(
            &dir,
            &[
                "-n",
                &ns,
                "--name",
                material,
                "--generate",
                material,
                "-o",
                &file,
            ],
            None,
        );
        apply(server, &ns, &dir.join(&file));
        let got = opened(server, controller, &ns, material);
        assert_eq!(
            got,
            recovery_unseal(server, &dir.join(&file), &key),
            "{material}"
        );
        let (data_key, value) = got.iter().next().expect("one key");
        let value = String::from_utf8(value.clone()).expect("text");
        match material {
            "swarm-key" => {
                assert_eq!(data_key, "swarm.key");
                let lines: Vec<&str> = value.lines().collect();
                assert_eq!(lines[..2], ["/key/swarm/psk/1.0.0/", "/base16/"], "{value}");
                assert!(lines[2].len() == 64 && lines[2].bytes().all(|b| b.is_ascii_hexdigit()));
            }
            "cluster-secret" => {
                assert_eq!(data_key, "secret");
                assert!(
                    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{value}"
                );
            }
            _ => {
                // The opened key is the identity whose peer ID kotalc printed.
                assert_eq!(data_key, "key");
                let id = stderr
                    .split_whitespace()
                    .find(|w| w.starts_with("12D3KooW"))
                    .expect("the peer ID printed");
                fs::write(dir.join("opened.key"), &value).expect("write");
                let check = seal(
                    &dir,
                    &[
                        "-n",
                        &ns,
                        "--name",
                        "check",
                        "--key",
                        "key",
                        "--from-file",
                        "opened.key",
                        "--expect-id",
                        id,
                        "-o",
                        "check.yaml",
                    ],
                    None,
                );
                assert!(check.contains(id), "{check}");
            }
        }
    }
}

#[test]
fn the_controller_opens_the_secrets_of_new_migrate_and_import() {
    let (server, controller) = controller();
    let key = root().join("tests/data/controller.key");
    let cert = root().join("tests/data/controller.crt");
    let cert = cert.to_string_lossy();
    let dir = scratch("ss-writers");

    // new private-swarm: a swarm key, a cluster secret and an identity per peer.
    let ns = server.namespace("ss-new");
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
            &ns,
            "-o",
            "new",
        ],
    );
    out.success();
    let files = sealed_files(&dir.join("new"));
    assert_eq!(files.len(), 6, "{files:?}");
    for (file, namespace, name) in &files {
        apply(server, namespace, file);
        assert_eq!(
            opened(server, controller, namespace, name),
            recovery_unseal(server, file, &key),
            "{name}"
        );
    }

    // migrate --cert: each Swarm node's private key, exactly as the Swarm held it.
    let ns = server.namespace("ss-migrate");
    let swarm = fs::read_to_string(root().join("examples/swarm/legacy-swarm.yaml"))
        .expect("read")
        .replace("namespace: ipfs", &format!("namespace: {ns}"));
    let keys: Vec<String> = swarm
        .lines()
        .filter_map(|l| l.trim().strip_prefix("privateKey: "))
        .map(|k| k.trim_matches('"').to_string())
        .collect();
    assert!(!keys.is_empty());
    fs::create_dir_all(dir.join("swarms")).expect("mkdir");
    fs::write(dir.join("swarms/swarm.yaml"), &swarm).expect("write");
    let out = run(
        &dir,
        &[
            "migrate", "swarms", "-n", &ns, "--cert", &cert, "-o", "migrated",
        ],
    );
    out.success();
    let files = sealed_files(&dir.join("migrated"));
    assert_eq!(files.len(), keys.len(), "{files:?}");
    let mut opened_keys = Vec::new();
    for (file, namespace, name) in &files {
        apply(server, namespace, file);
        let data = opened(server, controller, namespace, name);
        assert_eq!(data, recovery_unseal(server, file, &key), "{name}");
        opened_keys.push(String::from_utf8(data["key"].clone()).expect("text"));
    }
    opened_keys.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(opened_keys, want);

    // import: the seal commands it prints, run as printed against the cluster's Secrets.
    let ns = server.namespace("ss-import");
    let export = fs::read_to_string(root().join("tests/data/operator/peers-clusterpeers.yaml"))
        .expect("read")
        .replace("namespace: ipfs", &format!("namespace: {ns}"))
        .replace("\"namespace\":\"ipfs\"", &format!("\"namespace\":\"{ns}\""));
    fs::write(dir.join("export.yaml"), export).expect("write");
    let values = [
        ("my-swarm-key", "swarm.key", swarm_key("ab")),
        ("cluster-secret", "secret", "cd".repeat(32)),
        (
            "my-cluster-privatekey",
            "key",
            "CAESQOH/DvUJmeJ9z6m3wAStpkrlBwJQxIyNSK0YGf0EI5ZRGpwsWxl4wmgReqmHl8LQjTC2iPM0QbYAjeY3Z63AFnI="
                .to_string(),
        ),
    ];
    for (name, data_key, value) in &values {
        server.ok(&[
            "create",
            "secret",
            "generic",
            name,
            "-n",
            &ns,
            &format!("--from-literal={data_key}={value}"),
        ]);
    }
    let out = run(&dir, &["import", "export.yaml", "-o", "imported"]);
    out.success();
    fs::copy(
        root().join("tests/data/controller.crt"),
        dir.join("controller.pem"),
    )
    .expect("cert");
    let commands: Vec<String> = text(&out.stderr)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("kubectl get secret"))
        .map(|l| l.replace("'<controller.pem>'", "controller.pem"))
        .collect();
    assert_eq!(commands.len(), values.len(), "{}", text(&out.stderr));
    for command in &commands {
        let out = server.shell(command, &dir);
        out.success();
    }
    let files = sealed_files(&dir.join("imported"));
    assert_eq!(files.len(), values.len(), "{files:?}");
    for (file, namespace, name) in &files {
        // The cluster's own Secret goes first: the controller never replaces a Secret it
        // does not own.
        let body = fs::read_to_string(file).expect("read");
        server.ok(&["-n", namespace, "delete", "secret", name]);
        apply(server, namespace, file);
        let (_, data_key, value) = values.iter().find(|(n, _, _)| n == name).expect("known");
        let want = BTreeMap::from([(data_key.to_string(), value.clone().into_bytes())]);
        assert_eq!(
            opened(server, controller, namespace, name),
            want,
            "{name}\n{body}"
        );
        assert_eq!(recovery_unseal(server, file, &key), want, "{name}");
    }
}

#[test]
fn after_a_key_renewal_new_and_old_sealed_secrets_open() {
    let (server, controller) = controller();
    let ns = server.namespace("ss-renewal");
    let dir = scratch("ss-renewal");
    let active = |server: &Server| -> Vec<String> {
        let out = server.ok(&[
            "-n",
            "kube-system",
            "get",
            "secret",
            "-l",
            "sealedsecrets.bitnami.com/sealed-secrets-key=active",
            "-o",
            "jsonpath={range .items[*]}{.data.tls\\.crt}{\"\\n\"}{end}",
        ]);
        out.lines().map(String::from).collect()
    };
    // Sealed with the first certificate, before the renewal.
    fs::write(dir.join("old.key"), swarm_key("0a")).expect("write");
    seal(
        &dir,
        &[
            "-n",
            &ns,
            "--name",
            "old",
            "--key",
            "swarm.key",
            "--from-file",
            "old.key",
            "-o",
            "old.yaml",
        ],
        None,
    );
    let before = active(server);
    // The controller renews its key on SIGUSR1, as on its renewal period.
    // SAFETY: kill sends a signal to the controller, a process this test binary started.
    let sent = unsafe {
        libc::kill(
            libc::pid_t::try_from(controller.pid).expect("pid"),
            libc::SIGUSR1,
        )
    };
    assert_eq!(sent, 0, "{}", std::io::Error::last_os_error());
    let start = Instant::now();
    let after = loop {
        let now = active(server);
        if now.len() > before.len() {
            break now;
        }
        assert!(start.elapsed() < BOUND, "no new key{}", controller.log());
        std::thread::sleep(Duration::from_millis(250));
    };
    let new = after
        .iter()
        .find(|c| !before.contains(c))
        .expect("the new certificate");
    let pem = base64::engine::general_purpose::STANDARD
        .decode(new)
        .expect("base64");
    fs::write(dir.join("new.pem"), &pem).expect("write");
    assert_ne!(
        pem,
        fs::read(root().join("tests/data/controller.crt")).expect("read")
    );
    fs::write(dir.join("new.key"), swarm_key("0b")).expect("write");
    let out = run(
        &dir,
        &[
            "seal",
            "--cert",
            "new.pem",
            "-n",
            &ns,
            "--name",
            "new",
            "--key",
            "swarm.key",
            "--from-file",
            "new.key",
            "-o",
            "new.yaml",
        ],
    );
    out.success();
    apply(server, &ns, &dir.join("new.yaml"));
    apply(server, &ns, &dir.join("old.yaml"));
    assert_eq!(
        opened(server, controller, &ns, "new")["swarm.key"],
        swarm_key("0b").into_bytes()
    );
    assert_eq!(
        opened(server, controller, &ns, "old")["swarm.key"],
        swarm_key("0a").into_bytes()
    );
}
