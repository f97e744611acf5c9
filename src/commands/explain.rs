//! `kotalc explain`, in the layout of `kubectl explain`, answered offline from the schemars
//! schema of the model types: the same schema `build` parses with, so the two cannot drift.

use std::fmt::Write as _;

use serde_json::Value as J;

use crate::model::schema;
use crate::model::{API_VERSION, GROUP, Kind};

/// The resource names `kubectl explain` would take for each kind.
const NAMES: &[(&str, Kind)] = &[
    ("peers", Kind::Peer),
    ("peer", Kind::Peer),
    ("clusterpeers", Kind::ClusterPeer),
    ("clusterpeer", Kind::ClusterPeer),
    ("swarms", Kind::Swarm),
    ("swarm", Kind::Swarm),
];

/// The kind a `kubectl explain` resource name means, case-insensitively.
pub fn kind_of(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    let lower = lower.strip_suffix(&format!(".{GROUP}")).unwrap_or(&lower);
    NAMES.iter().find(|(n, _)| *n == lower).map(|(_, k)| *k)
}

/// Explains `target` (`peers`, `peers.spec.routing`, ...), or says which segment is unknown.
pub fn explain(target: &str, recursive: bool) -> Result<String, String> {
    let mut segments = target.split('.');
    let resource = segments.next().unwrap_or_default();
    let kind = kind_of(resource).ok_or_else(|| {
        let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
        format!(
            "{resource:?} is not a Kotal IPFS kind: kotalc explains its own kinds offline ({}), \
             with no cluster to ask; `{}` asks a cluster",
            names.join(", "),
            crate::diagnostic::shell::command(&["kubectl", "explain", resource])
        )
    })?;
    let root = schema::of(kind);
    let mut node = root;
    let mut path = Vec::new();
    let mut required = false;
    for segment in segments {
        let object = object_of(root, node);
        let properties = object.get("properties").and_then(J::as_object);
        match properties.and_then(|p| p.get(segment)) {
            Some(field) => {
                required = object
                    .get("required")
                    .and_then(J::as_array)
                    .is_some_and(|r| r.iter().any(|f| f == segment));
                node = field;
                path.push(segment);
            }
            None => {
                let valid: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let at = if path.is_empty() {
                    kind.name().to_string()
                } else {
                    format!("{}.{}", kind.name(), path.join("."))
                };
                let mut message = format!("field {segment:?} does not exist in {at}");
                if valid.is_empty() {
                    message.push_str(", which has no fields");
                } else {
                    if let Some(s) = crate::diagnostic::suggest(segment, valid.iter().copied()) {
                        let _ = write!(message, "; did you mean {s:?}?");
                    }
                    let _ = write!(message, "\nvalid fields: {}", valid.join(", "));
                }
                return Err(message);
            }
        }
    }

    let mut out = String::new();
    let version = API_VERSION.rsplit('/').next().unwrap_or_default();
    let _ = writeln!(out, "GROUP:      {GROUP}");
    let _ = writeln!(out, "KIND:       {}", kind.name());
    let _ = writeln!(out, "VERSION:    {version}");
    out.push('\n');
    if let Some(field) = path.last() {
        let _ = writeln!(out, "FIELD: {field} <{}>", type_name(root, node));
        out.push('\n');
    }
    facts(&mut out, root, node, required && !path.is_empty());
    let description = description(root, node);
    out.push_str("DESCRIPTION:\n");
    for line in wrap(&description, 76) {
        let _ = writeln!(out, "    {line}");
    }
    let object = object_of(root, node);
    if object.get("properties").is_some() {
        out.push_str("\nFIELDS:\n");
        fields(&mut out, root, object, 1, recursive);
    }
    if path == ["metadata", "annotations"] {
        out.push_str("\nKOTALC ANNOTATIONS:\n");
        for (name, meaning) in crate::model::annotations::directives(kind) {
            let _ = writeln!(out, "  {name}");
            for line in wrap(meaning, 72) {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    Ok(out)
}

/// The default, allowed values, pattern, range, and whether the field is required, immutable
/// or deprecated: what `kubectl explain` leaves out and users ask first.
fn facts(out: &mut String, root: &J, node: &J, required: bool) {
    let target = schema::resolve(root, node);
    let get = |key: &str| node.get(key).or_else(|| target.get(key));
    let mut any = false;
    let mut enum_values: Vec<String> = Vec::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<16}{value}");
        any = true;
    };
    if required {
        line("REQUIRED:", "yes".into());
    }
    if let Some(default) = get("default") {
        line("DEFAULT:", plain(default));
    }
    if let Some(values) = schema::allowed_values(root, node).or_else(|| {
        let items = object_items(root, node)?;
        schema::allowed_values(root, items)
    }) {
        enum_values = values.iter().map(plain).collect();
    }
    if let Some(J::String(pattern)) = get("pattern") {
        line("PATTERN:", pattern.clone());
    }
    if let (Some(min), Some(max)) = (get("minimum"), get("maximum")) {
        line("RANGE:", format!("{min}-{max}"));
    }
    if get("uniqueItems") == Some(&J::Bool(true)) {
        line("UNIQUE ITEMS:", "yes: the list is a set".into());
    }
    if let Some(J::Number(min)) = get("minItems") {
        line("MIN ITEMS:", min.to_string());
    }
    if let Some(J::String(why)) = get("x-kotalc-immutable") {
        line("IMMUTABLE:", why.clone());
    }
    if let Some(J::String(why)) = get("x-kotalc-deprecated") {
        line("DEPRECATED:", why.clone());
    }
    // One value a line, as `kubectl explain` prints an enum.
    if !enum_values.is_empty() {
        out.push_str("ENUM:\n");
        for value in &enum_values {
            let _ = writeln!(out, "    {value}");
        }
        any = true;
    }
    if any {
        out.push('\n');
    }
}

fn fields(out: &mut String, root: &J, object: &J, depth: usize, recursive: bool) {
    let Some(properties) = object.get("properties").and_then(J::as_object) else {
        return;
    };
    let required: Vec<&str> = object
        .get("required")
        .and_then(J::as_array)
        .map(|r| r.iter().filter_map(J::as_str).collect())
        .unwrap_or_default();
    let indent = "  ".repeat(depth);
    for (name, field) in properties {
        let mut marker = if required.contains(&name.as_str()) {
            " -required-"
        } else {
            ""
        }
        .to_string();
        let immutable = field
            .get("x-kotalc-immutable")
            .or_else(|| schema::resolve(root, field).get("x-kotalc-immutable"));
        if immutable.is_some() {
            marker.push_str(" -immutable-");
        }
        let _ = writeln!(out, "{indent}{name}\t<{}>{marker}", type_name(root, field));
        if recursive {
            let child = object_of(root, field);
            if child.get("properties").is_some() {
                fields(out, root, child, depth + 1, true);
            }
        } else {
            let summary = description(root, field);
            let first = summary.split("\n\n").next().unwrap_or_default();
            for line in wrap(first, 72) {
                let _ = writeln!(out, "{indent}  {line}");
            }
            out.push('\n');
        }
    }
}

/// The object schema a field holds, through references and arrays.
fn object_of<'a>(root: &'a J, node: &'a J) -> &'a J {
    let target = schema::resolve(root, node);
    match target.get("items") {
        Some(items) if target.get("type") == Some(&J::String("array".into())) => {
            schema::resolve(root, items)
        }
        _ => target,
    }
}

fn object_items<'a>(root: &'a J, node: &'a J) -> Option<&'a J> {
    let target = schema::resolve(root, node);
    (target.get("type") == Some(&J::String("array".into())))
        .then(|| target.get("items"))
        .flatten()
}

/// The type as `kubectl explain` writes it: `string`, `[]string`, `map[string]string`,
/// `Object`.
fn type_name(root: &J, node: &J) -> String {
    let target = schema::resolve(root, node);
    match target.get("type").and_then(J::as_str) {
        Some("array") => match target.get("items") {
            Some(items) => format!("[]{}", type_name(root, items)),
            None => "[]Object".into(),
        },
        Some("object") if target.get("properties").is_some() => "Object".into(),
        Some("object") => match target.get("additionalProperties") {
            Some(values @ J::Object(_)) => format!("map[string]{}", type_name(root, values)),
            _ => "Object".into(),
        },
        Some(t) => t.to_string(),
        None => schema::types(root, node).join("|"),
    }
}

/// A field's description: its own, else its type's. Doc comment line breaks are joined.
fn description(root: &J, node: &J) -> String {
    let text = node
        .get("description")
        .or_else(|| schema::resolve(root, node).get("description"))
        .and_then(J::as_str)
        .unwrap_or("<empty>");
    text.split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn plain(value: &J) -> String {
    match value {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Greedy word wrap; paragraphs stay apart.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, paragraph) in text.split("\n\n").enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}
