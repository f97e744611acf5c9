//! YAML documents as a tree whose every node and key knows where it came from.
//!
//! serde-saphyr parses; this module only keeps its spans so that later stages can point at the
//! exact key or value they complain about, long after parsing.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Spanned};

use crate::diagnostic::source::{FileId, Span};
use crate::diagnostic::{Code, Diagnostic};

/// How deep a document may nest. Kubernetes objects stay far below it; the limit keeps a
/// hostile file from exhausting the stack.
pub const MAX_DEPTH: usize = 100;

#[derive(Clone, Debug)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    /// An empty node at `span`.
    pub fn null(span: Span) -> Node {
        Node {
            span,
            value: Value::Null,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The node at a dotted path such as `spec.resources.cpu` or `spec.profiles[1]`.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('.').try_fold(self, |node, segment| {
            match segment.strip_suffix(']').and_then(|s| s.split_once('[')) {
                Some((key, index)) => {
                    let index: usize = index.parse().ok()?;
                    match &node.get(key)?.value {
                        Value::Seq(items) => items.get(index),
                        _ => None,
                    }
                }
                None => node.get(segment),
            }
        })
    }

    /// The span of the key that introduces the value at `path`, or of the value for the root.
    pub fn key_span(&self, path: &str) -> Option<Span> {
        let (parent, last) = match path.rsplit_once('.') {
            Some((parent, last)) => (self.at(parent)?, last),
            None => (self, path),
        };
        parent.entry(last).map(|(k, _)| k.span)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What a user would call this value, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => format!("boolean {b}"),
            Value::Int(i) => format!("integer {i}"),
            Value::Float(f) => format!("number {f}"),
            Value::Str(s) => format!("string {s:?}"),
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }

    /// The node as plain JSON, for typed deserialization and passthrough.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => i64::try_from(*i)
                .map(J::from)
                .or_else(|_| u64::try_from(*i).map(J::from))
                .unwrap_or(J::Null),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// YAML nodes in one file: this bounds the memory of one file's tree to about 300 MiB,
/// where the parser's own limit let a 30 MB flow list take gigabytes.
pub const MAX_NODES: usize = 3_000_000;
/// Documents in one file.
pub const MAX_DOCUMENTS: usize = 100_000;

/// A document of a cluster export, as the reader that parses it holds it.
pub trait Document: Sized {
    fn kind(&self) -> &str;
    /// The items of a list, taken out of it; `None` if it holds no sequence of items.
    fn take_items(&mut self) -> Option<Vec<Self>>;
}

impl Document for Node {
    fn kind(&self) -> &str {
        self.get("kind").and_then(Node::as_str).unwrap_or_default()
    }

    fn take_items(&mut self) -> Option<Vec<Node>> {
        let Value::Map(entries) = &mut self.value else {
            return None;
        };
        match entries.iter_mut().find(|(k, _)| k.name == "items") {
            Some((
                _,
                Node {
                    value: Value::Seq(items),
                    ..
                },
            )) => Some(std::mem::take(items)),
            _ => None,
        }
    }
}

impl Document for serde_json::Value {
    fn kind(&self) -> &str {
        self["kind"].as_str().unwrap_or_default()
    }

    fn take_items(&mut self) -> Option<Vec<Self>> {
        match self.get_mut("items") {
            Some(serde_json::Value::Array(items)) => Some(std::mem::take(items)),
            _ => None,
        }
    }
}

/// Each object of a document, in order, the items of lists opened at any depth: `kubectl get`
/// prints `kind: List`, and the API itself answers `PeerList` and the like.
pub fn objects<D: Document>(mut doc: D, each: &mut impl FnMut(D)) {
    if doc.kind().ends_with("List")
        && let Some(items) = doc.take_items()
    {
        for item in items {
            objects(item, each);
        }
    } else {
        each(doc);
    }
}

/// The options every kotalc YAML read uses: YAML 1.2 booleans only (`yes` stays a string, and
/// the schema then rejects it), duplicate keys refused, bounded nesting and alias expansion.
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        duplicate_keys: DuplicateKeyPolicy::Error,
        leading_zero_numbers_as_strings: true,
        // Sized for the largest file the loader reads (32 MiB): no real repository reaches
        // these, and alias expansion keeps serde-saphyr's own bounds.
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_documents: MAX_DOCUMENTS,
            max_nodes: MAX_NODES,
            max_events: 64_000_000,
        },
    }
}

/// Parses every non-empty document of a file. A syntax error fails the whole file: YAML
/// after a syntax error cannot be trusted. Each `!!binary` value is a `binary-value` warning
/// in `warnings`.
pub fn parse_documents(
    file: FileId,
    text: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<Node>, Diagnostic> {
    match serde_saphyr::from_multiple_with_options::<Spanned<Raw>>(text, options()) {
        Ok(docs) => docs
            .into_iter()
            .map(|d| convert(file, d, warnings))
            .collect(),
        Err(e) => Err(syntax_error(file, &e)),
    }
}

/// A serde-saphyr error as a kotalc diagnostic, with serde-saphyr's message and position but
/// kotalc's own rendering.
pub fn syntax_error(file: FileId, e: &serde_saphyr::Error) -> Diagnostic {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::UserMessageFormatter
        .format_message(e.without_snippet())
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>();
    let (code, help) = if [
        "budget",
        "depth",
        "recursion",
        "limits breached",
        "too large",
    ]
    .iter()
    .any(|word| message.contains(word))
    {
        (
            Code::InputLimit,
            Some(format!(
                "kotalc limits nesting to {MAX_DEPTH} levels, a file to {MAX_NODES} nodes, and bounds alias expansion"
            )),
        )
    } else if message.contains("duplicate mapping key") {
        (
            Code::DuplicateKey,
            Some("other YAML tools silently keep the last value; keep one".to_string()),
        )
    } else if message.contains("tab") {
        (
            Code::YamlSyntax,
            Some("indent YAML with spaces, not tabs".to_string()),
        )
    } else if message.contains("mapping values are not allowed") {
        (
            Code::YamlSyntax,
            Some(
                "check the indentation of this line against the key above it: keys of one \
                 mapping start in the same column, and a nested mapping is indented under \
                 a key that ends in `:` with no value; also check for a `: ` inside an \
                 unquoted value (quote it)"
                    .to_string(),
            ),
        )
    } else {
        (Code::YamlSyntax, None)
    };
    let mut d = Diagnostic::new(code, message);
    if let Some(loc) = e.location() {
        d = d.at(Span {
            file,
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            col: u32::try_from(loc.column()).unwrap_or(u32::MAX),
            len: u32::try_from(loc.span().len()).unwrap_or(1),
        });
    }
    if let Some(help) = help {
        d = d.help(help);
    }
    d
}

fn span(file: FileId, loc: &serde_saphyr::Location) -> Span {
    Span {
        file,
        line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
        col: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        len: u32::try_from(loc.span().len()).unwrap_or(0),
    }
}

fn convert(
    file: FileId,
    raw: Spanned<Raw>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Node, Diagnostic> {
    let at = span(file, &raw.referenced);
    if raw.value.binary && warnings.len() < MAX_WARNINGS {
        warnings.push(binary_value(at));
    }
    let value = match raw.value.node {
        RawNode::Null => Value::Null,
        RawNode::Bool(b) => Value::Bool(b),
        RawNode::Int(i) => Value::Int(i),
        RawNode::Float(f) => Value::Float(f),
        RawNode::Str(s) => Value::Str(s),
        RawNode::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|i| convert(file, i, warnings))
                .collect::<Result<_, _>>()?,
        ),
        RawNode::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key_span = span(file, &k.referenced);
                if k.value.binary && warnings.len() < MAX_WARNINGS {
                    warnings.push(binary_value(key_span));
                }
                let name = match k.value.node {
                    RawNode::Str(s) => s,
                    RawNode::Int(i) => i.to_string(),
                    RawNode::Bool(b) => b.to_string(),
                    _ => {
                        return Err(Diagnostic::new(
                            Code::YamlSyntax,
                            "mapping keys must be strings",
                        )
                        .at(key_span));
                    }
                };
                out.push((
                    Key {
                        name,
                        span: key_span,
                    },
                    convert(file, v, warnings)?,
                ));
            }
            Value::Map(out)
        }
    };
    Ok(Node { span: at, value })
}

/// A `!!binary` value is decoded from base64 by the parser: the text a reviewer reads is not
/// the value kotalc uses, so it is said.
fn binary_value(at: Span) -> Diagnostic {
    Diagnostic::new(
        Code::BinaryValue,
        "a `!!binary` value: YAML decodes its base64, so the value used is not the text \
         written here",
    )
    .at(at)
    .help("write the value itself as a string, without the `!!binary` tag")
}

/// `binary-value` warnings of one file, at most: each holds a few hundred bytes.
const MAX_WARNINGS: usize = 10_000;

/// The tag YAML resolves `!!binary` to.
const BINARY_TAG: &str = "tag:yaml.org,2002:binary";

/// A node as serde-saphyr hands it back, and whether its tag was `!!binary`.
struct Raw {
    node: RawNode,
    binary: bool,
}

/// What serde-saphyr hands back before spans are tied to a file.
enum RawNode {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

/// Read as serde-saphyr's `Tagged` is: the node's value, then its resolved tag.
impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TaggedVisitor;
        impl<'de> Visitor<'de> for TaggedVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let node = seq
                    .next_element::<RawNode>()?
                    .ok_or_else(|| de::Error::custom("a node without a value"))?;
                let tag = seq.next_element::<String>()?;
                Ok(Raw {
                    node,
                    binary: tag.as_deref() == Some(BINARY_TAG),
                })
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                RawNode::deserialize(d).map(|node| Raw {
                    node,
                    binary: false,
                })
            }
        }
        deserializer.deserialize_newtype_struct("__yaml_tagged", TaggedVisitor)
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_none<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawNode, E> {
        Ok(RawNode::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawNode, E> {
        Ok(RawNode::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawNode, E> {
        i128::try_from(v)
            .map(RawNode::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawNode, E> {
        String::from_utf8(v.to_vec())
            .map(RawNode::Str)
            .map_err(|_| E::custom("binary values are not supported"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(RawNode::Map(entries))
    }
}
