//! What a change does to the cluster, per object: the dry run behind `kotalc diff` and
//! `build --check`. Changes a cluster refuses, or that lose data, are called out, as data:
//! how they are printed is the command's.
//!
//! The rules are Kubernetes' (what the API server refuses, what rolls pods) and the Kotal
//! operator's (what its webhook refuses on a Peer's or ClusterPeer's spec, what kubo's
//! repository migrations need), so they sit with the other checks, above the model.

use std::collections::BTreeMap;

use serde_json::Value as J;
use similar::TextDiff;

use crate::kube::quantity;

/// One object, by the identity a cluster knows it by, with its canonical YAML.
#[derive(Clone, Debug)]
pub struct Side {
    pub kind: String,
    pub value: J,
    pub yaml: String,
    /// What a cluster's export says beyond the object's spec; None for a render.
    pub exported: Option<Exported>,
}

/// The part of an exported object, read before `normalize`, that decides some verdicts: a
/// claim's phase, and whether only appliers set its class (managedFields). Nothing else of
/// the original is kept, its secret values least of all.
#[derive(Clone, Debug)]
pub struct Exported {
    /// `status.phase`; `Pending` when the export says none.
    pub phase: String,
    /// Whether only server-side applies set `spec.storageClassName` (see
    /// [`applied_by_owners`]): an apply that no longer sets it then removes it.
    pub class_applied: bool,
}

impl Exported {
    fn of(value: &J) -> Exported {
        Exported {
            phase: value["status"]["phase"]
                .as_str()
                .unwrap_or("Pending")
                .to_string(),
            class_applied: applied_by_owners(value, "storageClassName"),
        }
    }
}

/// What replaces a secret value in anything kotalc prints.
const REDACTED: &str = "<redacted>";

/// Replaces the values of a Secret (`data`, `stringData`) or of a SealedSecret's template
/// (`spec.template.data`, `spec.template.stringData`, which hold plaintext), and a copy of
/// the whole object in `kubectl.kubernetes.io/last-applied-configuration`, by `<redacted>`.
/// An export or an output directory is read like an input: no value of it is ever printed.
/// Returns whether anything was replaced.
pub fn redact(value: &mut J) -> bool {
    let fields: &[&[&str]] = match value["kind"].as_str() {
        Some("Secret") => &[&["data"], &["stringData"]],
        Some("SealedSecret") => &[
            &["spec", "template", "data"],
            &["spec", "template", "stringData"],
        ],
        _ => return false,
    };
    let mut redacted = false;
    for path in fields {
        let Some(field) = path.iter().try_fold(&mut *value, |v, k| v.get_mut(*k)) else {
            continue;
        };
        match field {
            J::Object(map) => {
                for v in map.values_mut() {
                    *v = J::from(REDACTED);
                    redacted = true;
                }
            }
            J::Null => {}
            other => {
                *other = J::from(REDACTED);
                redacted = true;
            }
        }
    }
    if let Some(annotation) =
        value.pointer_mut("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
    {
        *annotation = J::from(REDACTED);
        redacted = true;
    }
    redacted
}

/// One side of the comparison, its secret values redacted (see [`redact`]).
pub fn side(mut value: J) -> Side {
    redact(&mut value);
    Side {
        kind: value["kind"].as_str().unwrap_or_default().to_string(),
        yaml: serde_saphyr::to_string(&value).unwrap_or_default(),
        value,
        exported: None,
    }
}

/// An object read from a file, compared as `normalize` leaves it. One that a cluster exported
/// (it has a uid or a resource version) keeps its original for `destructive`.
pub fn exported(value: J) -> Side {
    let meta = &value["metadata"];
    let from_cluster = meta.get("uid").is_some() || meta.get("resourceVersion").is_some();
    Side {
        exported: from_cluster.then(|| Exported::of(&value)),
        ..side(normalize(value))
    }
}

#[derive(Debug)]
pub enum Change {
    Added,
    Removed,
    Changed {
        unified: String,
    },
    /// A resource whose spec changes in a way the operator's update webhook refuses; its
    /// objects are listed on their own.
    Resource,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gravity {
    /// The API server (or the operator's webhook) refuses the change.
    Refused,
    /// Applying it loses data, or needs the object recreated with its data moved.
    Destructive,
    /// Applying it restarts the pod; nothing is refused or lost.
    RollsPods,
    /// The restarted pod needs something the objects cannot show (kubo's repository
    /// migration); nothing is refused or lost.
    Warning,
    /// The API server accepts it only under a condition of the cluster that kotalc cannot
    /// see (a claim grows only if its class allows expansion).
    Needs,
}

impl Gravity {
    pub fn name(self) -> &'static str {
        match self {
            Gravity::Refused => "refused",
            Gravity::Destructive => "destructive",
            Gravity::RollsPods => "rolls pods",
            Gravity::Warning => "warning",
            Gravity::Needs => "needs",
        }
    }

    /// Whether `--fail-on destructive` fails on it.
    pub fn blocks(self) -> bool {
        matches!(self, Gravity::Refused | Gravity::Destructive)
    }
}

/// One thing a change does that a reviewer must see, naming the field and why.
#[derive(Clone, Debug)]
pub struct Finding {
    pub gravity: Gravity,
    /// What `kotalc.io/allow-change` names to accept it: `spec.consensus`,
    /// `StatefulSet.spec.selector`.
    pub field: &'static str,
    pub why: String,
    /// Accepted by the resource's `kotalc.io/allow-change`.
    pub allowed: bool,
}

fn finding(gravity: Gravity, field: &'static str, why: impl Into<String>) -> Finding {
    Finding {
        gravity,
        field,
        why: why.into(),
        allowed: false,
    }
}

#[derive(Debug)]
pub struct Entry {
    pub key: String,
    pub change: Change,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub entries: Vec<Entry>,
    pub unchanged: usize,
}

impl Report {
    /// The objects added, removed and changed; a resource's webhook findings are not objects.
    pub fn changed_objects(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| !matches!(e.change, Change::Resource))
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.change, Change::Resource))
    }

    /// How many objects were added, removed and changed: every format's summary line.
    pub fn counts(&self) -> (usize, usize, usize) {
        let (mut added, mut removed, mut changed) = (0, 0, 0);
        for entry in &self.entries {
            match entry.change {
                Change::Added => added += 1,
                Change::Removed => removed += 1,
                Change::Changed { .. } => changed += 1,
                Change::Resource => {}
            }
        }
        (added, removed, changed)
    }

    /// Findings that are refused or destructive and not allowed: what `--fail-on
    /// destructive` fails on.
    pub fn blocking(&self) -> usize {
        self.entries
            .iter()
            .flat_map(|e| &e.findings)
            .filter(|f| f.gravity.blocks() && !f.allowed)
            .count()
    }

    /// Marks the findings each resource allows: `allowed` maps `namespace/name` (the
    /// resource's, and so its objects') to the fields its `kotalc.io/allow-change` names.
    pub fn allow(&mut self, allowed: &BTreeMap<String, Vec<String>>) {
        for entry in &mut self.entries {
            let Some(fields) = entry
                .key
                .split_once(' ')
                .and_then(|(_, name)| allowed.get(name))
            else {
                continue;
            };
            for f in &mut entry.findings {
                f.allowed = fields.iter().any(|a| a == f.field);
            }
        }
    }
}

/// Compares two sets of objects by identity; the entries are sorted by key. The old side
/// may be what a cluster exports: server-set fields and the API server's defaults are
/// ignored (see `normalize`).
pub fn compare(old: BTreeMap<String, Side>, mut new: BTreeMap<String, Side>) -> Report {
    let mut report = Report::default();
    for (key, before) in old {
        match new.remove(&key) {
            None => {
                let mut findings = Vec::new();
                if before.kind == "PersistentVolumeClaim" {
                    findings.push(finding(
                        Gravity::Destructive,
                        "PersistentVolumeClaim",
                        "the PersistentVolumeClaim is no longer rendered: its data is lost once \
                         it is pruned or deleted (kotalc marks claims Prune=false, so a GitOps \
                         prune keeps it until it is deleted by hand)",
                    ));
                }
                report.entries.push(Entry {
                    key,
                    change: Change::Removed,
                    findings,
                });
            }
            Some(after) => {
                let before = adopt(before, &after);
                if after.yaml == before.yaml {
                    report.unchanged += 1;
                    continue;
                }
                let findings = destructive(&before, &after);
                let unified = unified(&before.yaml, &after.yaml, &key);
                report.entries.push(Entry {
                    key,
                    change: Change::Changed { unified },
                    findings,
                });
            }
        }
    }
    for (key, _) in new {
        report.entries.push(Entry {
            key,
            change: Change::Added,
            findings: Vec::new(),
        });
    }
    report.entries.sort_by(|a, b| a.key.cmp(&b.key));
    report
}

/// The part of a resource the webhook rules read: its kind, its `kotalc.io/allow-change`
/// and its immutable spec fields. `diff` holds every resource of both sides, so it holds only
/// this, a small part of each.
pub fn watched(resource: &J) -> J {
    let mut spec = serde_json::Map::new();
    for field in IMMUTABLE {
        if let Some(value) = resource["spec"].get(field) {
            spec.insert(field.to_string(), value.clone());
        }
    }
    let mut out = serde_json::json!({ "kind": resource["kind"], "spec": spec });
    if let Some(allow) =
        resource["metadata"]["annotations"].get(crate::model::annotations::ALLOW_CHANGE)
    {
        out["metadata"] = serde_json::json!({
            "annotations": { crate::model::annotations::ALLOW_CHANGE: allow }
        });
    }
    out
}

/// The spec fields [`refused_spec_changes`] compares.
const IMMUTABLE: [&str; 5] = [
    "swarmKeySecretName",
    "initProfiles",
    "consensus",
    "id",
    "privateKeySecretName",
];

/// Adds the webhook findings of resources whose spec changed: `old` and `new` map
/// `Kind namespace/name` to the resource's JSON.
pub fn resource_changes(report: &mut Report, old: &BTreeMap<String, J>, new: &BTreeMap<String, J>) {
    for (key, after) in new {
        let Some(before) = old.get(key) else { continue };
        let findings = refused_spec_changes(before, after);
        if !findings.is_empty() {
            report.entries.push(Entry {
                key: key.clone(),
                change: Change::Resource,
                findings,
            });
        }
    }
    report.entries.sort_by(|a, b| a.key.cmp(&b.key));
}

/// What each resource's `kotalc.io/allow-change` accepts, by `namespace/name`, the place of
/// the resource and so of its objects. `new` and `old` map `Kind namespace/name` to the
/// resources' JSON; a resource that is gone can only have allowed its removal before it went.
pub fn allowances(
    new: &BTreeMap<String, J>,
    old: &BTreeMap<String, J>,
) -> BTreeMap<String, Vec<String>> {
    let mut allowed: BTreeMap<String, Vec<String>> = new
        .iter()
        .filter_map(|(key, value)| Some((place_of(key), allow_change(value)?)))
        .collect();
    for (key, value) in old {
        if !new.contains_key(key)
            && let Some(fields) = allow_change(value)
        {
            allowed.insert(place_of(key), fields);
        }
    }
    allowed
}

/// `namespace/name` of a `Kind namespace/name` key.
fn place_of(key: &str) -> String {
    key.split_once(' ')
        .map(|(_, place)| place)
        .unwrap_or_default()
        .to_string()
}

/// The fields a resource's `kotalc.io/allow-change` names.
fn allow_change(resource: &J) -> Option<Vec<String>> {
    let fields =
        resource["metadata"]["annotations"][crate::model::annotations::ALLOW_CHANGE].as_str()?;
    Some(
        crate::model::annotations::list(fields)
            .map(String::from)
            .collect(),
    )
}

/// What old objects say of their ClusterPeers' immutable fields, for an old side that holds no
/// custom resources (a rendered tree): the consensus, identity and private key that the
/// StatefulSet passes to `ipfs-cluster-service`, by `ClusterPeer namespace/name` (or `name`).
pub fn rendered_cluster_peers(objects: &BTreeMap<String, Side>) -> BTreeMap<String, J> {
    let mut out = BTreeMap::new();
    for side in objects.values().filter(|s| s.kind == "StatefulSet") {
        let meta = &side.value["metadata"];
        if meta["labels"]["app.kubernetes.io/component"] != "ipfs-clusterpeer" {
            continue;
        }
        let mut spec = serde_json::Map::new();
        let pod = &side.value["spec"]["template"]["spec"];
        for list in ["initContainers", "containers"] {
            for env in pod[list].as_array().into_iter().flatten() {
                for var in env["env"].as_array().into_iter().flatten() {
                    let (field, value) = match var["name"].as_str() {
                        Some("IPFS_CLUSTER_CONSENSUS") => ("consensus", &var["value"]),
                        Some("CLUSTER_ID") => ("id", &var["value"]),
                        Some("CLUSTER_PRIVATEKEY") => (
                            "privateKeySecretName",
                            &var["valueFrom"]["secretKeyRef"]["name"],
                        ),
                        _ => continue,
                    };
                    if let Some(value) = value.as_str() {
                        spec.insert(field.to_string(), J::String(value.to_string()));
                    }
                }
            }
        }
        let name = meta["labels"]["app.kubernetes.io/instance"]
            .as_str()
            .unwrap_or_default();
        let key = crate::kube::manifest::Key::new("ClusterPeer", meta["namespace"].as_str(), name);
        out.insert(key.to_string(), J::Object(spec));
    }
    out
}

/// Adds the webhook findings of ClusterPeers whose immutable fields, as rendered in the old
/// objects (`rendered_cluster_peers`), differ from the new resources'. Fields the old render
/// does not show are taken as unchanged.
pub fn rendered_resource_changes(
    report: &mut Report,
    rendered: &BTreeMap<String, J>,
    new: &BTreeMap<String, J>,
) {
    let mut old = BTreeMap::new();
    for (key, fields) in rendered {
        let Some(after) = new.get(key) else { continue };
        let mut before = after.clone();
        if let (Some(spec), Some(fields)) = (
            before.get_mut("spec").and_then(J::as_object_mut),
            fields.as_object(),
        ) {
            for (field, value) in fields {
                spec.insert(field.clone(), value.clone());
            }
        }
        old.insert(key.clone(), before);
    }
    resource_changes(report, &old, new);
}

/// Changes the Kotal operator's update webhook refuses (apis/ipfs/v1alpha1, v0.3.0), on the
/// specs as its defaulting leaves them. They are immutable for a reason kotalc keeps: each
/// is read once, when the repository or cluster state is created.
fn refused_spec_changes(old: &J, new: &J) -> Vec<Finding> {
    let text = |v: &J, f: &str| v["spec"][f].as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    let mut check = |field: &'static str, before: String, after: String, why: &str| {
        if before != after {
            out.push(finding(
                Gravity::Refused,
                field,
                format!(
                    "{field} changes from {before:?} to {after:?}: the operator's webhook refuses \
                     it (field is immutable), because {why}"
                ),
            ));
        }
    };
    match new["kind"].as_str() {
        Some("Peer") => {
            let profiles = |v: &J| {
                let list: Vec<&str> = v["spec"]["initProfiles"]
                    .as_array()
                    .map(|a| a.iter().filter_map(J::as_str).collect())
                    .unwrap_or_default();
                if list.is_empty() {
                    "default-datastore".to_string()
                } else {
                    list.join(",")
                }
            };
            check(
                "spec.swarmKeySecretName",
                text(old, "swarmKeySecretName"),
                text(new, "swarmKeySecretName"),
                "a peer's swarm (public or private) is fixed for its repository's life",
            );
            check(
                "spec.initProfiles",
                profiles(old),
                profiles(new),
                "init profiles apply once, when the repository is created: the change would \
                 do nothing on the existing volume",
            );
        }
        Some("ClusterPeer") => {
            let consensus = |v: &J| {
                v["spec"]["consensus"]
                    .as_str()
                    .unwrap_or("crdt")
                    .to_string()
            };
            check(
                "spec.consensus",
                consensus(old),
                consensus(new),
                "the consensus is chosen by `ipfs-cluster-service init` and its state is on \
                 the volume",
            );
            check(
                "spec.id",
                text(old, "id"),
                text(new, "id"),
                "a new identity is a new cluster peer: the others still trust the old one",
            );
            check(
                "spec.privateKeySecretName",
                text(old, "privateKeySecretName"),
                text(new, "privateKeySecretName"),
                "the private key is the peer's identity, paired with spec.id",
            );
        }
        _ => {}
    }
    out
}

pub fn unified(before: &str, after: &str, name: &str) -> String {
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// An object as its manifest would set it: without what the API server adds (identity,
/// bookkeeping, status, ownerReferences, and the defaults of every field kotalc leaves out),
/// so that a cluster export compares with a render. Defaults are removed only where they
/// hold their default value.
pub fn normalize(mut value: J) -> J {
    let Some(object) = value.as_object_mut() else {
        return value;
    };
    object.remove("status");
    if let Some(J::Object(meta)) = object.get_mut("metadata") {
        for field in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "selfLink",
            "ownerReferences",
            "finalizers",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(field);
        }
        if let Some(J::Object(annotations)) = meta.get_mut("annotations") {
            annotations.retain(|k, _| {
                k != "kubectl.kubernetes.io/last-applied-configuration"
                    && !k.starts_with("pv.kubernetes.io/")
                    && !k.starts_with("volume.kubernetes.io/")
                    && !k.starts_with("volume.beta.kubernetes.io/")
            });
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    let kind = object
        .get("kind")
        .and_then(J::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(J::Object(spec)) = object.get_mut("spec") else {
        return value;
    };
    use serde_json::json;
    match kind.as_str() {
        "StatefulSet" => {
            // Exported as "" when the manifest sets none, as kotalc's and the operator's do not.
            drop_if(spec, "serviceName", json!(""));
            drop_if(spec, "podManagementPolicy", json!("OrderedReady"));
            drop_if(spec, "revisionHistoryLimit", json!(10));
            drop_if(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            drop_if(spec, "updateStrategy", json!({"type": "RollingUpdate"}));
            drop_if(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            if let Some(J::Object(template)) = spec.get_mut("template") {
                if let Some(J::Object(meta)) = template.get_mut("metadata") {
                    drop_if(meta, "creationTimestamp", J::Null);
                }
                if let Some(J::Object(pod)) = template.get_mut("spec") {
                    normalize_pod(pod);
                }
            }
        }
        "Service" => {
            drop_if(spec, "sessionAffinity", json!("None"));
            drop_if(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        "PersistentVolumeClaim" => {
            spec.remove("volumeName");
            drop_if(spec, "volumeMode", json!("Filesystem"));
        }
        _ => {}
    }
    value
}

/// Removes `field` where it holds the API server's default.
fn drop_if(map: &mut serde_json::Map<String, J>, field: &str, default: J) {
    if map.get(field) == Some(&default) {
        map.remove(field);
    }
}

fn normalize_pod(pod: &mut serde_json::Map<String, J>) {
    use serde_json::json;
    drop_if(pod, "dnsPolicy", json!("ClusterFirst"));
    drop_if(pod, "restartPolicy", json!("Always"));
    drop_if(pod, "schedulerName", json!("default-scheduler"));
    drop_if(pod, "terminationGracePeriodSeconds", json!(30));
    drop_if(pod, "securityContext", json!({}));
    for list in ["initContainers", "containers"] {
        let Some(J::Array(containers)) = pod.get_mut(list) else {
            continue;
        };
        for container in containers.iter_mut().filter_map(J::as_object_mut) {
            drop_if(
                container,
                "terminationMessagePath",
                json!("/dev/termination-log"),
            );
            drop_if(container, "terminationMessagePolicy", json!("File"));
            drop_if(container, "resources", json!({}));
            // The API server's default: Always for `:latest` or no tag, else IfNotPresent.
            let image = container
                .get("image")
                .and_then(J::as_str)
                .unwrap_or_default();
            let tag = image
                .rsplit('/')
                .next()
                .and_then(|last| last.split_once(':'));
            let default = match tag {
                Some((_, "latest")) | None if !image.contains('@') => "Always",
                _ => "IfNotPresent",
            };
            drop_if(container, "imagePullPolicy", json!(default));
        }
    }
    if let Some(J::Array(volumes)) = pod.get_mut("volumes") {
        for volume in volumes.iter_mut().filter_map(J::as_object_mut) {
            for source in ["configMap", "secret"] {
                if let Some(J::Object(s)) = volume.get_mut(source) {
                    drop_if(s, "defaultMode", json!(420));
                }
            }
        }
    }
}

/// The old side as applying the new one leaves what the new one does not set: the addresses a
/// cluster allocated to a Service, which the API server keeps when a manifest sets none, and a
/// claim's class chosen by the cluster's default class. A class that an apply set is not
/// adopted: an apply that no longer sets it removes it, which the API server refuses.
fn adopt(mut before: Side, after: &Side) -> Side {
    let unset = |field: &str| after.value["spec"].get(field).is_none();
    let applied_class = before.exported.as_ref().is_none_or(|e| e.class_applied);
    let Some(J::Object(spec)) = before.value.get_mut("spec") else {
        return before;
    };
    let mut adopted = false;
    match before.kind.as_str() {
        "Service" => {
            for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                if unset(field) {
                    adopted |= spec.remove(field).is_some();
                }
            }
        }
        "PersistentVolumeClaim" if unset("storageClassName") && !applied_class => {
            adopted |= spec.remove("storageClassName").is_some();
        }
        _ => {}
    }
    if adopted {
        Side {
            exported: before.exported,
            ..side(before.value)
        }
    } else {
        before
    }
}

/// Whether a server-side apply set `spec.<field>` of an exported object, so that an apply
/// that no longer sets it removes it: when its managedFields (`kubectl get -o yaml
/// --show-managed-fields`) show only appliers owning it. Without them, the cluster is taken
/// to have set it. A render's fields are all applied.
fn applied_by_owners(exported: &J, field: &str) -> bool {
    let key = format!("f:{field}");
    let owners: Vec<&J> = exported["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["fieldsV1"]["f:spec"].get(&key).is_some())
                .collect()
        })
        .unwrap_or_default();
    !owners.is_empty() && owners.iter().all(|e| e["operation"] == "Apply")
}

/// Changes that the API server refuses, that destroy data, or that roll the pods.
fn destructive(before: &Side, after: &Side) -> Vec<Finding> {
    let (old, new) = (&before.value, &after.value);
    let mut out = Vec::new();
    let changed = |field: &str| old["spec"][field] != new["spec"][field];
    match before.kind.as_str() {
        "StatefulSet" => {
            if changed("selector") {
                out.push(finding(
                    Gravity::Refused,
                    "StatefulSet.spec.selector",
                    "the StatefulSet's selector changes, and a selector is immutable: the \
                     StatefulSet must be deleted and recreated (with --cascade=orphan to keep \
                     its pod running until then)",
                ));
            }
            for (field, path, why) in [
                (
                    "serviceName",
                    "StatefulSet.spec.serviceName",
                    "serviceName is immutable",
                ),
                (
                    "volumeClaimTemplates",
                    "StatefulSet.spec.volumeClaimTemplates",
                    "volumeClaimTemplates are immutable",
                ),
                (
                    "podManagementPolicy",
                    "StatefulSet.spec.podManagementPolicy",
                    "podManagementPolicy is immutable",
                ),
            ] {
                if changed(field) {
                    out.push(finding(
                        Gravity::Refused,
                        path,
                        format!("{why}: the StatefulSet must be recreated"),
                    ));
                }
            }
            if changed("template") {
                out.push(finding(
                    Gravity::RollsPods,
                    "StatefulSet.spec.template",
                    "the pod template changes: applying this restarts the pod",
                ));
            }
            if let (Some(from), Some(to)) = (kubo_image(old), kubo_image(new))
                && crate::ipfs::kubo::crosses_repo_16(from.1, to.1)
            {
                out.push(finding(
                    Gravity::Warning,
                    "StatefulSet.spec.template.spec.containers[peer].image",
                    format!(
                        "kubo changes from {} to {}, across repository version 16: at the next \
                         start config-ipfs migrates the repository with the external \
                         fs-repo-15-to-16, which kubo downloads from public gateways unless the \
                         image has it on its PATH; without egress the pod never starts (see the \
                         README, \"Upgrading kubo across repository version 16\")",
                        from.0, to.0
                    ),
                ));
            }
        }
        "PersistentVolumeClaim" => {
            let storage = |v: &J| {
                v["spec"]["resources"]["requests"]["storage"]
                    .as_str()
                    .and_then(quantity::bytes)
            };
            if let (Some(o), Some(n)) = (storage(old), storage(new)) {
                let (from, to) = (quantity::canonical_bytes(o), quantity::canonical_bytes(n));
                if n < o {
                    out.push(finding(
                        Gravity::Refused,
                        "PersistentVolumeClaim.spec.resources.requests.storage",
                        format!(
                            "storage shrinks from {from} to {to}: a claim can only grow, the API \
                             server refuses this: keep spec.resources.storage at {from}"
                        ),
                    ));
                } else if n > o {
                    out.push(grows(before, &from, &to));
                }
            }
            if changed("storageClassName") {
                const FIELD: &str = "PersistentVolumeClaim.spec.storageClassName";
                let class = |v: &J| v["spec"]["storageClassName"].as_str().map(String::from);
                // The API server's retroactive default-class rule (GA in 1.28): a claim with
                // neither a class nor the beta class annotation may be given a class, bound
                // or not.
                let classless = old["metadata"]["annotations"]
                    .get("volume.beta.kubernetes.io/storage-class")
                    .is_none();
                match (class(old), class(new)) {
                    (None, Some(_)) if classless && before.exported.is_some() => {}
                    (None, Some(class)) if classless => out.push(finding(
                        Gravity::Needs,
                        FIELD,
                        format!(
                            "the claim gains storageClassName {class:?}: the API server accepts \
                             it only if the claim still has no class; a cluster with a default \
                             StorageClass gave it that class when it was created, and then \
                             refuses any other (diff --against an export of the cluster tells)"
                        ),
                    )),
                    (Some(class), None) => out.push(finding(
                        Gravity::Refused,
                        FIELD,
                        format!(
                            "the render no longer sets storageClassName {class:?}, which an \
                             apply set: removing it changes the class, which is immutable, and \
                             the API server refuses it: keep spec.resources.storageClass: {class}"
                        ),
                    )),
                    _ => out.push(finding(
                        Gravity::Refused,
                        FIELD,
                        "storageClassName is immutable: the API server refuses the change; the \
                         claim must be recreated, and its data moved",
                    )),
                }
            }
            if changed("accessModes") {
                out.push(finding(
                    Gravity::Refused,
                    "PersistentVolumeClaim.spec.accessModes",
                    "accessModes are immutable: the API server refuses the change; the claim must \
                     be recreated, and its data moved",
                ));
            }
            // Every other field of a bound claim's spec is immutable too.
            let rest = |v: &J| {
                let mut spec = v["spec"].clone();
                if let Some(spec) = spec.as_object_mut() {
                    for field in ["resources", "storageClassName", "accessModes"] {
                        spec.remove(field);
                    }
                }
                spec
            };
            let limits = |v: &J| v["spec"]["resources"]["limits"].clone();
            if rest(old) != rest(new) || limits(old) != limits(new) {
                out.push(finding(
                    Gravity::Refused,
                    "PersistentVolumeClaim.spec",
                    "a claim's spec is immutable once bound, except to grow \
                     resources.requests.storage",
                ));
            }
        }
        "Service" => {
            if let (Some(o), Some(n)) = (
                old["spec"]["clusterIP"].as_str(),
                new["spec"]["clusterIP"].as_str(),
            ) && o != n
            {
                out.push(finding(
                    Gravity::Refused,
                    "Service.spec.clusterIP",
                    "clusterIP is immutable: the Service must be recreated",
                ));
            }
            let kind = |v: &J| {
                v["spec"]["type"]
                    .as_str()
                    .unwrap_or("ClusterIP")
                    .to_string()
            };
            if kind(old) != kind(new) {
                out.push(finding(
                    Gravity::Destructive,
                    "Service.spec.type",
                    format!(
                        "the Service's type changes from {} to {}: its address and ports \
                         change under every client",
                        kind(old),
                        kind(new)
                    ),
                ));
            }
        }
        _ => {}
    }
    out
}

/// The image of a Peer's kubo container (`peer`, running `ipfs`), and the release its tag
/// names.
fn kubo_image(statefulset: &J) -> Option<(&str, crate::ipfs::kubo::Release)> {
    statefulset["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == "peer" && c["command"][0] == "ipfs")
        .and_then(|c| c["image"].as_str())
        .and_then(|image| Some((image, crate::ipfs::kubo::release(image)?)))
}

/// What a claim's growth needs. A claim's spec cannot change until it is bound, and a bound
/// claim grows only if its class allows volume expansion; an export says the phase.
fn grows(before: &Side, from: &str, to: &str) -> Finding {
    const FIELD: &str = "PersistentVolumeClaim.spec.resources.requests.storage";
    let class = before.value["spec"]["storageClassName"]
        .as_str()
        .map(|c| format!("StorageClass {c:?}"))
        .unwrap_or_else(|| "StorageClass".to_string());
    let phase = before.exported.as_ref().map(|e| e.phase.as_str());
    match phase {
        Some(phase) if phase != "Bound" => finding(
            Gravity::Refused,
            FIELD,
            format!(
                "storage grows from {from} to {to}, but the claim is {phase}: the API server \
                 refuses any change to its spec until it is bound: keep spec.resources.storage \
                 at {from} until then"
            ),
        ),
        _ => finding(
            Gravity::Needs,
            FIELD,
            format!(
                "storage grows from {from} to {to}: the API server accepts it only for a bound \
                 claim whose {class} allows volume expansion (allowVolumeExpansion: true)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(value: &J) -> String {
        crate::kube::manifest::Key::of(value).to_string()
    }

    fn one(value: J) -> BTreeMap<String, Side> {
        let side = side(value);
        BTreeMap::from([(key(&side.value), side)])
    }

    /// The findings of changing `before` into `after`, one object each.
    fn findings(before: J, after: J) -> Vec<(Gravity, &'static str)> {
        let report = compare(one(before), one(after));
        report
            .entries
            .iter()
            .flat_map(|e| &e.findings)
            .map(|f| (f.gravity, f.field))
            .collect()
    }

    fn statefulset(selector: &str, image: &str) -> J {
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "p", "namespace": "ipfs"},
            "spec": {
                "selector": {"matchLabels": {"app": selector}},
                "template": {"spec": {"containers": [
                    {"name": "peer", "command": ["ipfs"], "image": image}
                ]}},
            },
        })
    }

    fn claim(storage: &str, class: Option<&str>) -> J {
        let mut claim = json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "p", "namespace": "ipfs"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": storage}}},
        });
        if let Some(class) = class {
            claim["spec"]["storageClassName"] = json!(class);
        }
        claim
    }

    #[test]
    fn keys_name_kind_namespace_and_name() {
        assert_eq!(key(&statefulset("a", "x")), "StatefulSet ipfs/p");
        let cluster_wide = json!({"kind": "Namespace", "metadata": {"name": "ipfs"}});
        assert_eq!(key(&cluster_wide), "Namespace ipfs");
    }

    #[test]
    fn a_new_selector_is_refused_and_a_new_template_rolls_pods() {
        let found = findings(
            statefulset("a", "ipfs/kubo:v0.38.2"),
            statefulset("b", "ipfs/kubo:v0.39.0"),
        );
        assert_eq!(
            found,
            [
                (Gravity::Refused, "StatefulSet.spec.selector"),
                (Gravity::RollsPods, "StatefulSet.spec.template"),
            ]
        );
    }

    #[test]
    fn kubo_across_repository_version_16_is_a_warning() {
        let found = findings(
            statefulset("a", "ipfs/kubo:v0.28.0"),
            statefulset("a", "ipfs/kubo:v0.38.2"),
        );
        assert!(found.contains(&(
            Gravity::Warning,
            "StatefulSet.spec.template.spec.containers[peer].image"
        )));
    }

    #[test]
    fn a_claim_grows_on_a_condition_and_never_shrinks() {
        const STORAGE: &str = "PersistentVolumeClaim.spec.resources.requests.storage";
        let grows = findings(claim("10Gi", None), claim("20Gi", None));
        assert_eq!(grows, [(Gravity::Needs, STORAGE)]);
        let shrinks = findings(claim("20Gi", None), claim("10Gi", None));
        assert_eq!(shrinks, [(Gravity::Refused, STORAGE)]);
        assert!(Gravity::Refused.blocks() && !Gravity::Needs.blocks());
    }

    #[test]
    fn a_pending_claim_refuses_to_grow() {
        let mut export = claim("10Gi", None);
        export["metadata"]["uid"] = json!("0");
        export["status"] = json!({"phase": "Pending"});
        let before = exported(export);
        let old = BTreeMap::from([(key(&before.value), before)]);
        let report = compare(old, one(claim("20Gi", None)));
        let gravities: Vec<Gravity> = report.entries[0]
            .findings
            .iter()
            .map(|f| f.gravity)
            .collect();
        assert_eq!(gravities, [Gravity::Refused]);
    }

    #[test]
    fn a_new_class_is_refused_and_a_removed_claim_is_destructive() {
        let found = findings(claim("10Gi", Some("fast")), claim("10Gi", Some("slow")));
        assert_eq!(
            found,
            [(
                Gravity::Refused,
                "PersistentVolumeClaim.spec.storageClassName"
            )]
        );
        let report = compare(one(claim("10Gi", None)), BTreeMap::new());
        assert!(matches!(report.entries[0].change, Change::Removed));
        assert_eq!(report.blocking(), 1);
        assert_eq!(report.counts(), (0, 1, 0));
    }

    #[test]
    fn an_exported_service_keeps_its_allocated_address() {
        let service = |ip: Option<&str>| {
            let mut service = json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "p", "namespace": "ipfs"},
                "spec": {"ports": [{"port": 5001}]},
            });
            if let Some(ip) = ip {
                service["metadata"]["uid"] = json!("0");
                service["spec"]["clusterIP"] = json!(ip);
                service["spec"]["sessionAffinity"] = json!("None");
            }
            service
        };
        let before = exported(service(Some("10.0.0.1")));
        let old = BTreeMap::from([(key(&before.value), before)]);
        let report = compare(old, one(service(None)));
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(report.unchanged, 1);
    }

    #[test]
    fn secret_values_are_redacted() {
        let mut secret = json!({
            "kind": "Secret",
            "metadata": {"name": "s"},
            "data": {"key": "c2VjcmV0"},
        });
        assert!(redact(&mut secret));
        assert_eq!(secret["data"]["key"], REDACTED);
        let mut map = json!({"kind": "ConfigMap", "data": {"key": "value"}});
        assert!(!redact(&mut map));
    }

    #[test]
    fn a_cluster_peer_keeps_its_consensus_unless_allowed() {
        let peer = |consensus: &str, allow: Option<&str>| {
            let mut peer = json!({
                "apiVersion": crate::model::API_VERSION,
                "kind": "ClusterPeer",
                "metadata": {"name": "c", "namespace": "ipfs"},
                "spec": {"consensus": consensus},
            });
            if let Some(allow) = allow {
                peer["metadata"]["annotations"] =
                    json!({crate::model::annotations::ALLOW_CHANGE: allow});
            }
            BTreeMap::from([("ClusterPeer ipfs/c".to_string(), peer)])
        };
        let (old, new) = (peer("crdt", None), peer("raft", Some("spec.consensus")));
        let mut report = Report::default();
        resource_changes(&mut report, &old, &new);
        assert_eq!(report.blocking(), 1);
        assert!(report.is_empty(), "a resource's findings are not objects");
        report.allow(&allowances(&new, &old));
        assert_eq!(report.blocking(), 0);
        assert!(report.entries[0].findings[0].allowed);
    }

    #[test]
    fn the_watched_part_of_a_resource_finds_what_the_whole_finds() {
        let resource = |kind: &str, spec: J, allow: Option<&str>| {
            let mut value = json!({
                "apiVersion": crate::model::API_VERSION,
                "kind": kind,
                "metadata": {"name": "r", "namespace": "ipfs", "labels": {"team": "t"}},
                "spec": spec,
            });
            if let Some(allow) = allow {
                value["metadata"]["annotations"] =
                    json!({crate::model::annotations::ALLOW_CHANGE: allow, "other": "x"});
            }
            BTreeMap::from([(format!("{kind} ipfs/r"), value)])
        };
        let watched_all = |resources: &BTreeMap<String, J>| -> BTreeMap<String, J> {
            resources
                .iter()
                .map(|(k, v)| (k.clone(), watched(v)))
                .collect()
        };
        let findings = |old: &BTreeMap<String, J>, new: &BTreeMap<String, J>| {
            let mut report = Report::default();
            resource_changes(&mut report, old, new);
            report.allow(&allowances(new, old));
            report
                .entries
                .iter()
                .flat_map(|e| &e.findings)
                .map(|f| (f.field, f.allowed, f.why.clone()))
                .collect::<Vec<_>>()
        };
        let pairs = [
            (
                resource(
                    "Peer",
                    json!({"swarmKeySecretName": "a", "gateway": true}),
                    None,
                ),
                resource(
                    "Peer",
                    json!({"swarmKeySecretName": "b", "initProfiles": ["test"]}),
                    Some("spec.initProfiles"),
                ),
            ),
            (
                resource(
                    "ClusterPeer",
                    json!({"id": "1", "privateKeySecretName": "k"}),
                    None,
                ),
                resource(
                    "ClusterPeer",
                    json!({"id": "2", "consensus": "raft", "peerEndpoint": "/dns4/p"}),
                    Some("spec.id,spec.consensus"),
                ),
            ),
        ];
        for (old, new) in pairs {
            let whole = findings(&old, &new);
            assert!(whole.len() >= 2, "{whole:?}");
            assert_eq!(findings(&watched_all(&old), &watched_all(&new)), whole);
        }
        let peer =
            &resource("Peer", json!({"gateway": true}), Some("spec.initProfiles"))["Peer ipfs/r"];
        assert_eq!(
            watched(peer),
            json!({
                "kind": "Peer",
                "metadata": {"annotations": {
                    crate::model::annotations::ALLOW_CHANGE: "spec.initProfiles"
                }},
                "spec": {},
            })
        );
    }

    #[test]
    fn a_rendered_cluster_peer_shows_its_immutable_fields() {
        let statefulset = json!({
            "kind": "StatefulSet",
            "metadata": {
                "name": "c", "namespace": "ipfs",
                "labels": {
                    "app.kubernetes.io/component": "ipfs-clusterpeer",
                    "app.kubernetes.io/instance": "c",
                },
            },
            "spec": {"template": {"spec": {"containers": [{"env": [
                {"name": "IPFS_CLUSTER_CONSENSUS", "value": "crdt"},
                {"name": "CLUSTER_ID", "value": "12D3"},
            ]}]}}},
        });
        let rendered = rendered_cluster_peers(&one(statefulset));
        assert_eq!(
            rendered["ClusterPeer ipfs/c"],
            json!({"consensus": "crdt", "id": "12D3"})
        );
    }

    #[test]
    fn an_export_compares_without_what_the_server_adds() {
        let value = json!({
            "kind": "Service",
            "metadata": {"name": "p", "uid": "0", "resourceVersion": "1"},
            "spec": {"sessionAffinity": "None", "ports": []},
            "status": {},
        });
        assert_eq!(
            normalize(value),
            json!({"kind": "Service", "metadata": {"name": "p"}, "spec": {"ports": []}})
        );
    }
}
