use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ObjectMeta, Resources};

/// An IPFS Cluster peer (`ipfs-cluster-service`) that orchestrates pins over an IPFS peer.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterPeer {
    /// Always `ipfs.kotal.io/v1alpha1`.
    #[schemars(extend("enum" = ["ipfs.kotal.io/v1alpha1"]))]
    pub api_version: String,
    /// Always `ClusterPeer`.
    #[schemars(extend("enum" = ["ClusterPeer"]))]
    pub kind: String,
    /// The resource's name, namespace, labels and annotations.
    pub metadata: ObjectMeta,
    /// Desired state of the cluster peer.
    pub spec: ClusterPeerSpec,
}

/// Desired state of an IPFS Cluster peer.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("dependentRequired" = {"id": ["privateKeySecretName"], "privateKeySecretName": ["id"]}))]
pub struct ClusterPeerSpec {
    /// Container image of ipfs-cluster-service. Default `kotalco/ipfs-cluster:v1.0.8`.
    #[schemars(extend("default" = "kotalco/ipfs-cluster:v1.0.8"))]
    pub image: Option<String>,
    /// `1` runs the cluster peer, `0` stops it and keeps its data volume. Default `1`.
    #[schemars(extend("enum" = [0, 1], "default" = 1))]
    pub replicas: Option<u8>,
    /// Fixed libp2p peer ID of this cluster peer (`12D3KooW…`). Requires
    /// `privateKeySecretName`, whose key it must match.
    #[schemars(extend("x-kotalc-immutable" = "the Kotal operator's update webhook refuses a change (`kotalc diff` reports it as refused): a new identity is a new cluster peer"))]
    pub id: Option<String>,
    /// Name of a Secret holding this peer's base64 libp2p private key under the data key
    /// `key`. Requires `id`.
    #[schemars(extend("x-kotalc-immutable" = "the Kotal operator's update webhook refuses a change (`kotalc diff` reports it as refused): the private key is the peer's identity, paired with id"))]
    pub private_key_secret_name: Option<String>,
    /// Peers trusted to modify the pinset in CRDT mode: peer IDs, or `*` for every peer.
    /// Default `["*"]`.
    #[schemars(extend("uniqueItems" = true, "default" = ["*"]))]
    pub trusted_peers: Option<Vec<String>>,
    /// Cluster peers to join at start, as multiaddrs ending in `/p2p/<peer ID>`.
    #[schemars(extend("uniqueItems" = true))]
    pub bootstrap_peers: Option<Vec<String>>,
    /// Consensus component: `crdt` or `raft`. Default `crdt`.
    #[schemars(extend("x-kotalc-immutable" = "the Kotal operator's update webhook refuses a change (`kotalc diff` reports it as refused): the consensus is chosen when the cluster state is created, on the volume"))]
    pub consensus: Option<Consensus>,
    /// Name of a Secret holding the cluster secret (64 hex characters) under the data key
    /// `secret`. Every peer of a cluster shares it.
    pub cluster_secret_name: String,
    /// Multiaddr of the kubo RPC API this cluster peer drives, as `/dns4/<peer>/tcp/5001`.
    pub peer_endpoint: String,
    /// Log level of ipfs-cluster-service. Default `info`.
    pub logging: Option<ClusterLogging>,
    /// Extra command-line arguments for `ipfs-cluster-service daemon`, flag to value; `""`
    /// passes the flag alone. Emitted sorted by flag.
    pub extra_args: Option<BTreeMap<String, String>>,
    /// Compute and storage resources.
    pub resources: Option<Resources>,
}

/// Consensus component of IPFS Cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(extend("default" = "crdt"))]
pub enum Consensus {
    #[default]
    Crdt,
    Raft,
}

impl Consensus {
    pub fn as_str(self) -> &'static str {
        match self {
            Consensus::Crdt => "crdt",
            Consensus::Raft => "raft",
        }
    }
}

/// Log level of ipfs-cluster-service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(extend("default" = "info"))]
pub enum ClusterLogging {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
}

impl ClusterLogging {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterLogging::Error => "error",
            ClusterLogging::Warn => "warn",
            ClusterLogging::Info => "info",
            ClusterLogging::Debug => "debug",
        }
    }
}
