//! Every Secret the resources reference gets exactly one object in the output, and none holds
//! a plaintext value: a SealedSecret committed beside the resources, a placeholder that says
//! how to make one, or an ExternalSecret. Sealing is random, so sealed values are inputs:
//! rendering never seals, and the same inputs give the same bytes.

pub mod seal;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as J, json};

use crate::diagnostic::settings::{Front, Setting};
use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml::{Node, Value};
use crate::kube::manifest::Object;
use crate::model::defaults::Config;
use crate::model::parse::{Passthrough, Resource};
use crate::model::references::Reference;
use seal::Scope;

/// The form referenced Secrets take in the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretMode {
    /// SealedSecrets: those of the inputs, or placeholders.
    #[default]
    Sealed,
    /// ExternalSecrets (external-secrets.io/v1) reading from a secret store.
    External,
    /// No Secret objects; the Secrets are managed elsewhere.
    None,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    #[default]
    #[value(name = "SecretStore")]
    SecretStore,
    #[value(name = "ClusterSecretStore")]
    ClusterSecretStore,
}

impl StoreKind {
    fn name(self) -> &'static str {
        match self {
            StoreKind::SecretStore => "SecretStore",
            StoreKind::ClusterSecretStore => "ClusterSecretStore",
        }
    }
}

#[derive(Clone, Debug)]
pub struct SecretOptions {
    pub mode: SecretMode,
    /// Required for `External` when rendering.
    pub store: Option<String>,
    pub store_kind: StoreKind,
    pub remote_key_template: String,
}

impl Default for SecretOptions {
    fn default() -> Self {
        SecretOptions {
            mode: SecretMode::Sealed,
            store: None,
            store_kind: StoreKind::SecretStore,
            remote_key_template: DEFAULT_REMOTE_KEY.to_string(),
        }
    }
}

pub const DEFAULT_REMOTE_KEY: &str = "{namespace}/{name}";

/// Why a remote key template is unusable, if it is.
pub fn check_remote_key_template(template: &str) -> Option<String> {
    let rest = template
        .replace("{namespace}", "")
        .replace("{name}", "")
        .replace("{key}", "");
    (rest.contains('{') || rest.contains('}'))
        .then(|| format!("{template:?}: only {{namespace}}, {{name}} and {{key}} can be replaced"))
}

/// A Secret by namespace (unknown when neither the resource nor `--namespace` sets one) and
/// name.
type SecretId = (Option<String>, String);

pub struct Input<'a> {
    pub resources: &'a [Resource],
    pub configs: &'a [Option<Config>],
    pub allowed: &'a [BTreeSet<Code>],
    pub sealed: &'a [Passthrough],
    pub references: &'a [Reference],
    /// Each input file's directory from the working directory, by file id, so that a hint
    /// writes the sealed file beside the resource.
    pub dirs: &'a [String],
    /// The words a hint names a setting in.
    pub front: Front,
}

impl Input<'_> {
    fn who(&self, i: usize) -> String {
        let r = &self.resources[i];
        format!("{} {:?}", r.kind.name(), r.name)
    }
}

/// A SealedSecret of the inputs that passed its checks.
struct Provided<'a> {
    doc: &'a Passthrough,
    keys: BTreeSet<String>,
}

/// Checks every reference and returns the Secret objects to render.
pub fn plan(
    input: &Input<'_>,
    options: &SecretOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Object> {
    let uses = uses(input);
    let provided = provided(input, diagnostics);
    if options.mode != SecretMode::Sealed {
        for ((_, name), p) in &provided {
            diagnostics.push(sealed_in_other_mode(name, p, options.mode, input.front));
        }
    }
    let mut objects = Vec::new();
    for ((namespace, name), uses) in &uses {
        let id = (namespace.clone(), name.clone());
        if let Some(p) = provided.get(&id) {
            missing_keys(input, p, uses, diagnostics);
            recorded_peer_id(input, p, uses, diagnostics);
            continue;
        }
        match options.mode {
            SecretMode::Sealed => {
                let first = &uses[0];
                if !input.allowed[first.resource].contains(&Code::SealedSecretPlaceholder) {
                    let mut d = Diagnostic::new(
                        Code::SealedSecretPlaceholder,
                        format!(
                            "no SealedSecret {name:?} in the inputs: rendering a placeholder \
                             that the controller cannot unseal"
                        ),
                    )
                    .at(first.span)
                    .field(&first.field)
                    .help("seal the value and commit the file beside the resources:");
                    d.help.extend(commands(
                        namespace.as_deref(),
                        name,
                        uses,
                        input.dirs.get(first.span.file).map(String::as_str),
                    ));
                    diagnostics.push(d);
                }
                objects.push(placeholder(namespace.as_deref(), name, uses));
            }
            SecretMode::External => {
                match external_secret(input, options, namespace.as_deref(), name, uses) {
                    Ok(object) => objects.push(object),
                    Err(d) => diagnostics.push(d),
                }
            }
            SecretMode::None => {}
        }
    }
    if options.mode != SecretMode::None {
        for p in provided.values() {
            objects.push(Object::from_value(p.doc.value.clone(), p.doc.root.span));
        }
    }
    objects
}

/// What a SealedSecret of the inputs becomes when the Secrets are not rendered as
/// SealedSecrets: said, because it is not what the mode alone suggests.
fn sealed_in_other_mode(
    name: &str,
    p: &Provided<'_>,
    mode: SecretMode,
    front: Front,
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::SealedSecretMode,
        match mode {
            SecretMode::External => format!(
                "SealedSecret {name:?} of the inputs is passed through: Secret {name:?} comes \
                 from it, and no ExternalSecret is rendered for it"
            ),
            _ => format!(
                "SealedSecret {name:?} of the inputs is not written ({} none writes no Secret \
                 objects); its data keys are still checked",
                front.name(Setting::SecretMode)
            ),
        },
    )
    .at(p.doc.root.get("kind").map_or(p.doc.root.span, |n| n.span));
    match mode {
        SecretMode::External => d.help(
            "remove the SealedSecret from the inputs to read the Secret from the store instead",
        ),
        _ => d,
    }
}

/// Every Secret reference, grouped by Secret.
fn uses<'a>(input: &Input<'a>) -> BTreeMap<SecretId, Vec<&'a Reference>> {
    let mut uses: BTreeMap<SecretId, Vec<&'a Reference>> = BTreeMap::new();
    for reference in input.references {
        let namespace = input.resources[reference.resource].namespace.clone();
        uses.entry((namespace, reference.name.clone()))
            .or_default()
            .push(reference);
    }
    uses
}

/// The SealedSecrets of the inputs, checked, by Secret.
fn provided<'a>(
    input: &Input<'a>,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<SecretId, Provided<'a>> {
    let mut provided: BTreeMap<SecretId, Provided<'a>> = BTreeMap::new();
    for doc in input.sealed {
        let root = &doc.root;
        let invalid = |field: &str, message: String| {
            // A mapping is pointed at by its key; a scalar by its value.
            let span = match root.at(field) {
                Some(n) if matches!(n.value, Value::Map(_)) => {
                    root.key_span(field).unwrap_or(n.span)
                }
                Some(n) => n.span,
                None => root.span,
            };
            Diagnostic::new(Code::SealedSecretInvalid, message)
                .at(span)
                .field(field)
        };
        let Some(name) = root.at("metadata.name").and_then(Node::as_str) else {
            diagnostics.push(invalid(
                "metadata.name",
                "a SealedSecret needs metadata.name".into(),
            ));
            continue;
        };
        let namespace = doc.namespace.as_deref();
        let before = diagnostics.len();
        let mut keys = BTreeSet::new();
        match root.at("spec.encryptedData") {
            Some(Node {
                value: Value::Map(entries),
                ..
            }) => {
                for (key, value) in entries {
                    let sealed = value.as_str().map(|v| STANDARD.decode(v));
                    if !matches!(sealed, Some(Ok(ref bytes)) if bytes.len() > 2) {
                        diagnostics.push(
                            Diagnostic::new(
                                Code::SealedSecretInvalid,
                                format!("encryptedData {:?} is not a sealed value (base64 of the controller's format)", key.name),
                            )
                            .at(value.span)
                            .field(format!("spec.encryptedData.{}", key.name)),
                        );
                    }
                    keys.insert(key.name.clone());
                }
            }
            _ => diagnostics.push(invalid(
                "spec.encryptedData",
                "a SealedSecret needs spec.encryptedData, a mapping of data keys to sealed values"
                    .into(),
            )),
        }
        let flag = |annotation: &str| {
            root.at("metadata.annotations")
                .and_then(|a| a.get(annotation))
                .and_then(Node::as_str)
                == Some("true")
        };
        let scope = match (flag(seal::NAMESPACE_WIDE), flag(seal::CLUSTER_WIDE)) {
            (true, true) => {
                diagnostics.push(invalid(
                    "metadata.annotations",
                    "a SealedSecret is either namespace-wide or cluster-wide, not both".into(),
                ));
                Scope::ClusterWide
            }
            (true, false) => Scope::NamespaceWide,
            (false, true) => Scope::ClusterWide,
            (false, false) => Scope::Strict,
        };
        if scope != Scope::ClusterWide && namespace.is_none() {
            diagnostics.push(
                invalid(
                    "metadata",
                    format!(
                        "SealedSecret {name:?} is sealed for one namespace ({} scope) but names none",
                        scope.name()
                    ),
                )
                .help(format!(
                    "set metadata.namespace to the namespace it was sealed for, or {}",
                    input.front.set(Setting::Namespace, None)
                )),
            );
        }
        for (field, expected) in [("name", Some(name)), ("namespace", namespace)] {
            let path = format!("spec.template.metadata.{field}");
            if let (Some(given), Some(expected)) = (root.at(&path).and_then(Node::as_str), expected)
                && given != expected
            {
                diagnostics.push(invalid(
                    &path,
                    format!(
                        "the template's {field} {given:?} differs from the SealedSecret's {expected:?}; \
                         the controller would refuse to unseal it"
                    ),
                ));
            }
        }
        let id = (namespace.map(String::from), name.to_string());
        if let Some(first) = provided.get(&id) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateObject,
                    format!("SealedSecret {name:?} is defined twice"),
                )
                .at(root.key_span("metadata.name").unwrap_or(root.span))
                .related(first.doc.root.span, "first defined here"),
            );
            continue;
        }
        if diagnostics.len() == before {
            provided.insert(id, Provided { doc, keys });
        }
    }
    provided
}

fn missing_keys(
    input: &Input<'_>,
    p: &Provided<'_>,
    uses: &[&Reference],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let root = &p.doc.root;
    let name = root
        .at("metadata.name")
        .and_then(Node::as_str)
        .unwrap_or_default();
    let namespace = p.doc.namespace.as_deref();
    let mut reported = BTreeSet::new();
    for u in uses {
        if p.keys.contains(u.key) || !reported.insert(u.key) {
            continue;
        }
        let span = root.key_span("spec.encryptedData").unwrap_or(root.span);
        diagnostics.push(
            Diagnostic::new(
                Code::SealedSecretMissingKey,
                format!(
                    "SealedSecret {name:?} has no data key {:?}, which {} reads",
                    u.key,
                    input.who(u.resource)
                ),
            )
            .at(span)
            .field("spec.encryptedData")
            .related(u.span, "the Secret is referenced here")
            .help("seal the value and add it under spec.encryptedData:")
            .help_line(command(namespace, name, u, None)),
        );
    }
}

/// A SealedSecret of a private key records its peer ID (`kotalc seal` writes
/// `kotalc.io/peer-id`): a resource that gives another ID with it would run under an identity
/// other than the one its peers dial.
fn recorded_peer_id(
    input: &Input<'_>,
    p: &Provided<'_>,
    uses: &[&Reference],
    diagnostics: &mut Vec<Diagnostic>,
) {
    use crate::ipfs::peer_id::PeerId;
    let annotation = crate::model::annotations::PEER_ID;
    let Some((_, node)) = p
        .doc
        .root
        .at("metadata.annotations")
        .and_then(|a| a.entry(annotation))
    else {
        return;
    };
    let Some(text) = node.as_str() else { return };
    let recorded = match PeerId::parse(text) {
        Ok(id) => id,
        Err(problem) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::InvalidPeerId,
                    format!("Invalid value: {text:?}: {problem}"),
                )
                .at(node.span)
                .field(format!("metadata.annotations[{annotation}]")),
            );
            return;
        }
    };
    for u in uses.iter().filter(|u| u.key == "key") {
        let Some((given, id)) =
            u.id.as_deref()
                .and_then(|given| Some((given, PeerId::parse(given).ok()?)))
        else {
            continue;
        };
        if id != recorded {
            diagnostics.push(
                Diagnostic::new(
                    Code::IdentityMismatch,
                    format!(
                        "{} gives the peer ID {given}, but Secret {:?} holds the private key of \
                         {recorded}",
                        input.who(u.resource),
                        u.name
                    ),
                )
                .at(u.span)
                .field(&u.field)
                .related(node.span, "the peer ID its SealedSecret records")
                .help(format!(
                    "the ID and the sealed key come from different identities: give the ID \
                     {recorded}, or name the Secret that holds the key of {given}"
                )),
            );
        }
    }
}

/// Where `kotalc seal -o` writes the SealedSecret `name`: in `dir` (none, or `.`: the working
/// directory), inside the folder of `namespace` when one is given, as `build -o` lays out the
/// resources.
pub fn sealed_file(dir: Option<&str>, namespace: Option<&str>, name: &str) -> String {
    let mut path = String::new();
    if let Some(dir) = dir.filter(|dir| !dir.is_empty() && *dir != ".") {
        path.push_str(dir.trim_end_matches('/'));
        path.push('/');
    }
    path.push_str(&crate::kube::manifest::file(
        "SealedSecret",
        namespace,
        name,
    ));
    path
}

/// The `kotalc seal` command that produces the value of one use, writing `file` if given.
fn command(namespace: Option<&str>, name: &str, u: &Reference, file: Option<&str>) -> String {
    let mut words = Vec::new();
    match u.key {
        "swarm.key" => words.extend(["--generate", "swarm-key"]),
        "secret" => words.extend(["--generate", "cluster-secret"]),
        "credentials" => words.extend(["--generate", "rest-credentials"]),
        _ => {
            words.extend(["--key", "key", "--from-file", "<private key file>"]);
            if let Some(id) = &u.id {
                words.extend(["--expect-id", id.as_str()]);
            }
        }
    }
    if let Some(file) = file {
        words.extend(["-o", file]);
    }
    crate::diagnostic::shell::seal(namespace, name, &words)
}

/// The commands of every use, each writing `sealedsecret-NAME.yaml` in `dir`, the directory of
/// the referencing resource.
fn commands(
    namespace: Option<&str>,
    name: &str,
    uses: &[&Reference],
    dir: Option<&str>,
) -> Vec<String> {
    let file = sealed_file(dir, None, name);
    let mut seen = BTreeSet::new();
    uses.iter()
        .filter(|u| seen.insert(u.key))
        .map(|u| command(namespace, name, u, Some(&file)))
        .collect()
}

fn placeholder(namespace: Option<&str>, name: &str, uses: &[&Reference]) -> Object {
    let keys: BTreeMap<String, String> = uses
        .iter()
        .map(|u| (u.key.to_string(), String::new()))
        .collect();
    let annotations = BTreeMap::from([(
        "kotalc.io/placeholder".to_string(),
        commands(namespace, name, uses, None).join("\n"),
    )]);
    let value = seal::sealed_secret(name, namespace, Scope::Strict, &annotations, &keys);
    let first = &uses[0];
    Object::from_value(value, first.span)
}

fn external_secret(
    input: &Input<'_>,
    options: &SecretOptions,
    namespace: Option<&str>,
    name: &str,
    uses: &[&Reference],
) -> Result<Object, Diagnostic> {
    let first = &uses[0];
    let span = first.span;
    let template = &options.remote_key_template;
    if namespace.is_none() && template.contains("{namespace}") {
        return Err(Diagnostic::new(
            Code::RequiredField,
            format!(
                "the remote key template {template:?} needs the namespace of Secret {name:?}, \
                 and {} names none",
                input.who(first.resource)
            ),
        )
        .at(span)
        .field(&first.field)
        .help(format!(
            "set metadata.namespace, {}, or change {}",
            input.front.set(Setting::Namespace, None),
            input.front.name(Setting::RemoteKeyTemplate)
        )));
    }
    let keys: BTreeSet<&str> = uses.iter().map(|u| u.key).collect();
    let data: Vec<J> = keys
        .iter()
        .map(|key| {
            let remote = template
                .replace("{namespace}", namespace.unwrap_or_default())
                .replace("{name}", name)
                .replace("{key}", key);
            let mut reference = json!({ "key": remote });
            if !template.contains("{key}") {
                reference["property"] = json!(key);
            }
            json!({ "secretKey": key, "remoteRef": reference })
        })
        .collect();
    let mut metadata = json!({ "name": name });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let value = json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": metadata,
        "spec": {
            "secretStoreRef": {
                "name": options.store.as_deref().unwrap_or_default(),
                "kind": options.store_kind.name(),
            },
            "target": { "name": name, "creationPolicy": "Owner" },
            "data": data,
        },
    });
    Ok(Object::from_value(value, span))
}
