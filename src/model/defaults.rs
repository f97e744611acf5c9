//! Fills in every default of spec sections 1.1-1.3, producing the fully resolved
//! configuration that validation checks and templates render.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ipfs::multiaddr;
use crate::kube::quantity;
use crate::model::annotations;
use crate::model::{
    ClusterLogging, ClusterPeerSpec, Consensus, PeerLogging, PeerSpec, Profile, Resources, Routing,
};

pub const PEER_IMAGE: &str = "kotalco/kubo:v0.28.0";
pub const CLUSTER_PEER_IMAGE: &str = "kotalco/ipfs-cluster:v1.0.8";

/// A resolved quantity: what the user wrote (or the default), and its exact value.
#[derive(Clone, Debug)]
pub struct Quantity {
    /// As written, for messages.
    pub written: String,
    pub defaulted: bool,
    /// `None` when the number does not fit; validation reports it.
    pub value: Option<u128>,
    /// The canonical spelling rendered into manifests.
    pub canonical: String,
}

/// Templates see only the canonical spelling.
impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical)
    }
}

impl Quantity {
    fn cpu(given: Option<&String>, default: &str) -> Quantity {
        let written = given.map_or(default, String::as_str).to_string();
        let value = quantity::cpu_millis(&written).map(u128::from);
        let canonical = value
            .and_then(|v| u64::try_from(v).ok())
            .map_or_else(|| written.clone(), quantity::canonical_cpu);
        Quantity {
            defaulted: given.is_none(),
            value,
            canonical,
            written,
        }
    }

    fn bytes(given: Option<&String>, default: &str) -> Quantity {
        let written = given.map_or(default, String::as_str).to_string();
        let value = quantity::bytes(&written);
        let canonical = value.map_or_else(|| written.clone(), quantity::canonical_bytes);
        Quantity {
            defaulted: given.is_none(),
            value,
            canonical,
            written,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Compute {
    pub cpu: Quantity,
    pub cpu_limit: Quantity,
    pub memory: Quantity,
    pub memory_limit: Quantity,
    pub storage: Quantity,
    pub storage_class: Option<String>,
}

pub fn compute(resources: Option<&Resources>) -> Compute {
    let r = resources.cloned().unwrap_or_default();
    Compute {
        cpu: Quantity::cpu(r.cpu.as_ref(), "1"),
        cpu_limit: Quantity::cpu(r.cpu_limit.as_ref(), "2"),
        memory: Quantity::bytes(r.memory.as_ref(), "2Gi"),
        memory_limit: Quantity::bytes(r.memory_limit.as_ref(), "4Gi"),
        storage: Quantity::bytes(r.storage.as_ref(), "10Gi"),
        storage_class: r.storage_class,
    }
}

/// A Peer with every default applied.
#[derive(Clone, Debug, Serialize)]
pub struct PeerConfig {
    pub image: String,
    pub replicas: u8,
    pub init_profiles: Vec<Profile>,
    pub profiles: Vec<Profile>,
    pub api: bool,
    pub api_port: u16,
    pub gateway: bool,
    pub gateway_port: u16,
    pub routing: Routing,
    pub swarm_key_secret_name: Option<String>,
    pub logging: PeerLogging,
    pub extra_args: BTreeMap<String, String>,
    pub resources: Compute,
    /// From `kotalc.io/peer-id` and `kotalc.io/identity-secret`, when both are set.
    pub identity: Option<Identity>,
    /// `Peering.Peers` as kubo's JSON, from `kotalc.io/peering`; `[]` clears the list.
    pub peering: Option<String>,
    /// `kotalc.io/peering` as written, for the NetworkPolicy's egress.
    #[serde(skip)]
    pub peering_list: Option<String>,
    #[serde(skip)]
    pub policy: crate::model::policy::Settings,
    /// Memory and storage settings from the limits (`kotalc.io/go-memory-limit`, ...).
    pub runtime: crate::model::runtime::Runtime,
    /// The Prometheus pods that scrape it (`kotalc.io/monitoring` or `--monitoring`).
    #[serde(skip)]
    pub monitoring: Vec<crate::model::policy::Client>,
    /// The gateway exposed outside the cluster (`kotalc.io/gateway-host`); malformed
    /// annotations are reported by the checks and read as none.
    pub exposure: Option<crate::model::gateway::Exposure>,
}

/// A fixed peer identity: the ID, and the Secret whose data key `key` holds its private key.
#[derive(Clone, Debug, Serialize)]
pub struct Identity {
    pub peer_id: String,
    pub secret: String,
}

/// One entry of kubo's `Peering.Peers`.
#[derive(Serialize)]
struct PeeringPeer {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Addrs")]
    addrs: Vec<String>,
}

/// The `kotalc.io/peering` list as kubo's `Peering.Peers`: addresses grouped by peer ID, in
/// the order the IDs first appear. Entries that do not parse are reported by validation.
fn peering(list: &str) -> String {
    let mut peers: Vec<PeeringPeer> = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Ok(address) = multiaddr::parse(entry, multiaddr::Shape::WithPeer) else {
            continue;
        };
        let Some((written, id)) = address.peer else {
            continue;
        };
        let addr = entry
            .strip_suffix(&format!("/p2p/{written}"))
            .unwrap_or(entry)
            .to_string();
        let id = id.to_base58();
        match peers.iter_mut().find(|p| p.id == id) {
            Some(peer) if !peer.addrs.contains(&addr) => peer.addrs.push(addr),
            Some(_) => {}
            None => peers.push(PeeringPeer {
                id,
                addrs: vec![addr],
            }),
        }
    }
    serde_json::to_string(&peers).unwrap_or_else(|_| "[]".into())
}

pub fn peer(spec: &PeerSpec, annotations: &BTreeMap<String, String>) -> PeerConfig {
    let identity = match (
        annotations.get(annotations::PEER_ID),
        annotations.get(annotations::IDENTITY_SECRET),
    ) {
        (Some(peer_id), Some(secret)) => Some(Identity {
            peer_id: peer_id.clone(),
            secret: secret.clone(),
        }),
        _ => None,
    };
    let resources = compute(spec.resources.as_ref());
    PeerConfig {
        image: spec.image.clone().unwrap_or_else(|| PEER_IMAGE.into()),
        replicas: spec.replicas.unwrap_or(1),
        // The operator's defaulting replaces an empty list too.
        init_profiles: spec
            .init_profiles
            .clone()
            .filter(|profiles| !profiles.is_empty())
            .unwrap_or_else(|| vec![Profile::DefaultDatastore]),
        profiles: spec.profiles.clone().unwrap_or_default(),
        api: spec.api.unwrap_or(false),
        api_port: spec.api_port.unwrap_or(5001),
        gateway: spec.gateway.unwrap_or(false),
        gateway_port: spec.gateway_port.unwrap_or(8080),
        routing: spec.routing.unwrap_or_default(),
        swarm_key_secret_name: spec.swarm_key_secret_name.clone(),
        logging: spec.logging.unwrap_or_default(),
        extra_args: spec.extra_args.clone().unwrap_or_default(),
        runtime: crate::model::runtime::peer(
            resources.memory_limit.value,
            resources.storage.value,
            annotations,
        ),
        resources,
        monitoring: crate::model::monitoring::scrapers(
            annotations.get(annotations::MONITORING).map(String::as_str),
            None,
        ),
        identity,
        exposure: crate::model::gateway::exposure(annotations).ok().flatten(),
        peering: annotations
            .get(annotations::PEERING)
            .map(|list| peering(list)),
        peering_list: annotations.get(annotations::PEERING).cloned(),
        policy: crate::model::policy::settings(annotations),
    }
}

/// A ClusterPeer with every default applied.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterPeerConfig {
    pub image: String,
    pub replicas: u8,
    pub id: Option<String>,
    pub private_key_secret_name: Option<String>,
    pub trusted_peers: Vec<String>,
    pub bootstrap_peers: Vec<String>,
    pub consensus: Consensus,
    pub cluster_secret_name: String,
    pub peer_endpoint: String,
    pub logging: ClusterLogging,
    pub extra_args: BTreeMap<String, String>,
    pub resources: Compute,
    /// From `kotalc.io/rest-credentials-secret`: the Secret of the REST API's credentials.
    pub rest_credentials_secret: Option<String>,
    #[serde(skip)]
    pub policy: crate::model::policy::Settings,
    /// `GOMEMLIMIT` from the memory limit (`kotalc.io/go-memory-limit`).
    pub runtime: crate::model::runtime::Runtime,
    /// The Prometheus pods that scrape it (`kotalc.io/monitoring` or `--monitoring`).
    #[serde(skip)]
    pub monitoring: Vec<crate::model::policy::Client>,
}

pub fn cluster_peer(
    spec: &ClusterPeerSpec,
    annotations: &BTreeMap<String, String>,
) -> ClusterPeerConfig {
    let trusted = spec.trusted_peers.clone().unwrap_or_default();
    let resources = compute(spec.resources.as_ref());
    ClusterPeerConfig {
        image: spec
            .image
            .clone()
            .unwrap_or_else(|| CLUSTER_PEER_IMAGE.into()),
        replicas: spec.replicas.unwrap_or(1),
        id: spec.id.clone(),
        private_key_secret_name: spec.private_key_secret_name.clone(),
        trusted_peers: if trusted.is_empty() {
            vec!["*".into()]
        } else {
            trusted
        },
        bootstrap_peers: spec.bootstrap_peers.clone().unwrap_or_default(),
        consensus: spec.consensus.unwrap_or_default(),
        cluster_secret_name: spec.cluster_secret_name.clone(),
        peer_endpoint: spec.peer_endpoint.clone(),
        logging: spec.logging.unwrap_or_default(),
        extra_args: spec.extra_args.clone().unwrap_or_default(),
        runtime: crate::model::runtime::cluster_peer(resources.memory_limit.value, annotations),
        resources,
        monitoring: crate::model::monitoring::scrapers(
            annotations.get(annotations::MONITORING).map(String::as_str),
            None,
        ),
        rest_credentials_secret: annotations
            .get(annotations::REST_CREDENTIALS_SECRET)
            .cloned(),
        policy: crate::model::policy::settings(annotations),
    }
}

/// A resource's configuration after defaults.
#[derive(Clone, Debug)]
pub enum Config {
    Peer(PeerConfig),
    ClusterPeer(ClusterPeerConfig),
}

impl Config {
    pub fn compute(&self) -> &Compute {
        match self {
            Config::Peer(p) => &p.resources,
            Config::ClusterPeer(c) => &c.resources,
        }
    }

    /// The Prometheus pods that scrape it.
    pub fn monitoring(&self) -> &[crate::model::policy::Client] {
        match self {
            Config::Peer(p) => &p.monitoring,
            Config::ClusterPeer(c) => &c.monitoring,
        }
    }

    /// Scraped by the run's `--monitoring` pods, unless its own annotation says otherwise.
    pub fn monitor_by_default(&mut self, annotation: Option<&str>, run: Option<&str>) {
        let scrapers = crate::model::monitoring::scrapers(annotation, run);
        match self {
            // kubo's metrics are on the RPC API: --monitoring leaves a Peer whose API listens
            // on 127.0.0.1 alone (its own annotation asking for it is an error).
            Config::Peer(p) if !p.api && annotation.is_none() => p.monitoring = Vec::new(),
            Config::Peer(p) => p.monitoring = scrapers,
            Config::ClusterPeer(c) => c.monitoring = scrapers,
        }
    }

    /// What its annotations say about its NetworkPolicy.
    pub fn policy(&self) -> &crate::model::policy::Settings {
        match self {
            Config::Peer(p) => &p.policy,
            Config::ClusterPeer(c) => &c.policy,
        }
    }

    pub fn policy_mut(&mut self) -> &mut crate::model::policy::Settings {
        match self {
            Config::Peer(p) => &mut p.policy,
            Config::ClusterPeer(c) => &mut c.policy,
        }
    }
}
