//! The secret material Kotal resources reference (spec 4.1-4.3): generated from the operating
//! system's randomness, and checked before it is sealed, so that a malformed value is refused
//! on a laptop rather than by a pod that never starts.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::TryRng as _;

use crate::ipfs::peer_id::{self, KeyType, PeerId};

/// The kinds of secret value, each under the data key Kotal's containers read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Material {
    /// The PSK file of a private swarm, data key `swarm.key`.
    SwarmKey,
    /// An IPFS Cluster secret (64 hex characters), data key `secret`.
    ClusterSecret,
    /// A libp2p Ed25519 private key (base64), data key `key`.
    PeerIdentity,
    /// An IPFS Cluster REST API credential, `USER:PASSWORD`, data key `credentials`.
    RestCredentials,
}

/// Every material, in the order `keygen` lists them.
const MATERIALS: [Material; 4] = [
    Material::SwarmKey,
    Material::ClusterSecret,
    Material::PeerIdentity,
    Material::RestCredentials,
];

impl Material {
    /// The data key Kotal's containers read the material from.
    pub fn data_key(self) -> &'static str {
        match self {
            Material::SwarmKey => "swarm.key",
            Material::ClusterSecret => "secret",
            Material::PeerIdentity => "key",
            Material::RestCredentials => "credentials",
        }
    }

    pub fn from_data_key(key: &str) -> Option<Material> {
        MATERIALS.into_iter().find(|m| m.data_key() == key)
    }

    pub fn name(self) -> &'static str {
        match self {
            Material::SwarmKey => "swarm-key",
            Material::ClusterSecret => "cluster-secret",
            Material::PeerIdentity => "peer-identity",
            Material::RestCredentials => "rest-credentials",
        }
    }
}

impl fmt::Display for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Fresh material: the value to store, and the peer ID for an identity.
pub struct Generated {
    pub value: Vec<u8>,
    pub peer_id: Option<PeerId>,
}

pub const SWARM_KEY_HEADER: &str = "/key/swarm/psk/1.0.0/";
/// The user of a generated REST API credential.
pub const REST_USER: &str = "admin";

/// `n` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| format!("the operating system's random source failed: {e}"))?;
    Ok(bytes)
}

/// Lower-case hex, as swarm keys, cluster secrets and sha256 sums are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn generate(material: Material) -> Result<Generated, String> {
    let secret: [u8; 32] = random_bytes()?;
    Ok(match material {
        Material::SwarmKey => Generated {
            value: format!("{SWARM_KEY_HEADER}\n/base16/\n{}\n", hex(&secret)).into_bytes(),
            peer_id: None,
        },
        Material::ClusterSecret => Generated {
            value: hex(&secret).into_bytes(),
            peer_id: None,
        },
        Material::PeerIdentity => {
            let (private, id) = ed25519_identity(&secret);
            Generated {
                value: STANDARD.encode(private).into_bytes(),
                peer_id: Some(id),
            }
        }
        Material::RestCredentials => Generated {
            value: format!("{REST_USER}:{}", hex(&secret)).into_bytes(),
            peer_id: None,
        },
    })
}

/// The libp2p private key protobuf and peer ID of an Ed25519 seed.
fn ed25519_identity(seed: &[u8; 32]) -> (Vec<u8>, PeerId) {
    let signing = ed25519_dalek::SigningKey::from_bytes(seed);
    let public = signing.verifying_key().to_bytes();
    let mut pair = Vec::with_capacity(64);
    pair.extend_from_slice(seed);
    pair.extend_from_slice(&public);
    let private = peer_id::encode_key(KeyType::Ed25519, &pair);
    let id = PeerId::from_public_key(&peer_id::encode_key(KeyType::Ed25519, &public));
    (private, id)
}

/// Checks a value for its data key. Returns the peer ID of a private key.
pub fn check(material: Material, value: &[u8]) -> Result<Option<PeerId>, String> {
    match material {
        Material::SwarmKey => check_swarm_key(value).map(|()| None),
        Material::ClusterSecret => check_cluster_secret(value).map(|()| None),
        Material::PeerIdentity => check_private_key(value).map(Some),
        Material::RestCredentials => check_rest_credentials(value).map(|()| None),
    }
}

/// The error of every check `value` fails, for the fuzz target and its smoke test: none may
/// panic or quote the value.
pub fn check_every(value: &[u8]) -> Vec<String> {
    MATERIALS
        .into_iter()
        .filter_map(|m| check(m, value).err())
        .collect()
}

/// Spec 4.1: the PSK header, an encoding line, and 32 bytes in that encoding.
pub fn check_swarm_key(value: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(value).map_err(|_| "a swarm key file is text".to_string())?;
    let mut lines = text.lines();
    if lines.next() != Some(SWARM_KEY_HEADER) {
        return Err(format!(
            "a swarm key file starts with the line {SWARM_KEY_HEADER}"
        ));
    }
    let encoding = lines.next().unwrap_or_default();
    let key = lines.next().unwrap_or_default();
    if lines.any(|l| !l.is_empty()) {
        return Err("a swarm key file has three lines".into());
    }
    let length = match encoding {
        "/base16/" => {
            if !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("the /base16/ key holds only hex digits".into());
            }
            key.len() / 2
        }
        "/base64/" => STANDARD
            .decode(key)
            .map_err(|_| "the /base64/ key is not base64".to_string())?
            .len(),
        // The line is not quoted: a key with its lines swapped would print the key.
        _ => {
            return Err("the second line names the encoding, /base16/ or /base64/".into());
        }
    };
    if length != 32 || (encoding == "/base16/" && key.len() != 64) {
        return Err(format!("the key is 32 bytes, found {length}"));
    }
    Ok(())
}

/// Spec 4.2: exactly 64 hex characters; anything else stops ipfs-cluster at start.
pub fn check_cluster_secret(value: &[u8]) -> Result<(), String> {
    if value.len() == 64 && value.iter().all(u8::is_ascii_hexdigit) {
        Ok(())
    } else {
        Err(format!(
            "a cluster secret is 64 hex characters (32 bytes), found {} bytes{}",
            value.len(),
            if value.ends_with(b"\n") {
                " ending in a newline"
            } else {
                ""
            }
        ))
    }
}

/// `USER:PASSWORD[,USER:PASSWORD...]`, as ipfs-cluster reads CLUSTER_RESTAPI_BASICAUTHCREDENTIALS
/// (envconfig v1.4.0's map: pairs split at `,`, each at `:` into exactly two parts), so neither
/// part may hold `,` or `:`. The value is never quoted.
pub fn check_rest_credentials(value: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(value).map_err(|_| "REST credentials are text".to_string())?;
    if text.chars().any(char::is_control) {
        return Err("REST credentials hold no newline or other control character".into());
    }
    for pair in text.split(',') {
        match pair.split(':').collect::<Vec<_>>().as_slice() {
            [user, password] if !user.is_empty() && !password.is_empty() => {}
            _ => {
                return Err(
                    "REST credentials are USER:PASSWORD (comma-separated for several users), \
                     neither part empty nor holding ':' or ','"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// Spec 4.3: base64 of the libp2p PrivateKey protobuf. Returns the key's peer ID.
pub fn check_private_key(value: &[u8]) -> Result<PeerId, String> {
    let bytes = STANDARD
        .decode(value)
        // The decoder's error names a character of the key: never quoted.
        .map_err(|_| "a private key is standard base64".to_string())?;
    let (key_type, data) =
        peer_id::decode_key(&bytes).map_err(|e| format!("not a libp2p private key: {e}"))?;
    match key_type {
        KeyType::Ed25519 => {
            let pair: &[u8; 64] = data.try_into().map_err(|_| {
                format!(
                    "an Ed25519 private key is 64 bytes (seed and public key), found {}",
                    data.len()
                )
            })?;
            let seed: [u8; 32] = pair[..32].try_into().unwrap_or([0; 32]);
            let (_, id) = ed25519_identity(&seed);
            let derived = ed25519_dalek::SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes();
            if derived[..] != pair[32..] {
                return Err(
                    "the key's public half is not the one its seed derives: the key is corrupt"
                        .into(),
                );
            }
            Ok(id)
        }
        KeyType::Rsa => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::EncodePublicKey;
            let private = rsa::PrivateKey::from_pkcs1_der(data)
                .map_err(|e| format!("not an RSA private key: {e}"))?;
            let public = rsa::PublicKey::from(&private)
                .to_public_key_der()
                .map_err(|e| format!("cannot encode the RSA public key: {e}"))?;
            Ok(PeerId::from_public_key(&peer_id::encode_key(
                KeyType::Rsa,
                public.as_bytes(),
            )))
        }
        other => Err(format!(
            "{} keys are not supported; kotalc checks Ed25519 and RSA keys",
            other.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Kotal ClusterPeer sample's key and ID.
    const SAMPLE_KEY: &str = "CAESQOH/DvUJmeJ9z6m3wAStpkrlBwJQxIyNSK0YGf0EI5ZRGpwsWxl4wmgReqmHl8LQjTC2iPM0QbYAjeY3Z63AFnI=";
    const SAMPLE_ID: &str = "12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq";

    #[test]
    fn the_sample_key_derives_its_id() {
        let id = check_private_key(SAMPLE_KEY.as_bytes()).unwrap();
        assert_eq!(id.to_base58(), SAMPLE_ID);
    }

    #[test]
    fn generated_material_passes_its_own_checks() {
        for material in [
            Material::SwarmKey,
            Material::ClusterSecret,
            Material::PeerIdentity,
        ] {
            let generated = generate(material).unwrap();
            let id = check(material, &generated.value).unwrap();
            assert_eq!(id, generated.peer_id);
        }
        let a = generate(Material::ClusterSecret).unwrap().value;
        let b = generate(Material::ClusterSecret).unwrap().value;
        assert_ne!(a, b, "fresh randomness each time");
    }

    #[test]
    fn malformed_values_are_refused() {
        let ok = format!("{SWARM_KEY_HEADER}\n/base16/\n{}\n", "ab".repeat(32));
        assert!(check_swarm_key(ok.as_bytes()).is_ok());
        let short = format!("{SWARM_KEY_HEADER}\n/base16/\n{}\n", "ab".repeat(31));
        assert!(check_swarm_key(short.as_bytes()).is_err());
        assert!(check_swarm_key(b"/key/swarm/psk/1.0.0/\n/bin/\nxx\n").is_err());
        assert!(check_swarm_key("ab".repeat(32).as_bytes()).is_err());
        assert!(check_cluster_secret("ab".repeat(32).as_bytes()).is_ok());
        let newline = format!("{}\n", "ab".repeat(32));
        assert!(
            check_cluster_secret(newline.as_bytes())
                .unwrap_err()
                .contains("newline")
        );
        assert!(check_cluster_secret("zz".repeat(32).as_bytes()).is_err());
        assert!(check_private_key(b"not base64!").is_err());
        // The sample key with its public half altered.
        let mut bytes = STANDARD.decode(SAMPLE_KEY).unwrap();
        bytes[40] ^= 1;
        let corrupt = STANDARD.encode(bytes);
        assert!(
            check_private_key(corrupt.as_bytes())
                .unwrap_err()
                .contains("corrupt")
        );
    }
}
