use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ObjectMeta, Profile, Resources};

/// An IPFS peer running kubo, joining the public IPFS network or a private swarm.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Peer {
    /// Always `ipfs.kotal.io/v1alpha1`.
    #[schemars(extend("enum" = ["ipfs.kotal.io/v1alpha1"]))]
    pub api_version: String,
    /// Always `Peer`.
    #[schemars(extend("enum" = ["Peer"]))]
    pub kind: String,
    /// The resource's name, namespace, labels and annotations.
    pub metadata: ObjectMeta,
    /// Desired state of the peer. May be `{}`: every field has a default.
    #[serde(default)]
    pub spec: PeerSpec,
}

/// Desired state of an IPFS peer.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerSpec {
    /// Container image of kubo. Default `kotalco/kubo:v0.28.0`.
    #[schemars(extend("default" = "kotalco/kubo:v0.28.0"))]
    pub image: Option<String>,
    /// `1` runs the peer, `0` stops it and keeps its data volume. Not a scaling knob: each
    /// peer has exactly one volume. Default `1`.
    #[schemars(extend("enum" = [0, 1], "default" = 1))]
    pub replicas: Option<u8>,
    /// Profiles applied once, when the repository is created (`ipfs init --profile`).
    /// Default `[default-datastore]`.
    #[schemars(extend("x-kotalc-immutable" = "the Kotal operator's update webhook refuses a change (`kotalc diff` reports it as refused): init profiles apply once, when the repository is created"))]
    #[schemars(extend("uniqueItems" = true, "default" = ["default-datastore"]))]
    pub init_profiles: Option<Vec<Profile>>,
    /// Profiles applied at every start, after initialisation. Datastore profiles do not
    /// belong here.
    #[schemars(extend("uniqueItems" = true))]
    pub profiles: Option<Vec<Profile>>,
    /// Bind the RPC API to all interfaces and expose it on the Service. Default `false`.
    #[schemars(extend("default" = false))]
    pub api: Option<bool>,
    /// Port of the RPC API. Default `5001`.
    #[schemars(range(min = 1, max = 65535), extend("default" = 5001))]
    pub api_port: Option<u16>,
    /// Bind the HTTP gateway to all interfaces and expose it on the Service. Default `false`.
    #[schemars(extend("default" = false))]
    pub gateway: Option<bool>,
    /// Port of the HTTP gateway. Default `8080`.
    #[schemars(range(min = 1, max = 65535), extend("default" = 8080))]
    pub gateway_port: Option<u16>,
    /// Content routing: `none`, `dht`, `dhtclient` or `dhtserver`. Default `dht`.
    pub routing: Option<Routing>,
    /// Name of a Secret holding the private swarm key under the data key `swarm.key`. Set
    /// it to join a private swarm.
    #[schemars(extend("x-kotalc-immutable" = "the Kotal operator's update webhook refuses a change (`kotalc diff` reports it as refused): a peer's swarm is fixed for its repository's life"))]
    pub swarm_key_secret_name: Option<String>,
    /// Log level of kubo. Default `info`.
    pub logging: Option<PeerLogging>,
    /// Extra command-line arguments for `ipfs daemon`, flag to value, each passed as one
    /// argument `--flag=value` (kubo's boolean flags take no separate value); `""` passes the
    /// flag alone. Emitted sorted by flag.
    pub extra_args: Option<BTreeMap<String, String>>,
    /// Compute and storage resources.
    pub resources: Option<Resources>,
}

/// Content routing mode of kubo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(extend("default" = "dht"))]
pub enum Routing {
    None,
    #[default]
    Dht,
    Dhtclient,
    Dhtserver,
}

impl Routing {
    pub fn as_str(self) -> &'static str {
        match self {
            Routing::None => "none",
            Routing::Dht => "dht",
            Routing::Dhtclient => "dhtclient",
            Routing::Dhtserver => "dhtserver",
        }
    }
}

/// Log level of kubo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(extend("default" = "info"))]
pub enum PeerLogging {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Notice,
}

impl PeerLogging {
    pub fn as_str(self) -> &'static str {
        match self {
            PeerLogging::Error => "error",
            PeerLogging::Warn => "warn",
            PeerLogging::Info => "info",
            PeerLogging::Debug => "debug",
            PeerLogging::Notice => "notice",
        }
    }
}
