use schemars::JsonSchema;
use serde::Deserialize;

use super::common::{ObjectMeta, Profile, Resources};

/// Deprecated by Kotal: a set of IPFS nodes with fixed identities that peer with each other.
/// kotalc renders each node as the Peer that `kotalc migrate` writes.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("x-kotalc-deprecated" = "Kotal deprecated Swarm; `kotalc migrate` rewrites it as Peers"))]
pub struct Swarm {
    /// Always `ipfs.kotal.io/v1alpha1`.
    #[schemars(extend("enum" = ["ipfs.kotal.io/v1alpha1"]))]
    pub api_version: String,
    /// Always `Swarm`.
    #[schemars(extend("enum" = ["Swarm"]))]
    pub kind: String,
    /// The resource's name, namespace, labels and annotations.
    pub metadata: ObjectMeta,
    /// Desired state of the swarm.
    pub spec: SwarmSpec,
}

/// Desired state of a swarm.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SwarmSpec {
    /// The nodes of the swarm, at least one, with unique names.
    #[schemars(extend("minItems" = 1))]
    pub nodes: Vec<SwarmNode>,
}

/// One IPFS node of a swarm.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SwarmNode {
    /// Name of the node, unique in the swarm; its Peer is named `<swarm>-<node>`.
    pub name: String,
    /// The node's libp2p peer ID; it must belong to `privateKey`.
    pub id: String,
    /// The node's base64 libp2p private key. Stored in plain text in the resource, and so in
    /// git: `kotalc migrate --cert` seals it.
    pub private_key: String,
    /// Profiles applied to the node. Datastore profiles are dropped by migration.
    #[schemars(extend("uniqueItems" = true))]
    pub profiles: Option<Vec<Profile>>,
    /// Compute and storage resources; unlike a Peer, memoryLimit may equal memory.
    pub resources: Option<Resources>,
}
