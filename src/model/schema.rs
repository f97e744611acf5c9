//! The JSON Schema of each kind, derived by schemars from the model types. The structural
//! checks of `parse` walk it, so the schema and the parser cannot disagree.

use std::sync::OnceLock;

use serde_json::Value as J;

use crate::model::Kind;

/// The schema of a kind, generated once per process.
pub fn of(kind: Kind) -> &'static J {
    static PEER: OnceLock<J> = OnceLock::new();
    static CLUSTER_PEER: OnceLock<J> = OnceLock::new();
    static SWARM: OnceLock<J> = OnceLock::new();
    let cell = match kind {
        Kind::Peer => &PEER,
        Kind::ClusterPeer => &CLUSTER_PEER,
        Kind::Swarm => &SWARM,
    };
    cell.get_or_init(|| {
        let mut schema = kind.schema().to_value();
        strip_null(&mut schema);
        schema
    })
}

/// schemars lets every `Option` field be `null`; kotalc does not (an explicit null is almost
/// always a half-deleted field), so absent is the only way to leave a field unset.
fn strip_null(schema: &mut J) {
    match schema {
        J::Object(map) => {
            if let Some(J::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(J::Array(any)) = map.get("anyOf") {
                let rest: Vec<J> = any
                    .iter()
                    .filter(|s| s.get("type").and_then(J::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if rest.len() == 1 {
                    map.remove("anyOf");
                    if let Some(J::Object(inner)) = rest.into_iter().next() {
                        for (k, v) in inner {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            map.values_mut().for_each(strip_null);
        }
        J::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// Follows a local `$ref` into the root's `$defs`.
pub fn resolve<'a>(root: &'a J, schema: &'a J) -> &'a J {
    let mut current = schema;
    for _ in 0..32 {
        match current.get("$ref").and_then(J::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap_or_default();
                match root.get("$defs").and_then(|d| d.get(name)) {
                    Some(target) => current = target,
                    None => return current,
                }
            }
            None => return current,
        }
    }
    current
}

/// The values a field may take, when the schema enumerates them.
pub fn allowed_values(root: &J, schema: &J) -> Option<Vec<J>> {
    if let Some(J::Array(values)) = schema.get("enum") {
        return Some(values.clone());
    }
    let target = resolve(root, schema);
    if !std::ptr::eq(target, schema) {
        return allowed_values(root, target);
    }
    let alternatives = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))?
        .as_array()?;
    let mut values = Vec::new();
    for alt in alternatives {
        match alt.get("const") {
            Some(c) => values.push(c.clone()),
            None => values.extend(allowed_values(root, alt)?),
        }
    }
    Some(values)
}

/// The JSON types a schema admits (`string`, `integer`, ...), following references.
pub fn types(root: &J, schema: &J) -> Vec<String> {
    let schema = resolve(root, schema);
    match schema.get("type") {
        Some(J::String(t)) => vec![t.clone()],
        Some(J::Array(ts)) => ts.iter().filter_map(J::as_str).map(String::from).collect(),
        _ => match schema.get("oneOf").or_else(|| schema.get("anyOf")) {
            Some(J::Array(alts)) => {
                let mut all: Vec<String> = alts.iter().flat_map(|a| types(root, a)).collect();
                all.dedup();
                all
            }
            _ => Vec::new(),
        },
    }
}

/// Every `pattern` of every kind's schema, compiled once.
pub fn pattern(source: &str) -> Option<&'static regex_lite::Regex> {
    static PATTERNS: OnceLock<std::collections::BTreeMap<String, regex_lite::Regex>> =
        OnceLock::new();
    PATTERNS
        .get_or_init(|| {
            let mut found = std::collections::BTreeMap::new();
            for kind in Kind::ALL {
                collect_patterns(of(*kind), &mut found);
            }
            found
        })
        .get(source)
}

fn collect_patterns(schema: &J, found: &mut std::collections::BTreeMap<String, regex_lite::Regex>) {
    match schema {
        J::Object(map) => {
            if let Some(J::String(p)) = map.get("pattern")
                && let Ok(re) = regex_lite::Regex::new(p)
            {
                found.insert(p.clone(), re);
            }
            map.values().for_each(|v| collect_patterns(v, found));
        }
        J::Array(items) => items.iter().for_each(|v| collect_patterns(v, found)),
        _ => {}
    }
}

/// The JSON Schema `kotalc schema` prints: one kind's, or all kinds' dispatching on `kind`,
/// for editors (the YAML language server) and CI. The same schema the parser checks against.
pub fn document(kind: Option<Kind>) -> J {
    if let Some(kind) = kind {
        let mut one = of(kind).clone();
        one["$id"] = J::String(format!(
            "https://kotalc.dev/schema/{}.json",
            kind.name().to_lowercase()
        ));
        return one;
    }
    let mut defs = serde_json::Map::new();
    let mut branches = Vec::new();
    for kind in Kind::ALL {
        let mut one = of(*kind).clone();
        if let Some(J::Object(own)) = one.as_object_mut().and_then(|o| o.remove("$defs")) {
            for (name, def) in own {
                defs.entry(name).or_insert(def);
            }
        }
        if let Some(map) = one.as_object_mut() {
            map.remove("$schema");
        }
        branches.push(serde_json::json!({
            "if": { "properties": { "kind": { "const": kind.name() } }, "required": ["kind"] },
            "then": one,
        }));
    }
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    // Documents of other API groups (the SealedSecrets committed beside the resources, any
    // passthrough object) are not this schema's to judge: an editor mapping it over a whole
    // tree flags only the Kotal documents. One that claims the group is held to its kinds.
    branches.push(serde_json::json!({
        "if": {
            "properties": { "apiVersion": { "type": "string", "pattern": "^ipfs\\.kotal\\.io/" } },
            "required": ["apiVersion"],
        },
        "then": {
            "properties": {
                "apiVersion": { "const": crate::model::API_VERSION },
                "kind": { "enum": kinds },
            },
        },
    }));
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://kotalc.dev/schema/kotal-ipfs.json",
        "title": "Kotal IPFS resources, as kotalc accepts them; other kinds are left alone",
        "type": "object",
        "required": ["apiVersion", "kind"],
        "allOf": branches,
        "$defs": defs,
    })
}
