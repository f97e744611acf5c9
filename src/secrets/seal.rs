//! Offline sealing for Bitnami sealed-secrets, byte-compatible with `kubeseal --cert`: the
//! controller in the cluster decrypts what this module encrypts with its public key.
//!
//! The format: a fresh 32-byte session key is encrypted with RSA-OAEP (SHA-256 for the hash
//! and MGF1) under a label that binds the scope, and the value with AES-256-GCM under the
//! session key, an all-zero 12-byte nonce and no additional data (safe because every session
//! key is used once). The result is the RSA ciphertext's length as two big-endian bytes, the
//! RSA ciphertext, then the GCM ciphertext and tag.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as J, json};
use sha2::Sha256;

use crate::ipfs::keys::random_bytes;

pub const NAMESPACE_WIDE: &str = "sealedsecrets.bitnami.com/namespace-wide";
pub const CLUSTER_WIDE: &str = "sealedsecrets.bitnami.com/cluster-wide";

/// Where the sealed value may be unsealed, as the controller's scopes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// Only as a Secret of this name in this namespace.
    #[default]
    Strict,
    /// As a Secret of any name in this namespace.
    NamespaceWide,
    /// As any Secret in any namespace.
    ClusterWide,
}

impl Scope {
    /// The OAEP label that binds a ciphertext to its scope.
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }

    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(NAMESPACE_WIDE),
            Scope::ClusterWide => Some(CLUSTER_WIDE),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }
}

/// The smallest RSA key kotalc seals for: the sealed-secrets controller makes 4096-bit keys,
/// and anything under 2048 bits is breakable or not the controller's.
pub const MIN_RSA_BITS: usize = 2048;

/// The controller's public key from what `kubeseal --fetch-cert` prints (a PEM certificate,
/// whose validity is checked against `now`), or from a PEM RSA public key. The first PEM
/// block is the one read: a private key appended to the file (as some tools write them) is
/// ignored, never parsed.
pub fn public_key(pem: &str, now: SystemTime) -> Result<rsa::PublicKey, String> {
    use rsa::pkcs8::DecodePublicKey;
    let (label, block) = first_block(pem).ok_or("not a PEM file: no -----BEGIN line")?;
    let der: Vec<u8> = match label {
        "CERTIFICATE" => {
            let chain = x509_cert::Certificate::load_pem_chain(block.as_bytes())
                .map_err(|e| format!("not a valid certificate: {e}"))?;
            let cert = chain.first().ok_or("no certificate in the file")?;
            let validity = cert.tbs_certificate().validity();
            if now > validity.not_after.to_system_time() {
                return Err(format!(
                    "the certificate expired on {}; fetch the controller's current one with \
                     `kubeseal --fetch-cert`",
                    validity.not_after
                ));
            }
            if now < validity.not_before.to_system_time() {
                return Err(format!(
                    "the certificate is not valid before {}",
                    validity.not_before
                ));
            }
            der_of(cert.tbs_certificate().subject_public_key_info())?
        }
        "PUBLIC KEY" => {
            use x509_cert::der::DecodePem;
            let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_pem(block.as_bytes())
                .map_err(|e| format!("not a public key: {e}"))?;
            der_of(&spki)?
        }
        "RSA PUBLIC KEY" => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            use rsa::pkcs8::EncodePublicKey;
            let (_, der) = x509_cert::der::pem::decode_vec(block.as_bytes())
                .map_err(|e| format!("not an RSA public key: {e}"))?;
            check_bits(&der)?;
            let key = rsa::PublicKey::from_pkcs1_der(&der)
                .map_err(|e| format!("not an RSA public key: {e}"))?;
            key.to_public_key_der()
                .map_err(|e| format!("cannot read the RSA public key: {e}"))?
                .as_bytes()
                .to_vec()
        }
        other => {
            return Err(format!(
                "expected a CERTIFICATE or an RSA PUBLIC KEY, found a PEM {other}"
            ));
        }
    };
    let spki = x509_cert::spki::SubjectPublicKeyInfoRef::try_from(der.as_slice())
        .map_err(|e| format!("cannot read the key: {e}"))?;
    const RSA: &str = "1.2.840.113549.1.1.1";
    if spki.algorithm.oid.to_string() != RSA {
        return Err(format!(
            "the key is not an RSA key (algorithm {}); the sealed-secrets controller's is",
            spki.algorithm.oid
        ));
    }
    check_bits(spki.subject_public_key.raw_bytes())?;
    rsa::PublicKey::from_public_key_der(&der).map_err(|e| format!("not a usable RSA key: {e}"))
}

/// The first PEM block of a file: its label and its text, BEGIN to END line.
fn first_block(pem: &str) -> Option<(&str, &str)> {
    let begin = pem.find("-----BEGIN ")?;
    let rest = &pem[begin..];
    let label = rest["-----BEGIN ".len()..].split("-----").next()?;
    let end_line = format!("-----END {label}-----");
    let end = rest.find(&end_line)? + end_line.len();
    Some((label, &rest[..end]))
}

/// Refuses an RSA key (PKCS#1 DER) whose modulus is shorter than [`MIN_RSA_BITS`], read
/// before the key is decoded, so that a small key gets this message and not a decoder's.
fn check_bits(pkcs1: &[u8]) -> Result<(), String> {
    use x509_cert::der::Decode;
    let key = rsa::pkcs1::RsaPublicKey::<rsa::pkcs1::UintRef<'_>>::from_der(pkcs1)
        .map_err(|e| format!("not an RSA public key: {e}"))?;
    let bytes = key.modulus.as_bytes();
    let bits = bytes.len() * 8 - bytes.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "the RSA key has {bits} bits; kotalc seals only for keys of at least {MIN_RSA_BITS} \
             bits (the sealed-secrets controller makes 4096-bit keys): fetch the controller's \
             certificate with `kubeseal --fetch-cert`"
        ));
    }
    Ok(())
}

fn der_of(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<Vec<u8>, String> {
    use x509_cert::der::Encode;
    spki.to_der()
        .map_err(|e| format!("cannot read the certificate's key: {e}"))
}

/// Encrypts one value for the controller holding `key`'s private half.
pub fn seal(key: &rsa::PublicKey, label: &[u8], value: &[u8]) -> Result<Vec<u8>, String> {
    let session: [u8; 32] = random_bytes()?;
    let padding = rsa::Oaep::<Sha256>::new_with_label(label.to_vec());
    let wrapped = key
        .encrypt(&mut rand::rngs::SysRng, padding, &session)
        .map_err(|e| format!("RSA encryption failed: {e}"))?;
    let cipher =
        Aes256Gcm::new_from_slice(&session).map_err(|e| format!("AES key setup failed: {e}"))?;
    let sealed = cipher
        .encrypt(&Nonce::default(), value)
        .map_err(|e| format!("AES-GCM encryption failed: {e}"))?;
    let length = u16::try_from(wrapped.len())
        .map_err(|_| "the RSA key is too large for the sealed-secrets format".to_string())?;
    let mut out = Vec::with_capacity(2 + wrapped.len() + sealed.len());
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Seals each value and returns them base64-encoded, as `spec.encryptedData` holds them.
pub fn seal_all(
    key: &rsa::PublicKey,
    scope: Scope,
    namespace: &str,
    name: &str,
    values: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, String>, String> {
    let label = scope.label(namespace, name);
    values
        .iter()
        .map(|(k, v)| Ok((k.clone(), STANDARD.encode(seal(key, &label, v)?))))
        .collect()
}

/// A SealedSecret object as `kubeseal` writes it, without its volatile fields.
pub fn sealed_secret(
    name: &str,
    namespace: Option<&str>,
    scope: Scope,
    annotations: &BTreeMap<String, String>,
    encrypted: &BTreeMap<String, String>,
) -> J {
    let mut metadata = json!({ "name": name });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let mut all = annotations.clone();
    if let Some(annotation) = scope.annotation() {
        all.insert(annotation.to_string(), "true".to_string());
    }
    let mut template_metadata = metadata.clone();
    if let Some(annotation) = scope.annotation() {
        template_metadata["annotations"] = json!({ annotation: "true" });
    }
    if !all.is_empty() {
        metadata["annotations"] = json!(all);
    }
    json!({
        "apiVersion": crate::model::SEALED_SECRET_API_VERSION,
        "kind": crate::model::SEALED_SECRET_KIND,
        "metadata": metadata,
        "spec": {
            "encryptedData": encrypted,
            "template": { "metadata": template_metadata, "type": "Opaque" },
        },
    })
}

/// `values` sealed for the Secret `name` under `scope`, as the YAML of a SealedSecret.
pub fn sealed_yaml(
    key: &rsa::PublicKey,
    scope: Scope,
    namespace: Option<&str>,
    name: &str,
    values: &BTreeMap<String, Vec<u8>>,
    annotations: &BTreeMap<String, String>,
) -> Result<String, String> {
    let encrypted = seal_all(key, scope, namespace.unwrap_or_default(), name, values)?;
    let object = sealed_secret(name, namespace, scope, annotations, &encrypted);
    crate::diagnostic::manifest_text(&object)
        .map_err(|e| format!("cannot write the SealedSecret: {e}"))
}

/// The annotation that records whose private key a SealedSecret holds; none without one.
pub fn peer_id_annotation(peer_id: Option<&str>) -> BTreeMap<String, String> {
    peer_id
        .map(|id| {
            (
                crate::model::annotations::PEER_ID.to_string(),
                id.to_string(),
            )
        })
        .into_iter()
        .collect()
}
