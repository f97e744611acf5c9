//! YAML documents to typed resources. The structure of each Kotal resource is checked against
//! its schema first, reporting every problem at once; the fields that pass are then
//! deserialized into the model, so one bad field never hides the others' problems.

use serde_json::{Map, Value as J};

use crate::diagnostic::settings::{Front, Setting};
use crate::diagnostic::source::{Sources, Span};
use crate::diagnostic::suggest;
use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml::{self, Node, Value};
use crate::model::schema;
use crate::model::{self, ClusterPeer, Kind, Peer, Swarm};

/// A Kotal resource as read, with the node tree kept for locating later diagnostics.
#[derive(Debug)]
pub struct Resource {
    pub kind: Kind,
    /// The document, for locating diagnostics; a lean build releases it before rendering.
    pub root: Node,
    /// Where rendered objects point back to: the resource's name.
    pub origin: Span,
    /// From the document itself, so that a resource with an invalid spec is still named.
    pub name: String,
    /// The namespace its objects go to: its own, else the default namespace (`--namespace`);
    /// `None` when neither names one.
    pub namespace: Option<String>,
    /// `None` when the structure was invalid; its problems are already reported.
    pub object: Option<Object>,
}

impl Passthrough {
    /// The document as it is written, with the namespace it names itself.
    fn of(root: Node) -> Passthrough {
        let namespace = own_namespace(&root);
        Passthrough {
            value: root.to_json(),
            root,
            namespace,
        }
    }
}

/// The namespace a document names itself.
fn own_namespace(doc: &Node) -> Option<String> {
    doc.at("metadata.namespace")
        .and_then(Node::as_str)
        .map(String::from)
}

impl Resource {
    /// The namespace its objects go to, `""` when none is known.
    pub fn namespace_or_empty(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

#[derive(Debug)]
pub enum Object {
    Peer(Peer),
    ClusterPeer(ClusterPeer),
    Swarm(Swarm),
}

/// A document that is not a Kotal resource, copied through with `--passthrough`.
#[derive(Debug)]
pub struct Passthrough {
    pub root: Node,
    pub value: J,
    /// Its own namespace; for a SealedSecret, else the default namespace, as for resources.
    /// Other documents are copied as written.
    pub namespace: Option<String>,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub resources: Vec<Resource>,
    pub passthrough: Vec<Passthrough>,
    /// SealedSecrets of the inputs: the sources of the Secrets the resources reference.
    pub sealed: Vec<Passthrough>,
}

/// A Secret with values: `data` or `stringData` that is not empty.
pub fn has_data(doc: &Node) -> bool {
    ["data", "stringData"]
        .iter()
        .any(|field| match doc.get(field) {
            Some(Node {
                value: Value::Map(entries),
                ..
            }) => !entries.is_empty(),
            Some(Node {
                value: Value::Null, ..
            })
            | None => false,
            Some(_) => true,
        })
}

fn is_empty(node: &Node) -> bool {
    match &node.value {
        Value::Map(entries) => entries.is_empty(),
        Value::Seq(items) => items.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// In a list object (`kind: List`, `SecretList`, any `items` list), the `kind` of the first
/// item, at any depth, that is a Secret with values.
fn listed_plaintext(doc: &Node) -> Option<Span> {
    let Some(Node {
        value: Value::Seq(items),
        ..
    }) = doc.get("items")
    else {
        return None;
    };
    let list_kind = doc.get("kind").and_then(Node::as_str).unwrap_or_default();
    items.iter().find_map(|item| {
        let kind = item.get("kind").and_then(Node::as_str);
        let secret = kind == Some("Secret") || (kind.is_none() && list_kind == "SecretList");
        if secret && has_data(item) {
            Some(item.get("kind").map_or(item.span, |n| n.span))
        } else {
            listed_plaintext(item)
        }
    })
}

/// Problems reported for one file: each holds a few hundred bytes, and a hostile file could
/// otherwise make millions of them.
pub const MAX_DIAGNOSTICS: usize = 10_000;

/// Parses every file, files in parallel; the result is in file order whatever the thread
/// count, so the output never depends on it. The secret values of each file are marked in
/// `sources` (see [`secrets_of`]), and a file that does not parse is marked opaque, so that no
/// diagnostic ever shows a secret.
pub fn parse(
    sources: &mut Sources,
    passthrough: bool,
    front: Front,
    default_namespace: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Parsed {
    let mut parsed = parse_each(sources, diagnostics, |doc, parsed, found| {
        parse_document(doc, passthrough, front, parsed, found);
    });
    // Resolved once, here: every later stage reads the namespace a resource's objects go to.
    if let Some(default) = default_namespace {
        for resource in parsed
            .resources
            .iter_mut()
            .filter(|r| r.namespace.is_none())
        {
            resource.namespace = Some(default.to_string());
        }
        for sealed in parsed.sealed.iter_mut().filter(|s| s.namespace.is_none()) {
            sealed.namespace = Some(default.to_string());
        }
    }
    parsed
}

/// [`parse`], with `document` making of each document what it will: `import` cleans a
/// cluster export's objects first. Each file's problems stop at
/// [`MAX_DIAGNOSTICS`].
pub fn parse_each(
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
    document: impl Fn(Node, &mut Parsed, &mut Vec<Diagnostic>) + Sync,
) -> Parsed {
    use rayon::prelude::*;
    type Secrets = Option<Vec<(Span, String)>>;
    let files: Vec<(usize, &str, &str)> = sources
        .iter()
        .map(|(file, source)| (file, source.text.as_str(), source.display.as_str()))
        .collect();
    let per_file: Vec<(usize, Parsed, Vec<Diagnostic>, Secrets)> = files
        .par_iter()
        .map(|&(file, text, display)| {
            let mut parsed = Parsed::default();
            let mut found = Vec::new();
            let mut secrets = Vec::new();
            let parsed_ok = match yaml::parse_documents(file, text, &mut found) {
                Ok(docs) => {
                    for doc in docs {
                        secrets_of(&doc, &mut secrets);
                        if found.len() < MAX_DIAGNOSTICS {
                            document(doc, &mut parsed, &mut found);
                        }
                    }
                    if found.len() >= MAX_DIAGNOSTICS {
                        found.truncate(MAX_DIAGNOSTICS);
                        found.push(
                            Diagnostic::new(
                                Code::InputLimit,
                                format!(
                                    "more than {MAX_DIAGNOSTICS} problems in this file; the rest \
                                     are not reported"
                                ),
                            )
                            .path(display),
                        );
                    }
                    true
                }
                Err(d) => {
                    found.push(d);
                    false
                }
            };
            (file, parsed, found, parsed_ok.then_some(secrets))
        })
        .collect();
    let mut parsed = Parsed::default();
    for (file, one, found, secrets) in per_file {
        parsed.resources.extend(one.resources);
        parsed.passthrough.extend(one.passthrough);
        parsed.sealed.extend(one.sealed);
        diagnostics.extend(found);
        sources.mark_parsed(file, secrets);
    }
    parsed
}

/// The secret values of a document, by meaning: every scalar under a Swarm node's
/// `privateKey` (and its `id` when that is no peer ID, as when the two are swapped), a
/// Secret's `data` and `stringData`, a SealedSecret's `spec.template.data`, and the same in
/// the items of a list.
fn secrets_of(doc: &Node, out: &mut Vec<(Span, String)>) {
    fn scalars(node: &Node, out: &mut Vec<(Span, String)>) {
        match &node.value {
            Value::Map(entries) => entries.iter().for_each(|(_, v)| scalars(v, out)),
            Value::Seq(items) => items.iter().for_each(|v| scalars(v, out)),
            Value::Null => {}
            Value::Str(s) => out.push((node.span, s.clone())),
            _ => out.push((node.span, node.to_json().to_string())),
        }
    }
    // A document that is no object may be any file's text: none of it is shown.
    if !matches!(doc.value, Value::Map(_)) {
        // Masked in snippets; no message quotes such a document, so its words are not
        // searched for in messages.
        let from = out.len();
        scalars(doc, out);
        out[from..].iter_mut().for_each(|(_, value)| value.clear());
        return;
    }
    let kind = doc.get("kind").and_then(Node::as_str).unwrap_or_default();
    match kind {
        "Swarm" => {
            if let Some(Node {
                value: Value::Seq(nodes),
                ..
            }) = doc.at("spec.nodes")
            {
                for node in nodes {
                    if let Some(key) = node.get("privateKey") {
                        scalars(key, out);
                    }
                    if let Some(id) = node.get("id")
                        && id
                            .as_str()
                            .is_none_or(|s| crate::ipfs::peer_id::PeerId::parse(s).is_err())
                    {
                        scalars(id, out);
                    }
                }
            }
        }
        "Secret" => {
            for field in ["data", "stringData"] {
                if let Some(values) = doc.get(field) {
                    scalars(values, out);
                }
            }
        }
        "SealedSecret" => {
            if let Some(values) = doc.at("spec.template.data") {
                scalars(values, out);
            }
        }
        _ => {}
    }
    if let Some(Node {
        value: Value::Seq(items),
        ..
    }) = doc.get("items")
    {
        for item in items {
            if kind == "SecretList" && item.get("kind").is_none() {
                for field in ["data", "stringData"] {
                    if let Some(values) = item.get(field) {
                        scalars(values, out);
                    }
                }
            }
            secrets_of(item, out);
        }
    }
}

/// `front` names the setting that copies other documents, in a hint where one is refused.
pub fn parse_document(
    doc: Node,
    passthrough: bool,
    front: Front,
    parsed: &mut Parsed,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if !matches!(doc.value, Value::Map(_)) {
        diagnostics.push(
            Diagnostic::new(
                Code::NotAnObject,
                // The kind of value only: a document that is not an object may be any file's
                // text, which is never quoted.
                format!(
                    "expected a Kubernetes object (a mapping), found {}",
                    match &doc.value {
                        Value::Str(_) => "a string".to_string(),
                        Value::Int(_) | Value::Float(_) => "a number".to_string(),
                        _ => doc.describe(),
                    }
                ),
            )
            .at(doc.span),
        );
        return;
    }
    let api_version = header(&doc, "apiVersion", diagnostics);
    let kind = header(&doc, "kind", diagnostics);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return;
    };
    if api_version == model::API_VERSION {
        match Kind::from_name(&kind) {
            Some(kind) => parsed
                .resources
                .push(parse_resource(kind, doc, diagnostics)),
            None => {
                let span = doc.get("kind").map_or(doc.span, |n| n.span);
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                let mut d = Diagnostic::new(
                    Code::UnknownKind,
                    format!("unknown kind `{kind}` in {}", model::API_VERSION),
                )
                .at(span)
                .field("kind")
                .help(format!("kotalc compiles {}", names.join(", ")));
                if let Some(s) = suggest(&kind, names.iter().copied()) {
                    d = d.label(format!("did you mean `{s}`?"));
                }
                diagnostics.push(d);
            }
        }
    } else if api_version == crate::model::SEALED_SECRET_API_VERSION
        && kind == crate::model::SEALED_SECRET_KIND
    {
        diagnostics.extend(plaintext_secret(&doc));
        parsed.sealed.push(Passthrough::of(doc));
    } else if let Some(d) = plaintext_secret(&doc) {
        diagnostics.push(d);
    } else if passthrough && !api_version.starts_with(&format!("{}/", model::GROUP)) {
        parsed.passthrough.push(Passthrough::of(doc));
    } else {
        let span = doc.get("apiVersion").map_or(doc.span, |n| n.span);
        let help = if api_version.starts_with(&format!("{}/", model::GROUP)) {
            format!("kotalc reads {}", model::API_VERSION)
        } else {
            format!(
                "kotalc compiles Kotal IPFS resources (Peer, ClusterPeer); {} to copy other \
                 manifests to the output unchanged",
                front.set(Setting::Passthrough, Some("true"))
            )
        };
        diagnostics.push(
            Diagnostic::new(
                Code::UnknownKind,
                format!("`{api_version}` `{kind}` is not a Kotal IPFS resource"),
            )
            .at(span)
            .help(help),
        );
    }
}

/// The one rule on plaintext in the inputs, which every front end applies (`build`, `krm`,
/// the Argo CD and kustomize plugins): a Secret with values, a list holding one at any depth,
/// a SealedSecret whose template holds data. Located at a key, never at a value.
pub fn plaintext_secret(doc: &Node) -> Option<Diagnostic> {
    let api_version = doc
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or_default();
    let kind = doc.get("kind").and_then(Node::as_str).unwrap_or_default();
    if api_version == crate::model::SEALED_SECRET_API_VERSION
        && kind == crate::model::SEALED_SECRET_KIND
    {
        if let Some(span) = doc
            .key_span("spec.template.data")
            .filter(|_| doc.at("spec.template.data").is_some_and(|d| !is_empty(d)))
        {
            return Some(
                Diagnostic::new(
                    Code::PlaintextSecret,
                    "the SealedSecret's spec.template.data holds values in plain text: the \
                     controller copies them into the Secret unencrypted, and they are in git",
                )
                .at(span)
                .field("spec.template.data")
                .help("seal each value into spec.encryptedData (kotalc seal), then remove spec.template.data and rotate the values"),
            );
        }
    } else if let Some(span) = listed_plaintext(doc) {
        return Some(
            Diagnostic::new(
                Code::PlaintextSecret,
                format!(
                    "this {kind} holds a Secret with its values in plain text; a Secret in git is \
                     readable by everyone who can read the repository"
                ),
            )
            .at(span)
            .help("seal each value and commit a SealedSecret instead (kotalc seal), then rotate the values: they are in the git history"),
        );
    } else if api_version == "v1" && kind == "Secret" && has_data(doc) {
        // The span of `kind`, never of a value: the snippet must not show the plaintext.
        let span = doc.get("kind").map_or(doc.span, |n| n.span);
        let name = doc
            .at("metadata.name")
            .and_then(Node::as_str)
            .unwrap_or("<name>");
        let namespace = doc
            .at("metadata.namespace")
            .and_then(Node::as_str)
            .unwrap_or("<namespace>");
        return Some(
            Diagnostic::new(
                Code::PlaintextSecret,
                format!(
                    "Secret {name:?} holds its values in plain text; a Secret in git is readable \
                     by everyone who can read the repository"
                ),
            )
            .at(span)
            .help("seal each value and commit the SealedSecret instead:")
            .help_line(crate::diagnostic::shell::seal(
                Some(namespace),
                name,
                &[
                    "--key",
                    "<key>",
                    "--from-file",
                    "<file>",
                    "-o",
                    crate::kube::manifest::file("SealedSecret", None, name).as_str(),
                ],
            ))
            .help_line("then delete this file, and rotate the values: they are in the git history"),
        );
    }
    None
}

/// Reads `apiVersion` or `kind`, which must be present as strings before anything else can
/// be said about a document.
fn header(doc: &Node, field: &str, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    match doc.get(field) {
        Some(Node {
            value: Value::Str(s),
            ..
        }) if !s.is_empty() => Some(s.clone()),
        Some(node) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::WrongType,
                    format!("expected a non-empty string, found {}", node.describe()),
                )
                .at(node.span)
                .field(field),
            );
            None
        }
        None => {
            diagnostics.push(
                Diagnostic::new(
                    Code::RequiredField,
                    format!("missing required field `{field}`"),
                )
                .at(doc.span)
                .field(field)
                .help("every Kubernetes object names its apiVersion and kind"),
            );
            None
        }
    }
}

fn parse_resource(kind: Kind, root: Node, diagnostics: &mut Vec<Diagnostic>) -> Resource {
    let before = diagnostics.iter().filter(|d| d.is_error()).count();
    let schema = schema::of(kind);
    let mut checker = Checker {
        root: schema,
        diagnostics,
    };
    let cleaned = checker.check(&root, schema, "", root.span);
    let clean = diagnostics.iter().filter(|d| d.is_error()).count() == before;
    let typed = cleaned.and_then(|value| {
        let result = match kind {
            Kind::Peer => serde_json::from_value(value).map(Object::Peer),
            Kind::ClusterPeer => serde_json::from_value(value).map(Object::ClusterPeer),
            Kind::Swarm => serde_json::from_value(value).map(Object::Swarm),
        };
        match result {
            Ok(object) => Some(object),
            Err(e) => {
                // The schema check accepted what serde refuses: a disagreement inside kotalc.
                if clean {
                    diagnostics.push(
                        Diagnostic::new(Code::WrongType, format!("internal error: {e}"))
                            .at(root.span)
                            .help("this is a bug in kotalc; please report it with this file"),
                    );
                }
                None
            }
        }
    });
    let name = root
        .at("metadata.name")
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_string();
    let namespace = own_namespace(&root);
    let origin = root.key_span("metadata.name").unwrap_or(root.span);
    Resource {
        kind,
        root,
        origin,
        name,
        namespace,
        object: typed,
    }
}

/// Walks a node against a JSON Schema, reporting every violation and returning the node as
/// JSON with the offending parts removed.
struct Checker<'a> {
    root: &'a J,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Checker<'_> {
    fn check(&mut self, node: &Node, schema: &J, path: &str, key_span: Span) -> Option<J> {
        let types = schema::types(self.root, schema);
        if !types.is_empty() && !types.iter().any(|t| matches_type(node, t)) {
            self.wrong_type(node, &types, path);
            return None;
        }
        if let Some(allowed) = schema::allowed_values(self.root, schema) {
            let value = node.to_json();
            if !allowed.contains(&value) {
                self.invalid_enum(node, &allowed, path);
                return None;
            }
        }
        let resolved = schema::resolve(self.root, schema);
        match &node.value {
            Value::Map(entries) => Some(self.check_object(node, entries, resolved, path, key_span)),
            Value::Seq(items) => Some(self.check_array(items, resolved, path)),
            Value::Str(s) => self.check_string(node, s, resolved, path),
            Value::Int(i) => self.check_integer(node, *i, resolved, path),
            _ => Some(node.to_json()),
        }
    }

    fn check_object(
        &mut self,
        node: &Node,
        entries: &[(yaml::Key, Node)],
        schema: &J,
        path: &str,
        key_span: Span,
    ) -> J {
        let properties = schema.get("properties").and_then(J::as_object);
        let additional = schema.get("additionalProperties");
        let blocks = self.under_indented(entries, properties);
        let mut out = Map::new();
        for (index, (key, value)) in entries.iter().enumerate() {
            if self.diagnostics.len() >= MAX_DIAGNOSTICS {
                break;
            }
            if let Some((_, fields)) = blocks.iter().find(|(at, _)| *at == index) {
                let fields: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::WrongType,
                        format!("expected a mapping, found {}", value.describe()),
                    )
                    .at(value.span)
                    .field(join(path, &key.name))
                    .help(format!(
                        "{} below belong to `{}`: indent them under `{}:`",
                        fields.join(", "),
                        key.name,
                        key.name
                    )),
                );
                continue;
            }
            if let Some(property) = properties.and_then(|p| p.get(&key.name)) {
                let child = join(path, &key.name);
                if let Some(v) = self.check(value, property, &child, key.span) {
                    out.insert(key.name.clone(), v);
                }
                continue;
            }
            let parent = blocks
                .iter()
                .find(|(at, fields)| *at < index && fields.contains(&key.name.as_str()));
            if let Some((at, _)) = parent {
                let parent = &entries[*at].0.name;
                self.diagnostics.push(
                    Diagnostic::new(Code::UnknownField, format!("unknown field `{}`", key.name))
                        .at(key.span)
                        .field(join(path, &key.name))
                        .label(format!(
                            "a field of `{parent}`: indent it under `{parent}:`"
                        )),
                );
                continue;
            }
            match additional {
                Some(J::Bool(false)) => self.unknown_field(key, properties, path),
                Some(item @ J::Object(_)) => {
                    let child = format!("{path}[{}]", key.name);
                    if let Some(v) = self.check(value, item, &child, key.span) {
                        out.insert(key.name.clone(), v);
                    }
                }
                _ => {
                    out.insert(key.name.clone(), value.to_json());
                }
            }
        }
        if let Some(J::Array(required)) = schema.get("required") {
            for field in required.iter().filter_map(J::as_str) {
                if !entries.iter().any(|(k, _)| k.name == field) {
                    // An empty stand-in lets the rest of the resource be checked; the
                    // rules skip values that are absent from the document.
                    if let Some(placeholder) = properties
                        .and_then(|p| p.get(field))
                        .and_then(|s| empty_of(&schema::types(self.root, s)))
                    {
                        out.insert(field.to_string(), placeholder);
                    }
                    let span = if path.is_empty() { node.span } else { key_span };
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::RequiredField,
                            format!("missing required field `{field}`"),
                        )
                        .at(span)
                        .field(join(path, field)),
                    );
                }
            }
        }
        J::Object(out)
    }

    /// Fields left empty and followed, at the same indentation, by fields that are their own
    /// and not this object's (`resources:`, then `cpu: "2"`): a block that lost its
    /// indentation. Each such field's index, with the names that belong under it.
    fn under_indented<'e>(
        &self,
        entries: &'e [(yaml::Key, Node)],
        properties: Option<&Map<String, J>>,
    ) -> Vec<(usize, Vec<&'e str>)> {
        let Some(properties) = properties else {
            return Vec::new();
        };
        let mut blocks = Vec::new();
        for (index, (key, value)) in entries.iter().enumerate() {
            if !matches!(value.value, Value::Null) {
                continue;
            }
            let Some(own) = properties
                .get(&key.name)
                .map(|p| schema::resolve(self.root, p))
                .and_then(|p| p.get("properties"))
                .and_then(J::as_object)
            else {
                continue;
            };
            let fields: Vec<&str> = entries[index + 1..]
                .iter()
                .map(|(k, _)| k.name.as_str())
                .take_while(|name| !properties.contains_key(*name) && own.contains_key(*name))
                .collect();
            if !fields.is_empty() {
                blocks.push((index, fields));
            }
        }
        blocks
    }

    fn check_array(&mut self, items: &[Node], schema: &J, path: &str) -> J {
        let item_schema = schema.get("items");
        let unique = schema.get("uniqueItems") == Some(&J::Bool(true));
        let mut out: Vec<(J, Span)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let child = format!("{path}[{i}]");
            let value = match item_schema {
                Some(s) => self.check(item, s, &child, item.span),
                None => Some(item.to_json()),
            };
            let Some(value) = value else { continue };
            if unique && let Some((_, first)) = out.iter().find(|(v, _)| *v == value) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateItem,
                        format!("duplicate item {}: this list is a set", item.describe()),
                    )
                    .at(item.span)
                    .field(child)
                    .label("listed again here")
                    .related(*first, "first listed here"),
                );
                continue;
            }
            out.push((value, item.span));
        }
        J::Array(out.into_iter().map(|(v, _)| v).collect())
    }

    fn check_string(&mut self, node: &Node, s: &str, schema: &J, path: &str) -> Option<J> {
        if let Some(source) = schema.get("pattern").and_then(J::as_str)
            && let Some(re) = schema::pattern(source)
            && !re.is_match(s)
        {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::PatternMismatch,
                    format!("Invalid value: {s:?}: must match the pattern `{source}`"),
                )
                .at(node.span)
                .field(path)
                .help(pattern_help(source)),
            );
            return None;
        }
        Some(J::String(s.to_string()))
    }

    fn check_integer(&mut self, node: &Node, i: i128, schema: &J, path: &str) -> Option<J> {
        let min = schema.get("minimum").and_then(J::as_f64);
        let max = schema.get("maximum").and_then(J::as_f64);
        // Bounds are small whole numbers in kotalc's schemas, so the f64 comparison is exact.
        #[allow(clippy::cast_precision_loss)]
        let value = i as f64;
        if min.is_some_and(|m| value < m) || max.is_some_and(|m| value > m) {
            let range = match (min, max) {
                (Some(lo), Some(hi)) => format!("must be between {lo} and {hi}"),
                (Some(lo), None) => format!("must be at least {lo}"),
                (None, Some(hi)) => format!("must be at most {hi}"),
                (None, None) => String::new(),
            };
            self.diagnostics.push(
                Diagnostic::new(Code::OutOfRange, format!("Invalid value: {i}: {range}"))
                    .at(node.span)
                    .field(path),
            );
            return None;
        }
        Some(node.to_json())
    }

    fn wrong_type(&mut self, node: &Node, types: &[String], path: &str) {
        let expected: Vec<&str> = types.iter().map(|t| type_name(t)).collect();
        let mut d = Diagnostic::new(
            Code::WrongType,
            format!(
                "expected {}, found {}",
                expected.join(" or "),
                node.describe()
            ),
        )
        .at(node.span)
        .field(path);
        let wants = |t: &str| types.iter().any(|x| x == t);
        match &node.value {
            Value::Str(s) if wants("boolean") => {
                d = d.help(format!(
                    "YAML 1.1 spellings such as `{s}` are strings in YAML 1.2: write `true` or `false`"
                ));
            }
            Value::Str(s) if wants("integer") && s.trim().parse::<i64>().is_ok() => {
                d = d.help(format!("write the number without quotes: {}", s.trim()));
            }
            // A fraction of a core is millicores: `0.5` quoted would fail the pattern.
            Value::Float(f)
                if wants("string")
                    && (path.ends_with(".cpu") || path.ends_with(".cpuLimit"))
                    && millicores(*f).is_some() =>
            {
                let m = millicores(*f).unwrap_or_default();
                d = d.help(format!(
                    "CPU is whole cores or millicores: write {m}m for {f} of a core"
                ));
            }
            Value::Int(_) | Value::Float(_) | Value::Bool(_) if wants("string") => {
                let text = node.to_json().to_string();
                d = d.help(format!("quote the value to make it a string: \"{text}\""));
            }
            Value::Null => d = d.help("remove the field to leave it unset"),
            _ => {}
        }
        self.diagnostics.push(d);
    }

    fn invalid_enum(&mut self, node: &Node, allowed: &[J], path: &str) {
        let shown: Vec<String> = allowed
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
            .collect();
        let found = match &node.value {
            Value::Str(s) => format!("{s:?}"),
            _ => node.to_json().to_string(),
        };
        let mut d = Diagnostic::new(
            Code::InvalidEnum,
            format!(
                "Unsupported value: {found}: supported values: {}",
                shown.join(", ")
            ),
        )
        .at(node.span)
        .field(path);
        if let Some(s) = node
            .as_str()
            .and_then(|s| suggest(s, shown.iter().map(String::as_str)))
        {
            d = d.label(format!("did you mean `{s}`?"));
        }
        self.diagnostics.push(d);
    }

    fn unknown_field(&mut self, key: &yaml::Key, properties: Option<&Map<String, J>>, path: &str) {
        let known: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut d = Diagnostic::new(Code::UnknownField, format!("unknown field `{}`", key.name))
            .at(key.span)
            .field(join(path, &key.name));
        match suggest(&key.name, known.iter().copied()) {
            Some(s) => d = d.label(format!("did you mean `{s}`?")),
            None if !known.is_empty() => {
                let place = if path.is_empty() {
                    "the resource"
                } else {
                    path
                };
                d = d.help(format!("fields of {place}: {}", known.join(", ")));
            }
            None => {}
        }
        self.diagnostics.push(d);
    }
}

fn empty_of(types: &[String]) -> Option<J> {
    match types.first().map(String::as_str) {
        Some("string") => Some(J::String(String::new())),
        Some("object") => Some(J::Object(Map::new())),
        Some("array") => Some(J::Array(Vec::new())),
        _ => None,
    }
}

fn matches_type(node: &Node, ty: &str) -> bool {
    matches!(
        (&node.value, ty),
        (Value::Str(_), "string")
            | (Value::Int(_), "integer" | "number")
            | (Value::Float(_), "number")
            | (Value::Bool(_), "boolean")
            | (Value::Map(_), "object")
            | (Value::Seq(_), "array")
            | (Value::Null, "null")
    )
}

fn type_name(ty: &str) -> &str {
    match ty {
        "object" => "a mapping",
        "array" => "a list",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "string" => "a string",
        "number" => "a number",
        other => other,
    }
}

/// What a pattern means, in words, for the patterns kotalc's schemas use.
fn pattern_help(source: &str) -> String {
    match source {
        r"^[1-9][0-9]*m?$" => "CPU is whole cores or millicores, like `2` or `500m`".into(),
        r"^[1-9][0-9]*[KMGTPE]i$" => {
            "a whole number with a binary unit Ki, Mi, Gi, Ti, Pi or Ei, like `512Mi` or `10Gi`"
                .into()
        }
        other => format!("the value must match `{other}`"),
    }
}

pub fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// `0.5` cores as `500` millicores, when it is a whole, positive number of them.
fn millicores(cores: f64) -> Option<u64> {
    let m = (cores * 1000.0).round();
    ((cores * 1000.0 - m).abs() < 1e-6 && (1.0..1e15).contains(&m)).then_some(m as u64)
}

/// Where to point for a field: its value when written, else the nearest written ancestor.
pub fn span_of(resource: &Resource, path: &str) -> Span {
    let mut current = path;
    loop {
        if let Some(node) = resource.root.at(current) {
            return node.span;
        }
        match current.rsplit_once('.') {
            Some((parent, _)) => {
                if let Some(span) = resource.root.key_span(parent) {
                    return span;
                }
                current = parent;
            }
            None => return resource.root.span,
        }
    }
}

/// The annotation at `key` (whose name has dots, so no dotted path reaches it).
pub fn annotation<'a>(resource: &'a Resource, key: &str) -> Option<(Span, &'a Node)> {
    let (key, value) = resource.root.at("metadata.annotations")?.entry(key)?;
    Some((key.span, value))
}

/// The string items of the list at `path`, each with its own field path.
pub fn items<'a>(resource: &'a Resource, path: &str) -> Vec<(String, &'a str)> {
    match resource.root.at(path) {
        Some(Node {
            value: Value::Seq(items),
            ..
        }) => items
            .iter()
            .enumerate()
            .filter_map(|(i, node)| Some((format!("{path}[{i}]"), node.as_str()?)))
            .collect(),
        _ => Vec::new(),
    }
}
