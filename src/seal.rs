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

use crate::keys::random_bytes;

pub const API_VERSION: &str = "bitnami.com/v1alpha1";
pub const KIND: &str = "SealedSecret";
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

/// The controller's public key from what `kubeseal --fetch-cert` prints (a PEM certificate,
/// whose validity is checked against `now`), or from a PEM RSA public key.
pub fn public_key(pem: &str, now: SystemTime) -> Result<rsa::PublicKey, String> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    let label = pem
        .lines()
        .find_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or("not a PEM file: no -----BEGIN line")?;
    match label {
        "CERTIFICATE" => {
            let chain = x509_cert::Certificate::load_pem_chain(pem.as_bytes())
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
            let spki = cert.tbs_certificate().subject_public_key_info();
            let der = der_of(spki)?;
            rsa::PublicKey::from_public_key_der(&der)
                .map_err(|e| format!("the certificate's key is not an RSA key: {e}"))
        }
        "PUBLIC KEY" => rsa::PublicKey::from_public_key_pem(pem.trim())
            .map_err(|e| format!("not an RSA public key: {e}")),
        "RSA PUBLIC KEY" => rsa::PublicKey::from_pkcs1_pem(pem.trim())
            .map_err(|e| format!("not an RSA public key: {e}")),
        other => Err(format!(
            "expected a CERTIFICATE or an RSA PUBLIC KEY, found a PEM {other}"
        )),
    }
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
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "encryptedData": encrypted,
            "template": { "metadata": template_metadata, "type": "Opaque" },
        },
    })
}
