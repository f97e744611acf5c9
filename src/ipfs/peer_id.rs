//! libp2p peer IDs (spec 4.3), decoded rather than pattern-matched: the text form, then the
//! multihash, then the public key an identity multihash carries.
//!
//! What can be checked without the private key is the structure only. base58 has no checksum,
//! so a typo in the key bytes of an Ed25519 ID still decodes; it is caught only when the
//! changed bytes are no longer a point of the curve (about half of all 32-byte strings are
//! not), or when it changes the length or the header. Whether an ID belongs to a given key is
//! checked where the key is known.

use std::fmt;

use cid::multibase::{self, Base};
use cid::multihash::Multihash;

/// Multihash codes of the two hash functions peer IDs use.
const IDENTITY: u64 = 0x00;
const SHA2_256: u64 = 0x12;
/// The multicodec of a CID that holds a peer ID.
const LIBP2P_KEY: u64 = 0x72;
/// Public keys up to this many bytes are inlined with the identity multihash; larger keys are
/// hashed with sha2-256.
const MAX_INLINE_KEY: usize = 42;
/// The longest text form of a peer ID: an RSA key's sha2-256 ID or an inlined key's, in any
/// multibase, is well under this.
pub const MAX_TEXT: usize = 128;

/// The key algorithm of a libp2p public key (the protobuf's `KeyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    Ed25519,
    Secp256k1,
    Ecdsa,
}

impl KeyType {
    fn from_code(code: u64) -> Option<KeyType> {
        match code {
            0 => Some(KeyType::Rsa),
            1 => Some(KeyType::Ed25519),
            2 => Some(KeyType::Secp256k1),
            3 => Some(KeyType::Ecdsa),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            KeyType::Rsa => 0,
            KeyType::Ed25519 => 1,
            KeyType::Secp256k1 => 2,
            KeyType::Ecdsa => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::Ed25519 => "Ed25519",
            KeyType::Secp256k1 => "secp256k1",
            KeyType::Ecdsa => "ECDSA",
        }
    }
}

/// A structurally valid peer ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerId {
    /// The multihash bytes, the ID's identity whatever text form it was written in.
    multihash: Vec<u8>,
    /// Known when the key is inlined; a sha2-256 ID hides its key (RSA or ECDSA).
    pub key_type: Option<KeyType>,
}

/// Why a text is not a peer ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    Empty,
    TooLong(usize),
    NotBase58 {
        character: char,
        position: usize,
    },
    NotMultibase(String),
    NotCid(String),
    NotCidV1,
    WrongCodec(u64),
    NotMultihash(String),
    DigestLength {
        announced: u64,
        found: usize,
    },
    WrongHash(u64),
    WrongDigestLength(usize),
    KeyTooLarge(usize),
    NotPublicKey(&'static str),
    UnknownKeyType(u64),
    WrongKeyLength {
        key_type: KeyType,
        expected: usize,
        found: usize,
    },
    NotOnCurve,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty => write!(f, "a peer ID must not be empty"),
            Error::TooLong(found) => write!(
                f,
                "a peer ID is at most {MAX_TEXT} characters, found {found}"
            ),
            Error::NotBase58 {
                character,
                position,
            } => write!(
                f,
                "{character:?} at position {position} is not a base58 character (base58 has \
                 no 0, O, I or l)"
            ),
            Error::NotMultibase(why) => write!(
                f,
                "neither base58btc (which starts with 1 or Qm) nor a multibase CID ({})",
                why.to_lowercase().trim_end_matches('.')
            ),
            Error::NotCid(why) => write!(f, "not a CID: {why}"),
            Error::NotCidV1 => write!(f, "a peer ID in CID form must be a CIDv1"),
            Error::WrongCodec(codec) => write!(
                f,
                "a CID with codec 0x{codec:x} is not a peer ID (peer IDs use libp2p-key, 0x72)"
            ),
            Error::NotMultihash(why) => write!(f, "not a multihash: {why}"),
            Error::DigestLength { announced, found } => write!(
                f,
                "the multihash announces {announced} bytes of digest but holds {found}: \
                 characters are missing or extra"
            ),
            Error::WrongHash(code) => write!(
                f,
                "multihash code 0x{code:x} is not used by peer IDs (identity 0x0 or sha2-256 0x12)"
            ),
            Error::WrongDigestLength(found) => {
                write!(f, "a sha2-256 digest is 32 bytes, found {found}")
            }
            Error::KeyTooLarge(found) => write!(
                f,
                "an inlined public key is at most {MAX_INLINE_KEY} bytes, found {found}; larger \
                 keys are hashed"
            ),
            Error::NotPublicKey(why) => write!(f, "the inlined public key is malformed: {why}"),
            Error::UnknownKeyType(code) => write!(f, "unknown key type {code}"),
            Error::WrongKeyLength {
                key_type,
                expected,
                found,
            } => write!(
                f,
                "an {} public key is {expected} bytes, found {found}",
                key_type.name()
            ),
            Error::NotOnCurve => write!(
                f,
                "the Ed25519 public key is not a point of the curve (a mistyped character?)"
            ),
        }
    }
}

impl PeerId {
    /// Parses either text form of the libp2p specification: a bare base58btc multihash
    /// (`12D3KooW…`, `Qm…`, `16Uiu2…`), or a CIDv1 with codec libp2p-key in any multibase
    /// (`k51…` base36, `bafz…` base32).
    pub fn parse(text: &str) -> Result<PeerId, Error> {
        if text.is_empty() {
            return Err(Error::Empty);
        }
        // Decoding base58 is quadratic in the length: refuse what no peer ID can be first.
        if text.len() > MAX_TEXT {
            return Err(Error::TooLong(text.len()));
        }
        let multihash = if text.starts_with('1') || text.starts_with("Qm") {
            base58(text)?
        } else {
            from_cid(text)?
        };
        let key_type = check_multihash(&multihash)?;
        Ok(PeerId {
            multihash,
            key_type,
        })
    }

    /// The ID of a public key given as its libp2p protobuf encoding.
    pub fn from_public_key(protobuf: &[u8]) -> PeerId {
        let mut multihash = Vec::with_capacity(protobuf.len() + 34);
        if protobuf.len() <= MAX_INLINE_KEY {
            // Both fit in one varint byte: identity is 0 and the length is at most 42.
            multihash.extend([IDENTITY as u8, protobuf.len() as u8]);
            multihash.extend_from_slice(protobuf);
        } else {
            use sha2::Digest;
            multihash.extend([SHA2_256 as u8, 32]);
            multihash.extend_from_slice(&sha2::Sha256::digest(protobuf));
        }
        let key_type = check_multihash(&multihash).ok().flatten();
        PeerId {
            multihash,
            key_type,
        }
    }

    /// The canonical text form, base58btc.
    pub fn to_base58(&self) -> String {
        Base::Base58Btc.encode(&self.multihash)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

fn base58(text: &str) -> Result<Vec<u8>, Error> {
    const ALPHABET: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    if let Some((position, character)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !ALPHABET.contains(*c))
    {
        return Err(Error::NotBase58 {
            character,
            position: position + 1,
        });
    }
    Base::Base58Btc
        .decode(text)
        .map_err(|e| Error::NotMultibase(e.to_string()))
}

fn from_cid(text: &str) -> Result<Vec<u8>, Error> {
    let (_, bytes) = multibase::decode(text).map_err(|e| Error::NotMultibase(e.to_string()))?;
    let cid = cid::Cid::try_from(bytes.as_slice()).map_err(|e| Error::NotCid(e.to_string()))?;
    if cid.version() != cid::Version::V1 {
        return Err(Error::NotCidV1);
    }
    if cid.codec() != LIBP2P_KEY {
        return Err(Error::WrongCodec(cid.codec()));
    }
    if cid.encoded_len() != bytes.len() {
        return Err(Error::NotCid("bytes left over after the multihash".into()));
    }
    Ok(cid.hash().to_bytes())
}

/// Checks the multihash and, when the key is inlined, the key; returns the key type if known.
fn check_multihash(bytes: &[u8]) -> Result<Option<KeyType>, Error> {
    // The header first, for a message that says what is wrong rather than the crate's.
    let (_, rest) =
        unsigned_varint::decode::u64(bytes).map_err(|e| Error::NotMultihash(e.to_string()))?;
    let (announced, digest) =
        unsigned_varint::decode::u64(rest).map_err(|e| Error::NotMultihash(e.to_string()))?;
    if usize::try_from(announced).ok() != Some(digest.len()) {
        return Err(Error::DigestLength {
            announced,
            found: digest.len(),
        });
    }
    let multihash =
        Multihash::<64>::from_bytes(bytes).map_err(|e| Error::NotMultihash(e.to_string()))?;
    let digest = multihash.digest();
    match multihash.code() {
        SHA2_256 if digest.len() == 32 => Ok(None),
        SHA2_256 => Err(Error::WrongDigestLength(digest.len())),
        IDENTITY if digest.len() > MAX_INLINE_KEY => Err(Error::KeyTooLarge(digest.len())),
        IDENTITY => public_key(digest).map(Some),
        code => Err(Error::WrongHash(code)),
    }
}

/// Decodes a libp2p `PublicKey` or `PrivateKey` protobuf: field 1 the key type (varint),
/// field 2 the key bytes.
pub fn decode_key(mut bytes: &[u8]) -> Result<(KeyType, &[u8]), Error> {
    let mut key_type = None;
    let mut data = None;
    while !bytes.is_empty() {
        let (tag, rest) = varint(bytes)?;
        bytes = rest;
        match tag {
            0x08 => {
                let (code, rest) = varint(bytes)?;
                key_type = Some(KeyType::from_code(code).ok_or(Error::UnknownKeyType(code))?);
                bytes = rest;
            }
            0x12 => {
                let (len, rest) = varint(bytes)?;
                let len = usize::try_from(len).map_err(|_| Error::NotPublicKey("truncated"))?;
                if rest.len() < len {
                    return Err(Error::NotPublicKey("truncated"));
                }
                data = Some(&rest[..len]);
                bytes = &rest[len..];
            }
            _ => return Err(Error::NotPublicKey("unexpected field")),
        }
    }
    let key_type = key_type.ok_or(Error::NotPublicKey("no key type"))?;
    let data = data.ok_or(Error::NotPublicKey("no key"))?;
    Ok((key_type, data))
}

/// Encodes a libp2p key protobuf, as `decode_key` reads it.
pub fn encode_key(key_type: KeyType, data: &[u8]) -> Vec<u8> {
    let mut buffer = unsigned_varint::encode::u64_buffer();
    let mut out = vec![0x08, key_type.code(), 0x12];
    out.extend_from_slice(unsigned_varint::encode::u64(data.len() as u64, &mut buffer));
    out.extend_from_slice(data);
    out
}

/// Checks the public key inlined in an identity multihash.
fn public_key(bytes: &[u8]) -> Result<KeyType, Error> {
    let (key_type, data) = decode_key(bytes)?;
    let expected = match key_type {
        KeyType::Ed25519 => 32,
        KeyType::Secp256k1 => 33,
        // Inlined RSA or ECDSA keys are not produced by libp2p; their DER encodings exceed the
        // inline limit. Their structure is left to the key parsers.
        KeyType::Rsa | KeyType::Ecdsa => return Ok(key_type),
    };
    if data.len() != expected {
        return Err(Error::WrongKeyLength {
            key_type,
            expected,
            found: data.len(),
        });
    }
    match key_type {
        KeyType::Ed25519 => {
            let point: [u8; 32] = data.try_into().map_err(|_| Error::NotOnCurve)?;
            ed25519_dalek::VerifyingKey::from_bytes(&point).map_err(|_| Error::NotOnCurve)?;
        }
        KeyType::Secp256k1 if !matches!(data[0], 0x02 | 0x03) => {
            return Err(Error::NotPublicKey(
                "a compressed secp256k1 key starts with 0x02 or 0x03",
            ));
        }
        _ => {}
    }
    Ok(key_type)
}

fn varint(bytes: &[u8]) -> Result<(u64, &[u8]), Error> {
    unsigned_varint::decode::u64(bytes).map_err(|_| Error::NotPublicKey("truncated"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Kotal ClusterPeer sample's ID; the CID forms below hold the same multihash and were
    /// computed independently of this module.
    const ED25519: &str = "12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq";
    const ED25519_BASE36: &str = "k51qzi5uqu5dgugraw7i8cjsswm1h4nkeypvzh34ayxkpfdc1a4uuzwxosl4ky";
    const ED25519_BASE32: &str =
        "bafzaajaiaejcagu4frnrs6gcnaixvkmhs7bnbdjqw2epgncbwyai3zrxm6w4afts";

    fn err(text: &str) -> Error {
        PeerId::parse(text).unwrap_err()
    }

    #[test]
    fn every_text_form_decodes_to_the_same_id() {
        let id = PeerId::parse(ED25519).unwrap();
        assert_eq!(id.key_type, Some(KeyType::Ed25519));
        assert_eq!(id.to_base58(), ED25519);
        assert_eq!(PeerId::parse(ED25519_BASE36).unwrap(), id);
        assert_eq!(PeerId::parse(ED25519_BASE32).unwrap(), id);
    }

    #[test]
    fn hashed_and_secp256k1_ids() {
        // A sha2-256 ID (RSA or ECDSA keys): the key is not visible.
        let rsa = PeerId::parse("QmetnfKUnd122BZJYv2nHLRDNFugfwSDxJfZ73trvzffaK").unwrap();
        assert_eq!(rsa.key_type, None);
        let secp = PeerId::parse("16Uiu2HAkuwXY2AGYji7M2QiKeTUUr7KXdrRNs2ZuZeiPGoV5ShcG").unwrap();
        assert_eq!(secp.key_type, Some(KeyType::Secp256k1));
    }

    #[test]
    fn derived_from_the_public_key() {
        let id = PeerId::parse(ED25519).unwrap();
        let mut protobuf = vec![0x08, 0x01, 0x12, 0x20];
        protobuf.extend_from_slice(&id.multihash[6..]);
        assert_eq!(PeerId::from_public_key(&protobuf), id);
        // A key over 42 bytes is hashed.
        let long = PeerId::from_public_key(&[0u8; 43]);
        assert_eq!(long.multihash[..2], [0x12, 32]);
    }

    #[test]
    fn structural_errors() {
        assert_eq!(err(""), Error::Empty);
        assert_eq!(
            err("12D3KooW0cEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq"),
            Error::NotBase58 {
                character: '0',
                position: 9
            }
        );
        // Cut short: base58 is one big number, so the header bytes change too.
        assert_eq!(
            err("12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrq"),
            Error::DigestLength {
                announced: 4,
                found: 32
            }
        );
        // A CID of the raw codec, and a sha1 multihash, are not peer IDs.
        assert_eq!(
            err("k4ni5p7v7vp8e17obu7ezuhntj7che5hccplslk3ln4aqb34xwb2lbsnhdubg2"),
            Error::WrongCodec(0x55)
        );
        assert_eq!(
            err("kbzshywkmr0d3vzt6x1jmk1d93tsr1yrohd2q"),
            Error::WrongHash(0x11)
        );
        assert!(matches!(err("peer-0"), Error::NotMultibase(_)));
        assert!(matches!(err("bafya"), Error::NotCid(_)));
    }

    /// base58 carries no checksum, so what a typo does depends on where it lands. In the
    /// header (`12D3KooW`: identity multihash, 36 bytes, Ed25519, 32-byte key) it breaks the
    /// structure. In the key bytes it yields another 32-byte string, which is caught only
    /// when that string is not a point of the curve; when it is, the ID is a valid ID of some
    /// other key, and only the private key (or the resource that owns the ID) can tell.
    #[test]
    fn one_character_typos() {
        // The header: `D` → `E` changes the announced length.
        assert!(PeerId::parse("12E3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq").is_err());
        // The key bytes, `Y` → `a`: no longer a point of the curve.
        assert_eq!(
            PeerId::parse("12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLaGuiq"),
            Err(Error::NotOnCurve)
        );
        // `Y` → `d`: still a point, so a valid ID of another key. Not catchable here.
        assert!(PeerId::parse("12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLdGuiq").is_ok());
        // Every substitution at that position, counted: both outcomes occur.
        let alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let (mut caught, mut missed) = (0, 0);
        for c in alphabet.chars().filter(|&c| c != 'Y') {
            let typo = format!("{}{c}{}", &ED25519[..47], &ED25519[48..]);
            match PeerId::parse(&typo) {
                Err(Error::NotOnCurve) => caught += 1,
                Ok(_) => missed += 1,
                Err(other) => panic!("{typo}: {other}"),
            }
        }
        assert!(caught > 0 && missed > 0, "caught {caught}, missed {missed}");
    }
}
