use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Standard Kubernetes object metadata, restricted to what a resource in git sets.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectMeta {
    #[schemars(extend("x-kotalc-immutable" = "renaming renders new objects and a new, empty data volume"))]
    /// Name of the resource. Every rendered object (ConfigMap, Service, PersistentVolumeClaim,
    /// StatefulSet) takes this name. A DNS-1123 label of at most 52 characters, so that the
    /// StatefulSet's pod and revision labels stay valid.
    pub name: String,
    /// Namespace of the resource. When absent the output carries no namespace (Argo CD, Flux
    /// and kustomize set it) unless `--namespace` gives a default.
    #[schemars(extend("x-kotalc-immutable" = "moving renders new objects and a new, empty data volume"))]
    pub namespace: Option<String>,
    /// Labels, copied onto every rendered object and the pod template. Kotal's own labels win
    /// on conflict; the selector uses only Kotal's labels, so these can change freely.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations, copied onto every rendered object. `kotalc.io/*` annotations are
    /// directives to kotalc and are not copied; `kotalc explain` lists those each kind reads.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Compute and storage resources of a node.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// CPU cores requested, as whole cores or millicores (`2`, `500m`). Default `1`.
    #[schemars(regex(pattern = r"^[1-9][0-9]*m?$"), extend("default" = "1"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// CPU cores the node is limited to; at least `cpu`. Default `2`.
    #[schemars(regex(pattern = r"^[1-9][0-9]*m?$"), extend("default" = "2"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<String>,
    /// Memory requested, in binary units (`512Mi`, `2Gi`). Default `2Gi`.
    #[schemars(regex(pattern = r"^[1-9][0-9]*[KMGTPE]i$"), extend("default" = "2Gi"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Memory the node is limited to; strictly more than `memory`. Default `4Gi`.
    #[schemars(regex(pattern = r"^[1-9][0-9]*[KMGTPE]i$"), extend("default" = "4Gi"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<String>,
    /// Size of the data volume (PersistentVolumeClaim). Default `10Gi`. It can only grow: the
    /// API server refuses to shrink a claim.
    #[schemars(regex(pattern = r"^[1-9][0-9]*[KMGTPE]i$"), extend("default" = "10Gi"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// StorageClass of the data volume. Default: the cluster's default StorageClass.
    #[schemars(extend("x-kotalc-immutable" = "a PersistentVolumeClaim's storageClass cannot change once it has one; the claim must be recreated, and its data moved (a claim created without one, in a cluster without a default class, may be given one)"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// An IPFS configuration profile, as `ipfs config profile apply` knows them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Server,
    Randomports,
    DefaultDatastore,
    LocalDiscovery,
    Test,
    DefaultNetworking,
    Flatfs,
    Badgerds,
    Lowpower,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Server => "server",
            Profile::Randomports => "randomports",
            Profile::DefaultDatastore => "default-datastore",
            Profile::LocalDiscovery => "local-discovery",
            Profile::Test => "test",
            Profile::DefaultNetworking => "default-networking",
            Profile::Flatfs => "flatfs",
            Profile::Badgerds => "badgerds",
            Profile::Lowpower => "lowpower",
        }
    }
}
