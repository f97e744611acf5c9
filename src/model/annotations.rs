//! `kotalc.io/*` annotations: directives to kotalc on a resource, never copied to the output.
//! An unknown one is an error, because a misspelt directive would otherwise do nothing.

use std::collections::BTreeSet;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::input::yaml::Value;
use crate::model::Kind;
use crate::model::parse::Resource;

pub const PREFIX: &str = "kotalc.io/";
/// `kotalc.io/allow: <code>[,<code>...]` silences the named warnings for the resource.
pub const ALLOW: &str = "kotalc.io/allow";

/// `kotalc.io/allow-change: <field>[,<field>...]`: a change `kotalc diff` reports as refused or
/// destructive is intended (a deliberate recreation), so `--fail-on destructive` passes it.
pub const ALLOW_CHANGE: &str = "kotalc.io/allow-change";

/// A Peer's fixed libp2p identity: its peer ID, and the Secret holding its private key.
pub const PEER_ID: &str = "kotalc.io/peer-id";
pub const IDENTITY_SECRET: &str = "kotalc.io/identity-secret";
/// A Peer's `Peering.Peers`: multiaddrs ending in `/p2p/<peer ID>`, comma-separated.
pub const PEERING: &str = "kotalc.io/peering";

/// `kotalc.io/network-policies: "false"`: no NetworkPolicy for the resource, for a cluster
/// whose network plugin enforces none or whose clients are not yet known.
pub const NETWORK_POLICIES: &str = "kotalc.io/network-policies";
/// Clients, besides those kotalc knows, that the resource's NetworkPolicy admits to its APIs
/// (a Peer's RPC API; a ClusterPeer's REST API, proxy and metrics): comma-separated
/// `KEY=VALUE` (pods of the resource's namespace with that label), `NS:KEY=VALUE` (such pods
/// of namespace NS) or `NS:*` (every pod of NS).
pub const API_CLIENTS: &str = "kotalc.io/api-clients";
/// `kotalc.io/open-egress: "true"`: the resource's pods may connect anywhere, as kubo's repo
/// migration needs to download it during an upgrade.
pub const OPEN_EGRESS: &str = "kotalc.io/open-egress";
/// Where the resource's pods may send DNS queries (53/UDP+TCP), for a cluster whose DNS is not
/// kube-system's kube-dns pods: comma-separated `NS:KEY=VALUE`, `NS:*`, or IP addresses and
/// CIDRs.
pub const CLUSTER_DNS: &str = "kotalc.io/cluster-dns";
/// A ClusterPeer's REST API credentials: the Secret whose data key `credentials` holds
/// `USER:PASSWORD`.
pub const REST_CREDENTIALS_SECRET: &str = "kotalc.io/rest-credentials-secret";

/// `GOMEMLIMIT` of a resource's daemon: a quantity (`3Gi`), or `off` to set none; without it,
/// a share of the container's memory limit (see [`crate::model::runtime`]).
pub const GO_MEMORY_LIMIT: &str = "kotalc.io/go-memory-limit";
/// A Peer's `Swarm.ResourceMgr.MaxMemory`: a quantity, or `off` to leave it to kubo.
pub const RESOURCE_MANAGER_MEMORY: &str = "kotalc.io/resource-manager-memory";
/// A Peer's `Datastore.StorageMax`: a quantity, or `off` to leave it to kubo.
pub const STORAGE_MAX: &str = "kotalc.io/storage-max";

/// The Prometheus pods that scrape the resource (`NS:KEY=VALUE`, ...), or `off` to leave it
/// out of `--monitoring`: a PodMonitor, and a NetworkPolicy grant to its metrics port.
pub const MONITORING: &str = "kotalc.io/monitoring";

/// A Peer's gateway exposed outside the cluster (see [`crate::model::gateway`]).
pub const GATEWAY_HOST: &str = "kotalc.io/gateway-host";
pub const GATEWAY_PARENT: &str = "kotalc.io/gateway-parent";
pub const GATEWAY_CONTROLLER_NAMESPACE: &str = "kotalc.io/gateway-controller-namespace";
pub const GATEWAY_SUBDOMAINS: &str = "kotalc.io/gateway-subdomains";

/// Every directive and what it does; `explain` and the man pages list them from here.
pub const DIRECTIVES: &[(&str, &str)] = &[
    (
        ALLOW,
        "warning codes, comma-separated, that this resource silences (`badgerds, \
         init-only-profile`); an unknown code, or an error's, is an error",
    ),
    (
        ALLOW_CHANGE,
        "fields, comma-separated, whose refused or destructive change `kotalc diff --fail-on \
         destructive` passes as intended (`spec.consensus`, \
         `PersistentVolumeClaim.spec.storageClassName`); `PersistentVolumeClaim` on a resource \
         that is removed allows the loss of its claim",
    ),
    (
        IDENTITY_SECRET,
        "Peers only: the Secret whose `key` holds the private key of kotalc.io/peer-id; set \
         both or neither",
    ),
    (
        PEER_ID,
        "Peers only: the Peer's fixed libp2p peer ID, written with its private key into the \
         repository when it is created",
    ),
    (
        PEERING,
        "Peers only: kubo's Peering.Peers, multiaddrs ending in /p2p/<peer ID>, \
         comma-separated; set at every start, and an empty value clears it",
    ),
    (
        NETWORK_POLICIES,
        "`\"false\"`: no NetworkPolicy for this resource, for a cluster whose network plugin \
         enforces none or whose clients are not yet known",
    ),
    (
        API_CLIENTS,
        "more clients that the resource's NetworkPolicy admits to its APIs (a Peer's RPC API; \
         a ClusterPeer's REST API, proxy and metrics), comma-separated: `KEY=VALUE` (pods of \
         this namespace), `NS:KEY=VALUE` (such pods of NS), `NS:*` (every pod of NS)",
    ),
    (
        OPEN_EGRESS,
        "`\"true\"`: the resource's pods may connect anywhere, as kubo's repo migration needs \
         during an upgrade",
    ),
    (
        CLUSTER_DNS,
        "where the NetworkPolicy lets a private Peer or a ClusterPeer send DNS queries \
         (53/UDP+TCP), comma-separated: `NS:KEY=VALUE` (pods of NS with that label), `NS:*`, or \
         an IP address or CIDR; by default `kube-system:k8s-app=kube-dns` (or `--cluster-dns`)",
    ),
    (
        REST_CREDENTIALS_SECRET,
        "ClusterPeers only: the Secret whose `credentials` key holds the REST API's \
         `USER:PASSWORD`",
    ),
    (
        GO_MEMORY_LIMIT,
        "the daemon's GOMEMLIMIT, a quantity (`3Gi`), or `off` to set none (the image's \
         environment then decides); default 80% of the memory limit",
    ),
    (
        RESOURCE_MANAGER_MEMORY,
        "Peers only: kubo's Swarm.ResourceMgr.MaxMemory, a quantity (`2Gi`), or `off` to leave \
         what the repository holds; default 50% of the memory limit",
    ),
    (
        STORAGE_MAX,
        "Peers only: kubo's Datastore.StorageMax, a quantity (`90Gi`), or `off` to leave what \
         the repository holds (and its StorageGCWatermark); default 90% of the storage claim, \
         with StorageGCWatermark 90",
    ),
    (
        MONITORING,
        "the Prometheus pods that scrape this resource, comma-separated `NS:KEY=VALUE`, \
         `NS:*` or `KEY=VALUE` (this namespace), or `off` to leave it out of --monitoring: a \
         PodMonitor for its metrics, which its NetworkPolicy opens to those pods alone (a \
         Peer's on its RPC API port, so it needs `api: true`)",
    ),
    (
        GATEWAY_HOST,
        "Peers only, with `gateway: true`: expose the gateway port (never the RPC API) at this \
         host, through an HTTPRoute (with kotalc.io/gateway-parent) or an Ingress, and set \
         kubo's Gateway.PublicGateways to match; needs kotalc.io/gateway-controller-namespace",
    ),
    (
        GATEWAY_PARENT,
        "Peers only: `NAMESPACE/NAME` of the Gateway API Gateway the HTTPRoute attaches to; \
         without it, an Ingress is rendered",
    ),
    (
        GATEWAY_CONTROLLER_NAMESPACE,
        "Peers only: the namespace of the ingress or gateway controller's pods, the only ones \
         the NetworkPolicy admits to the exposed gateway port",
    ),
    (
        GATEWAY_SUBDOMAINS,
        "Peers only: `\"true\"` (default) for a subdomain gateway, `<cid>.ipfs.<host>` and \
         `<name>.ipns.<host>`; `\"false\"` for a path gateway, `<host>/ipfs/<cid>`",
    ),
];

/// The directives a resource of `kind` may carry, with what each does.
pub fn directives(kind: Kind) -> impl Iterator<Item = (&'static str, &'static str)> {
    DIRECTIVES.iter().copied().filter(move |(name, _)| {
        (kind == Kind::Peer || !PEER_ONLY.contains(name))
            && (kind == Kind::ClusterPeer || !CLUSTER_PEER_ONLY.contains(name))
    })
}

fn known() -> impl Iterator<Item = &'static str> + Clone {
    DIRECTIVES.iter().map(|(name, _)| *name)
}

/// The entries of a comma-separated annotation value.
pub fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|n| !n.is_empty())
}
/// The annotations that extend a Peer; other kinds refuse them.
const PEER_ONLY: &[&str] = &[
    IDENTITY_SECRET,
    PEERING,
    PEER_ID,
    RESOURCE_MANAGER_MEMORY,
    STORAGE_MAX,
    GATEWAY_HOST,
    GATEWAY_PARENT,
    GATEWAY_CONTROLLER_NAMESPACE,
    GATEWAY_SUBDOMAINS,
];
/// The annotations that extend a ClusterPeer; other kinds refuse them.
const CLUSTER_PEER_ONLY: &[&str] = &[REST_CREDENTIALS_SECRET];
/// Directives that the resource's own checks read; here they are only known.
const CHECKED_ELSEWHERE: &[&str] = &[
    API_CLIENTS,
    CLUSTER_DNS,
    NETWORK_POLICIES,
    OPEN_EGRESS,
    GO_MEMORY_LIMIT,
    MONITORING,
];

/// The warning codes a resource allows, reporting every `kotalc.io/*` annotation that is
/// unknown or malformed.
pub fn allowed(resource: &Resource, diagnostics: &mut Vec<Diagnostic>) -> BTreeSet<Code> {
    let mut allowed = BTreeSet::new();
    let Some(Value::Map(entries)) = resource
        .root
        .at("metadata.annotations")
        .map(|node| &node.value)
    else {
        return allowed;
    };
    for (key, value) in entries {
        if !key.name.starts_with(PREFIX) {
            continue;
        }
        let field = format!("metadata.annotations[{}]", key.name);
        if !known().any(|k| k == key.name) {
            let help = match crate::diagnostic::suggest(&key.name, known()) {
                Some(known) => format!("did you mean {known:?}?"),
                None => format!("kotalc knows {}", known().collect::<Vec<_>>().join(", ")),
            };
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidAnnotation,
                    format!("unknown annotation {:?}", key.name),
                )
                .at(key.span)
                .field(field)
                .help(help),
            );
            continue;
        }
        let only = if PEER_ONLY.contains(&key.name.as_str()) {
            Some(Kind::Peer)
        } else if CLUSTER_PEER_ONLY.contains(&key.name.as_str()) {
            Some(Kind::ClusterPeer)
        } else {
            None
        };
        if let Some(kind) = only {
            if resource.kind != kind {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidAnnotation,
                        format!(
                            "{:?} extends a {}, not a {}",
                            key.name,
                            kind.name(),
                            resource.kind.name()
                        ),
                    )
                    .at(key.span)
                    .field(field),
                );
            }
            continue;
        }
        if CHECKED_ELSEWHERE.contains(&key.name.as_str()) {
            continue;
        }
        // A value of the wrong type is reported by the schema check.
        let Some(text) = value.as_str() else { continue };
        if key.name == ALLOW_CHANGE {
            let fields = crate::model::annotations::CHANGE_FIELDS;
            for name in list(text).filter(|n| !fields.contains(n)) {
                let help = match crate::diagnostic::suggest(name, fields.iter().copied()) {
                    Some(known) => format!("did you mean {known:?}?"),
                    None => format!("the fields are {}", fields.join(", ")),
                };
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidAnnotation,
                        format!("{name:?} is not a field whose change kotalc diff refuses"),
                    )
                    .at(value.span)
                    .field(&field)
                    .help(help),
                );
            }
            continue;
        }
        for name in list(text) {
            match allowable(name) {
                Ok(code) => {
                    allowed.insert(code);
                }
                Err((message, help)) => {
                    let mut diagnostic = Diagnostic::new(Code::InvalidAnnotation, message)
                        .at(value.span)
                        .field(&field);
                    diagnostic.help = help.into_iter().collect();
                    diagnostics.push(diagnostic);
                }
            }
        }
    }
    allowed
}

/// The warning code `name` is, or why it cannot be allowed: the message, and for a name that
/// is no code, the codes it may have meant.
fn allowable(name: &str) -> Result<Code, (String, Option<String>)> {
    let warnings = || {
        Code::ALL
            .iter()
            .filter(|c| c.default_severity() == Severity::Warning)
            .map(|c| c.as_str())
    };
    match Code::ALL.iter().find(|c| c.as_str() == name) {
        Some(code) if code.default_severity() == Severity::Warning => Ok(*code),
        Some(code) => Err((
            format!(
                "{:?} is an error, and only warnings can be allowed",
                code.as_str()
            ),
            None,
        )),
        None => {
            let help = match crate::diagnostic::suggest(name, warnings()) {
                Some(known) => format!("did you mean {known:?}?"),
                None => format!(
                    "the warnings are {}",
                    warnings().collect::<Vec<_>>().join(", ")
                ),
            };
            Err((format!("{name:?} is not a kotalc warning code"), Some(help)))
        }
    }
}

/// A warning code allowed for a whole run (`--allow`, `allow` in a plugin or function
/// configuration, `KOTALC_ALLOW`): the same codes the annotation takes; anything else is a
/// usage error that names the codes.
pub fn run_allow(name: &str) -> Result<Code, String> {
    allowable(name.trim()).map_err(|(message, help)| match help {
        Some(help) => format!("{message}; {help}"),
        None => message,
    })
}

/// A comma-separated list of run-wide allowed codes.
pub fn run_allow_list(text: &str) -> Result<Vec<Code>, String> {
    list(text).map(run_allow).collect()
}

/// The fields `kotalc.io/allow-change` can name: every finding that is refused or
/// destructive.
pub const CHANGE_FIELDS: &[&str] = &[
    "spec.swarmKeySecretName",
    "spec.initProfiles",
    "spec.consensus",
    "spec.id",
    "spec.privateKeySecretName",
    "StatefulSet.spec.selector",
    "StatefulSet.spec.serviceName",
    "StatefulSet.spec.volumeClaimTemplates",
    "StatefulSet.spec.podManagementPolicy",
    "PersistentVolumeClaim.spec.resources.requests.storage",
    "PersistentVolumeClaim.spec.storageClassName",
    "PersistentVolumeClaim.spec.accessModes",
    "PersistentVolumeClaim.spec",
    "PersistentVolumeClaim",
    "Service.spec.clusterIP",
    "Service.spec.type",
];
