//! The IPFS domain: peer IDs, multiaddrs, keys and swarm keys, kubo releases.

pub mod keys;
pub mod kubo;
pub mod multiaddr;
pub mod peer_id;
