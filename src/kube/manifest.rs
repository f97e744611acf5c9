//! The words every layer uses of a Kubernetes object: the object itself, what identifies it,
//! its key `Kind namespace/name`, the kinds kotalc renders and the order they are written in,
//! and the file an object is written to.

use serde_json::Value as J;

use crate::diagnostic::source::Span;

/// A rendered Kubernetes object in canonical form.
#[derive(Clone, Debug)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// The object as data; `Null` once dropped by a lean compile, which keeps only `yaml`.
    pub value: J,
    /// The canonical YAML written to the output, made where the object is made (in parallel).
    pub yaml: String,
    /// The resource or document it came from.
    pub origin: Span,
}

impl Object {
    pub fn from_value(value: J, origin: Span) -> Object {
        let Identity {
            api_version,
            kind,
            namespace,
            name,
        } = Identity::of(&value);
        let mut yaml = crate::diagnostic::manifest_text(&value).unwrap_or_default();
        // Held until the whole output is sorted: no spare capacity.
        yaml.shrink_to_fit();
        Object {
            api_version,
            kind,
            namespace,
            name,
            yaml,
            value,
            origin,
        }
    }

    pub fn key(&self) -> Key {
        Key::new(&self.kind, self.namespace.as_deref(), &self.name)
    }

    /// Whether `self` comes strictly before `other` in the output.
    pub fn before(&self, other: &Object) -> bool {
        self.order(other).is_lt()
    }

    /// The output order: by kind (see [`rank`]), then namespace, name and apiVersion.
    pub fn order(&self, other: &Object) -> std::cmp::Ordering {
        (
            rank(&self.kind),
            &self.kind,
            &self.namespace,
            &self.name,
            &self.api_version,
        )
            .cmp(&(
                rank(&other.kind),
                &other.kind,
                &other.namespace,
                &other.name,
                &other.api_version,
            ))
    }
}

/// Objects in output order.
pub fn sort(objects: &mut [Object]) {
    objects.sort_by(Object::order);
}

/// What identifies an object in a cluster: apiVersion, kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl Identity {
    /// Read by reference, so checks over whole documents clone nothing.
    pub fn of(value: &J) -> Identity {
        let text = |v: Option<&J>| v.and_then(J::as_str).unwrap_or_default().to_string();
        let meta = value.get("metadata");
        Identity {
            api_version: text(value.get("apiVersion")),
            kind: text(value.get("kind")),
            namespace: meta
                .and_then(|m| m.get("namespace"))
                .and_then(J::as_str)
                .map(String::from),
            name: text(meta.and_then(|m| m.get("name"))),
        }
    }

    pub fn key(&self) -> Key {
        Key::new(&self.kind, self.namespace.as_deref(), &self.name)
    }
}

/// An object's kind, namespace and name: what one object of the output is told apart by.
/// Shown as `Kind namespace/name`, or `Kind name` without a namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl Key {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Key {
        Key {
            kind: kind.to_string(),
            namespace: namespace.map(String::from),
            name: name.to_string(),
        }
    }

    /// The key of an object given as data; a missing field reads as empty.
    pub fn of(value: &J) -> Key {
        Identity::of(value).key()
    }

    /// `namespace/name`, or `name` without a namespace.
    pub fn place(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The file the object is written to, see [`file`].
    pub fn file(&self) -> String {
        file(&self.kind, self.namespace.as_deref(), &self.name)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.place())
    }
}

/// The file an object is written to, relative to an output directory (`build -o`, `import
/// -o`, `kotalc seal -o`): `<namespace>/<kind>-<name>.yaml`, its kind lowercased, and
/// without a namespace `<kind>-<name>.yaml`.
pub fn file(kind: &str, namespace: Option<&str>, name: &str) -> String {
    let file = format!("{}-{name}.yaml", kind.to_lowercase());
    match namespace {
        Some(ns) => format!("{ns}/{file}"),
        None => file,
    }
}

/// [`file`], or `None` when a component could leave the directory or name kotalc's own
/// files. Names are checked as Kubernetes names long before this: this is the last guard.
pub fn file_inside(key: &Key) -> Option<String> {
    let plain = crate::kube::names::path_component;
    let file = file(&key.kind, None, &key.name);
    (plain(&file) && key.namespace.as_deref().is_none_or(plain)).then(|| key.file())
}

/// Where objects of a kind come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Secrets kotalc plans for the resources, or documents passed through.
    Secret,
    /// One per resource whose NetworkPolicy is on, made in Rust.
    Policy,
    /// One per resource, from the template a Peer renders it with and the one a ClusterPeer
    /// does.
    Template {
        peer: &'static str,
        cluster_peer: &'static str,
    },
}

/// A kind with its place in the output.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub name: &'static str,
    /// Objects are written by rank, then by kind: see [`KINDS`].
    pub rank: u8,
    pub source: Source,
}

/// The kinds kotalc orders, in output order. Secret-like objects first (nothing may start
/// before its Secret exists), then NetworkPolicies (no pod may start unprotected), then the
/// kinds each resource renders from its templates, in the order of spec 2. Any other kind
/// (passthrough documents, PodMonitors, HTTPRoutes) comes after them all, by name.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "ExternalSecret",
        rank: 0,
        source: Source::Secret,
    },
    Kind {
        name: "SealedSecret",
        rank: 0,
        source: Source::Secret,
    },
    Kind {
        name: "Secret",
        rank: 0,
        source: Source::Secret,
    },
    Kind {
        name: "NetworkPolicy",
        rank: 1,
        source: Source::Policy,
    },
    Kind {
        name: "ConfigMap",
        rank: 2,
        source: Source::Template {
            peer: "configmap.yaml",
            cluster_peer: "configmap.yaml",
        },
    },
    Kind {
        name: "PersistentVolumeClaim",
        rank: 3,
        source: Source::Template {
            peer: "pvc.yaml",
            cluster_peer: "pvc.yaml",
        },
    },
    Kind {
        name: "Service",
        rank: 4,
        source: Source::Template {
            peer: "service.yaml",
            cluster_peer: "service.yaml",
        },
    },
    Kind {
        name: "StatefulSet",
        rank: 5,
        source: Source::Template {
            peer: "peer-statefulset.yaml",
            cluster_peer: "clusterpeer-statefulset.yaml",
        },
    },
];

/// The rank of any kind not in [`KINDS`].
const OTHER: u8 = 6;

/// Where objects of `kind` are written: lower first.
pub fn rank(kind: &str) -> u8 {
    KINDS
        .iter()
        .find(|k| k.name == kind)
        .map_or(OTHER, |k| k.rank)
}

/// The kinds rendered once for every resource, in output order: its NetworkPolicy (when
/// `policies`), then its templates' kinds.
pub fn per_resource(policies: bool) -> impl Iterator<Item = &'static Kind> {
    KINDS.iter().filter(move |k| match k.source {
        Source::Secret => false,
        Source::Policy => policies,
        Source::Template { .. } => true,
    })
}

/// The kind a template renders.
pub fn template_kind(template: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|k| {
            matches!(k.source, Source::Template { peer, cluster_peer }
                if peer == template || cluster_peer == template)
        })
        .map(|k| k.name)
}

/// The templates each resource renders, for a Peer (`cluster_peer` false) or a ClusterPeer,
/// in output order.
pub fn templates(cluster_peer: bool) -> impl Iterator<Item = &'static str> {
    KINDS.iter().filter_map(move |k| match k.source {
        Source::Template {
            peer,
            cluster_peer: cluster,
        } => Some(if cluster_peer { cluster } else { peer }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_kind_namespace_and_name() {
        let namespaced = Key::new("StatefulSet", Some("ipfs"), "peer-0");
        assert_eq!(namespaced.to_string(), "StatefulSet ipfs/peer-0");
        assert_eq!(namespaced.place(), "ipfs/peer-0");
        let cluster_wide = Key::new("Namespace", None, "ipfs");
        assert_eq!(cluster_wide.to_string(), "Namespace ipfs");
        assert_eq!(cluster_wide.place(), "ipfs");
        let value = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"namespace": "ipfs", "name": "peer-0"},
        });
        assert_eq!(
            Key::of(&value),
            Key::new("ConfigMap", Some("ipfs"), "peer-0")
        );
        assert_eq!(Key::of(&serde_json::json!({})).to_string(), " ");
    }

    #[test]
    fn a_file_is_namespace_then_kind_and_name() {
        assert_eq!(
            file("StatefulSet", Some("ipfs"), "peer-0"),
            "ipfs/statefulset-peer-0.yaml"
        );
        assert_eq!(
            file("SealedSecret", None, "swarm-key"),
            "sealedsecret-swarm-key.yaml"
        );
        assert_eq!(
            Key::new("Service", Some("a"), "b").file(),
            "a/service-b.yaml"
        );
    }

    #[test]
    fn a_file_that_would_leave_the_directory_is_refused() {
        let inside = |ns: Option<&str>, name: &str| file_inside(&Key::new("Secret", ns, name));
        assert_eq!(
            inside(Some("ipfs"), "a").as_deref(),
            Some("ipfs/secret-a.yaml")
        );
        assert_eq!(inside(None, "a").as_deref(), Some("secret-a.yaml"));
        assert_eq!(inside(Some(".."), "a"), None);
        assert_eq!(inside(Some(".hidden"), "a"), None);
        assert_eq!(inside(Some("ipfs"), "a/../../b"), None);
        assert_eq!(inside(Some("ipfs/x"), "a"), None);
    }

    #[test]
    fn kinds_are_listed_in_output_order() {
        let ranks: Vec<(u8, &str)> = KINDS.iter().map(|k| (k.rank, k.name)).collect();
        let mut sorted = ranks.clone();
        sorted.sort();
        assert_eq!(ranks, sorted);
        assert_eq!(rank("Secret"), 0);
        assert_eq!(rank("NetworkPolicy"), 1);
        assert_eq!(rank("StatefulSet"), 5);
        assert_eq!(rank("PodMonitor"), OTHER);
        let names = |policies| per_resource(policies).map(|k| k.name).collect::<Vec<_>>();
        assert_eq!(
            names(true),
            [
                "NetworkPolicy",
                "ConfigMap",
                "PersistentVolumeClaim",
                "Service",
                "StatefulSet"
            ]
        );
        assert_eq!(names(false).len(), 4);
    }

    #[test]
    fn each_template_renders_one_kind() {
        assert_eq!(template_kind("pvc.yaml"), Some("PersistentVolumeClaim"));
        assert_eq!(template_kind("peer-statefulset.yaml"), Some("StatefulSet"));
        assert_eq!(
            template_kind("clusterpeer-statefulset.yaml"),
            Some("StatefulSet")
        );
        assert_eq!(template_kind("scripts/config_ipfs.sh"), None);
        assert_eq!(
            templates(false).collect::<Vec<_>>(),
            [
                "configmap.yaml",
                "pvc.yaml",
                "service.yaml",
                "peer-statefulset.yaml"
            ]
        );
        assert_eq!(templates(true).last(), Some("clusterpeer-statefulset.yaml"));
    }

    #[test]
    fn objects_sort_by_rank_kind_namespace_and_name() {
        let object = |kind: &str, name: &str| Object {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("ipfs".into()),
            name: name.into(),
            value: J::Null,
            yaml: String::new(),
            origin: Span {
                file: 0,
                line: 1,
                col: 1,
                len: 1,
            },
        };
        let mut objects = vec![
            object("PodMonitor", "a"),
            object("StatefulSet", "a"),
            object("ConfigMap", "b"),
            object("ConfigMap", "a"),
            object("NetworkPolicy", "z"),
            object("Secret", "z"),
            object("HTTPRoute", "a"),
        ];
        sort(&mut objects);
        let order: Vec<String> = objects.iter().map(|o| o.key().to_string()).collect();
        assert_eq!(
            order,
            [
                "Secret ipfs/z",
                "NetworkPolicy ipfs/z",
                "ConfigMap ipfs/a",
                "ConfigMap ipfs/b",
                "StatefulSet ipfs/a",
                "HTTPRoute ipfs/a",
                "PodMonitor ipfs/a"
            ]
        );
    }
}
