//! The Kotal IPFS API types. The same types drive parsing (serde), the structural checks and
//! `kotalc schema` (schemars), so what kotalc documents is what it accepts.

pub mod annotations;
mod cluster_peer;
mod common;
pub mod defaults;
pub mod gateway;
pub mod monitoring;
pub mod parse;
mod peer;
pub mod policy;
pub mod references;
pub mod runtime;
pub mod schema;
mod swarm;

pub use cluster_peer::{ClusterLogging, ClusterPeer, ClusterPeerSpec, Consensus};
pub use common::{ObjectMeta, Profile, Resources};
pub use peer::{Peer, PeerLogging, PeerSpec, Routing};
pub use swarm::{Swarm, SwarmNode, SwarmSpec};

pub const API_VERSION: &str = "ipfs.kotal.io/v1alpha1";
pub const GROUP: &str = "ipfs.kotal.io";

/// The Kotal kinds kotalc compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Peer,
    ClusterPeer,
    /// Deprecated; lowered to Peers before validation.
    Swarm,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[Kind::Peer, Kind::ClusterPeer, Kind::Swarm];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Peer => "Peer",
            Kind::ClusterPeer => "ClusterPeer",
            Kind::Swarm => "Swarm",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The JSON Schema of the kind's whole resource, as schemars derives it.
    pub fn schema(self) -> schemars::Schema {
        match self {
            Kind::Peer => schemars::schema_for!(Peer),
            Kind::ClusterPeer => schemars::schema_for!(ClusterPeer),
            Kind::Swarm => schemars::schema_for!(Swarm),
        }
    }
}

/// A SealedSecret, the one kind besides Kotal's that kotalc reads as its own input: the
/// sealed values of the Secrets the resources reference.
pub const SEALED_SECRET_API_VERSION: &str = "bitnami.com/v1alpha1";
pub const SEALED_SECRET_KIND: &str = "SealedSecret";
