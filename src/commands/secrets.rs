//! `kotalc keygen` and `kotalc seal`: the commands that handle plaintext secrets. Plaintext
//! goes only to the encryption or, for `keygen`, to stdout as asked; never into a message.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use super::report::{EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use crate::commands::cli::{KeygenArgs, SealArgs};
use crate::diagnostic::source::Sources;
use crate::diagnostic::{self, Code, Diagnostic, Format};
use crate::ipfs::keys::{self, Material};
use crate::ipfs::peer_id::PeerId;
use crate::kube::names::{dns_label, dns_subdomain};
use crate::model::annotations::{IDENTITY_SECRET, PEER_ID};
use crate::secrets::seal::{self, Scope};

fn fail(d: &Diagnostic, format: Format) {
    let _ = io::stderr().write_all(diagnostic::render(d, &Sources::default(), format).as_bytes());
}

pub fn keygen(args: &KeygenArgs) -> u8 {
    let generated = match keys::generate(args.material) {
        Ok(g) => g,
        Err(e) => {
            fail(&Diagnostic::new(Code::Io, e), args.format);
            return EXIT_PROBLEMS;
        }
    };
    let value = String::from_utf8_lossy(&generated.value).into_owned();
    let mut stdout = io::stdout().lock();
    let written = match args.format {
        Format::Human | Format::Github | Format::Sarif | Format::Markdown => {
            if let Some(id) = &generated.peer_id {
                eprintln!("peer ID: {id}");
            }
            let newline = if value.ends_with('\n') { "" } else { "\n" };
            write!(stdout, "{value}{newline}")
        }
        Format::Json => {
            let mut object = serde_json::json!({ "kind": args.material.name(), "value": value });
            if let Some(id) = &generated.peer_id {
                object["peerId"] = serde_json::json!(id.to_base58());
            }
            writeln!(stdout, "{object}")
        }
    };
    match written.and_then(|()| stdout.flush()) {
        Ok(()) => EXIT_OK,
        Err(_) => EXIT_PROBLEMS,
    }
}

/// The values to seal, by data key.
struct Values {
    values: BTreeMap<String, Vec<u8>>,
    peer_ids: Vec<PeerId>,
}

pub fn seal(args: &SealArgs) -> u8 {
    let usage = |message: String| {
        eprintln!("error: {message}");
        EXIT_USAGE
    };
    let secret = if args.from_secret {
        match read_secret() {
            Ok(secret) => Some(secret),
            Err(d) => {
                fail(&d, args.format);
                return EXIT_PROBLEMS;
            }
        }
    } else {
        None
    };
    let Some(name) = args
        .name
        .clone()
        .or_else(|| secret.as_ref().map(|s| s.name.clone()))
    else {
        return usage("--name is required".into());
    };
    let namespace = args
        .namespace
        .clone()
        .or_else(|| secret.as_ref().and_then(|s| s.namespace.clone()));
    let namespace = namespace.as_deref();
    if namespace.is_none() && args.scope != Scope::ClusterWide {
        return usage(format!(
            "--namespace is required for the {} scope",
            args.scope.name()
        ));
    }
    if let Some(problem) = dns_subdomain(&name) {
        return usage(format!("--name {name:?}: {problem}"));
    }
    if let Some(problem) = namespace.and_then(|ns| dns_label(ns, 63)) {
        return usage(format!(
            "--namespace {:?}: {problem}",
            namespace.unwrap_or_default()
        ));
    }
    let sources: usize = usize::from(args.from_stdin)
        + usize::from(args.from_secret)
        + usize::from(args.generate.is_some())
        + usize::from(!args.from_files.is_empty());
    if sources != 1 {
        return usage(
            "give the value with --from-file, --from-stdin, --from-secret or --generate".into(),
        );
    }
    if !args.from_files.is_empty() && args.keys.len() != args.from_files.len() {
        return usage(format!(
            "each --from-file needs its --key: {} key(s) for {} file(s)",
            args.keys.len(),
            args.from_files.len()
        ));
    }
    if args.from_files.is_empty() && !args.from_secret && args.keys.len() > 1 {
        return usage("--from-stdin and --generate give one value: pass one --key".into());
    }
    if args.from_stdin && args.keys.is_empty() {
        return usage("--from-stdin needs --key".into());
    }

    let result = certificate(&args.cert)
        .and_then(|key| values(args, secret).map(|v| (key, v)))
        .and_then(|(key, values)| {
            // The peer ID stays with the sealed key, where a reader of the repository finds it.
            let id = values.peer_ids.first().map(|id| id.to_base58());
            let annotations = seal::peer_id_annotation(id.as_deref());
            let yaml = seal::sealed_yaml(
                &key,
                args.scope,
                namespace,
                &name,
                &values.values,
                &annotations,
            )
            .map_err(|e| Diagnostic::new(Code::InvalidCertificate, e))?;
            Ok((format!("---\n{yaml}"), values.peer_ids))
        });
    let (yaml, peer_ids) = match result {
        Ok(r) => r,
        Err(d) => {
            fail(&d, args.format);
            return EXIT_PROBLEMS;
        }
    };
    let written = match &args.output {
        None => {
            let mut stdout = io::stdout().lock();
            stdout
                .write_all(yaml.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| {
                    Diagnostic::new(
                        Code::OutputFile,
                        format!(
                            "cannot write to stdout: {}",
                            crate::diagnostic::path::io_reason(&e)
                        ),
                    )
                })
        }
        Some(path) => crate::output::file::write_staged(path, yaml.as_bytes(), args.force),
    };
    if let Err(d) = written {
        fail(&d, args.format);
        return EXIT_PROBLEMS;
    }
    for id in peer_ids {
        match args.format {
            // A Secret name does not say whether a Peer or a ClusterPeer reads it.
            Format::Human | Format::Github | Format::Sarif | Format::Markdown => eprintln!(
                "peer ID: {id} (kept in the SealedSecret's {PEER_ID} annotation)\n\
                 a Peer's metadata.annotations:\n  \
                 {PEER_ID}: {id}\n  {IDENTITY_SECRET}: {name}\n\
                 or a ClusterPeer's spec:\n  id: {id}\n  privateKeySecretName: {name}",
            ),
            Format::Json => eprintln!(
                "{}",
                serde_json::json!({ "peerId": id.to_base58(), "secret": name })
            ),
        }
    }
    EXIT_OK
}

/// The sealing key from the controller's certificate at `path`.
pub(super) fn certificate(path: &Path) -> Result<rsa::PublicKey, Diagnostic> {
    let shown = crate::diagnostic::path::display(path);
    let pem = read_certificate(path).map_err(|e| {
        Diagnostic::new(
            Code::InvalidCertificate,
            format!("cannot read {shown}: {e}"),
        )
        .path(&shown)
    })?;
    seal::public_key(&pem, SystemTime::now()).map_err(|e| {
        Diagnostic::new(Code::InvalidCertificate, format!("{shown}: {e}")).path(&shown)
    })
}

/// A Secret manifest read by `--from-secret`: its identity and decoded values.
struct SecretManifest {
    name: String,
    namespace: Option<String>,
    values: BTreeMap<String, Vec<u8>>,
}

/// Standard input, up to `limit` bytes.
fn read_stdin(limit: u64) -> Result<Vec<u8>, Diagnostic> {
    crate::input::load::read_stream(io::stdin().lock(), limit).map_err(|e| {
        Diagnostic::new(
            Code::Io,
            format!(
                "cannot read stdin: {}",
                crate::diagnostic::path::io_reason(&e)
            ),
        )
    })
}

/// Reads one Secret manifest from stdin, bounded like every input. Messages name keys and
/// fields, never a value.
fn read_secret() -> Result<SecretManifest, Diagnostic> {
    use base64::Engine as _;
    let problem = |message: String| Diagnostic::new(Code::InvalidSecretValue, message);
    let bytes = read_stdin(crate::input::load::MAX_FILE_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| problem("the Secret on stdin is not UTF-8 text".into()))?;
    // A parse error could quote the input: report the position only.
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple_with_options(&text, crate::input::yaml::options())
            .map_err(|_| problem("the Secret on stdin is not valid YAML or JSON".into()))?;
    let docs: Vec<serde_json::Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    let [secret] = docs.as_slice() else {
        return Err(problem(format!(
            "--from-secret reads one Secret on stdin, found {} documents",
            docs.len()
        )));
    };
    if secret["apiVersion"] != "v1" || secret["kind"] != "Secret" {
        return Err(problem(
            "--from-secret reads a v1 Secret (kubectl get secret NAME -o yaml)".into(),
        ));
    }
    let name = secret["metadata"]["name"]
        .as_str()
        .ok_or_else(|| problem("the Secret on stdin has no metadata.name".into()))?
        .to_string();
    let namespace = secret["metadata"]["namespace"].as_str().map(String::from);
    let mut values = BTreeMap::new();
    if let Some(data) = secret["data"].as_object() {
        for (key, value) in data {
            let decoded = value
                .as_str()
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
                .ok_or_else(|| problem(format!("data[{key}] of Secret {name:?} is not base64")))?;
            values.insert(key.clone(), decoded);
        }
    }
    if let Some(data) = secret["stringData"].as_object() {
        for (key, value) in data {
            let text = value.as_str().ok_or_else(|| {
                problem(format!(
                    "stringData[{key}] of Secret {name:?} is not a string"
                ))
            })?;
            values.insert(key.clone(), text.as_bytes().to_vec());
        }
    }
    Ok(SecretManifest {
        name,
        namespace,
        values,
    })
}

/// A Secret holds at most 1 MiB; a larger value could never be unsealed.
const MAX_VALUE: u64 = 1 << 20;

/// A PEM certificate or public key: a regular file of at most 1 MiB, as text.
pub fn read_certificate(path: &Path) -> Result<String, String> {
    let bytes = crate::input::load::read_regular(path, 1 << 20, true)
        .map_err(|e| crate::diagnostic::path::io_reason(&e))?;
    String::from_utf8(bytes).map_err(|_| "not a PEM file: not text".to_string())
}

fn values(args: &SealArgs, secret: Option<SecretManifest>) -> Result<Values, Diagnostic> {
    let mut values = BTreeMap::new();
    let mut peer_ids = Vec::new();
    let mut inputs: Vec<(String, Vec<u8>, String)> = Vec::new();
    if let Some(mut secret) = secret {
        let keys: Vec<String> = if args.keys.is_empty() {
            secret.values.keys().cloned().collect()
        } else {
            args.keys.clone()
        };
        if keys.is_empty() {
            return Err(Diagnostic::new(
                Code::InvalidSecretValue,
                format!("Secret {:?} holds no value to seal", secret.name),
            ));
        }
        for key in keys {
            let value = secret.values.remove(&key).ok_or_else(|| {
                Diagnostic::new(
                    Code::InvalidSecretValue,
                    format!("Secret {:?} has no data key {key:?}", secret.name),
                )
            })?;
            let origin = format!("Secret {:?}", secret.name);
            inputs.push((key, value, origin));
        }
    } else if let Some(material) = args.generate {
        let generated = keys::generate(material).map_err(|e| Diagnostic::new(Code::Io, e))?;
        let key = args
            .keys
            .first()
            .cloned()
            .unwrap_or_else(|| material.data_key().to_string());
        inputs.push((key, generated.value, format!("generated {material}")));
    } else if args.from_stdin {
        let value = read_stdin(MAX_VALUE)?;
        inputs.push((args.keys[0].clone(), value, "<stdin>".into()));
    } else {
        for (key, path) in args.keys.iter().zip(&args.from_files) {
            let shown = crate::diagnostic::path::display(path);
            let value = crate::input::load::read_regular(path, MAX_VALUE, true).map_err(|e| {
                Diagnostic::new(
                    Code::Io,
                    format!(
                        "cannot read {shown}: {}",
                        crate::diagnostic::path::io_reason(&e)
                    ),
                )
                .path(&shown)
            })?;
            inputs.push((key.clone(), value, shown));
        }
    }
    for (key, mut value, origin) in inputs {
        if values.contains_key(&key) {
            return Err(Diagnostic::new(
                Code::InvalidSecretValue,
                format!("the key {key:?} is given twice"),
            ));
        }
        let material = Material::from_data_key(&key);
        // Files end in a newline by convention, but ipfs-cluster reads the cluster secret, the
        // private key and the REST credentials from environment variables, where a newline
        // breaks them.
        if matches!(
            material,
            Some(Material::ClusterSecret | Material::PeerIdentity | Material::RestCredentials)
        ) && value.ends_with(b"\n")
        {
            value.pop();
            if value.ends_with(b"\r") {
                value.pop();
            }
        }
        if let Some(material) = material {
            let id = keys::check(material, &value).map_err(|e| {
                Diagnostic::new(
                    Code::InvalidSecretValue,
                    format!("{origin}: not a valid {material} for key {key:?}: {e}"),
                )
            })?;
            if let Some(id) = id {
                if let Some(expected) = &args.expect_id {
                    let expected_id = PeerId::parse(expected).map_err(|e| {
                        Diagnostic::new(
                            Code::InvalidPeerId,
                            format!("--expect-id {expected:?}: {e}"),
                        )
                    })?;
                    if expected_id != id {
                        return Err(Diagnostic::new(
                            Code::InvalidSecretValue,
                            format!(
                                "{origin}: the private key belongs to peer ID {id}, not {expected}"
                            ),
                        ));
                    }
                }
                peer_ids.push(id);
            }
        }
        values.insert(key, value);
    }
    if args.expect_id.is_some() && peer_ids.is_empty() {
        return Err(Diagnostic::new(
            Code::InvalidSecretValue,
            "--expect-id checks a private key, and no value is one (data key \"key\")",
        ));
    }
    Ok(Values { values, peer_ids })
}
