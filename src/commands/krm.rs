//! kotalc as a KRM function (`kotalc krm`): a `ResourceList` on stdin, one on stdout. Kotal
//! resources, and the SealedSecrets among the items, are replaced by what `build` renders from
//! them; every other item passes through untouched. Problems become `results`.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as J, json};
use serde_saphyr::Spanned;

use std::fmt;
use std::io::{self, Write};

use crate::compile::{self, Options, Pending, Settings};
use crate::diagnostic::settings::{Front, Setting};
use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::kube::manifest::Object;
use crate::model::GROUP;

pub const RESOURCE_LIST: &str = "config.kubernetes.io/v1";

/// The annotations kustomize and kpt add to items; they describe the item's origin, not the
/// resource, so they are not copied to rendered objects.
const ORIGIN: &[&str] = &["config.kubernetes.io/", "internal.config.kubernetes.io/"];

/// Runs the function. Returns the output list and whether an error was reported.
pub fn run(input: &str) -> (J, bool) {
    let processed = process_list(input, false);
    let mut items = processed.items;
    let out_items: Vec<J> = processed
        .passed
        .iter()
        .map(|&i| std::mem::take(&mut items[i]))
        .chain(processed.rendered.into_iter().map(|o| o.value))
        .collect();
    let output = json!({
        "apiVersion": RESOURCE_LIST,
        "kind": "ResourceList",
        "items": out_items,
        "results": processed.results,
    });
    (output, processed.failed)
}

/// Runs the function and writes the output list as YAML. Items that pass through are copied
/// as their original text, comments, tags and number spellings included, so that kotalc
/// never changes a value it does not own; rendered objects are written as they are rendered,
/// so that the output is never held whole; results are serialised. Returns whether an error
/// was reported.
pub fn run_text(input: &str, out: &mut dyn Write) -> io::Result<bool> {
    let processed = process_list(input, true);
    let empty = processed.passed.is_empty()
        && processed.rendered.is_empty()
        && processed.pending.as_ref().is_none_or(Pending::is_empty);
    out.write_all(format!("apiVersion: {RESOURCE_LIST}\nkind: ResourceList\n").as_bytes())?;
    out.write_all(if empty { b"items: []\n" } else { b"items:\n" })?;
    for &n in &processed.passed {
        match processed.texts.get(n) {
            Some(Some(original)) => out.write_all(original.as_bytes())?,
            _ => out.write_all(entry(&processed.items[n]).as_bytes())?,
        }
    }
    let mut rendered = |object: &Object, out: &mut dyn Write| {
        out.write_all(entry_of_yaml(&object.yaml).as_bytes())
    };
    for object in &processed.rendered {
        rendered(object, out)?;
    }
    if let Some(pending) = processed.pending {
        pending.write_each(out, &mut rendered)?;
    }
    out.write_all(b"results:\n")?;
    for result in &processed.results {
        out.write_all(entry(result).as_bytes())?;
    }
    out.flush()?;
    Ok(processed.failed)
}

/// Whether an item's original text is valid YAML on its own. An alias in it may name an
/// anchor in another item, which kotalc may have replaced: such an item is serialised, its
/// aliases resolved, rather than copied into a list that no longer parses.
fn stands_alone(text: &str) -> bool {
    !text.contains('*')
        || serde_saphyr::from_str_with_options::<J>(text, crate::input::yaml::options()).is_ok()
}

/// One sequence entry: `- ` and the value's YAML, indented under it.
fn entry(value: &J) -> String {
    entry_of_yaml(&crate::diagnostic::manifest_text(value).unwrap_or_default())
}

/// One sequence entry from a value's YAML.
fn entry_of_yaml(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + 64);
    for (i, line) in yaml.lines().enumerate() {
        out.push_str(if i == 0 {
            "- "
        } else if line.is_empty() {
            ""
        } else {
            "  "
        });
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The original text of each item of a block-style `items` list, each as a `- ` entry at
/// column 1, where it stands alone (see [`stands_alone`]); none when the list is not block
/// style (JSON or flow), which is then serialised. `starts` are the items' positions,
/// `key_lines` the lines of the list's keys.
fn item_texts(input: &str, starts: &[(u64, u64)], key_lines: &[u64]) -> Vec<Option<String>> {
    block_texts(input, starts, key_lines)
        .map(|texts| {
            texts
                .into_iter()
                .map(|text| stands_alone(&text).then_some(text))
                .collect()
        })
        .unwrap_or_default()
}

fn block_texts(input: &str, starts: &[(u64, u64)], key_lines: &[u64]) -> Option<Vec<String>> {
    let lines: Vec<&str> = input.split_inclusive('\n').collect();
    let line_of = |n: u64| usize::try_from(n).ok().and_then(|n| n.checked_sub(1));
    let mut heads = Vec::with_capacity(starts.len());
    for &(line, col) in starts {
        let line = line_of(line)?;
        let col = usize::try_from(col).ok()?.checked_sub(1)?;
        let text = lines.get(line)?;
        // The entry's `- ` must open the item's first line, with only spaces before it.
        let indent = col.checked_sub(2)?;
        let head = text.get(..col)?;
        if !head.ends_with("- ") || !head[..indent].bytes().all(|b| b == b' ') {
            return None;
        }
        heads.push((line, indent));
    }
    // The list ends where the next key of the ResourceList starts, or with the document.
    let last = heads.last().map_or(0, |(l, _)| *l);
    let end = key_lines
        .iter()
        .filter_map(|&l| line_of(l))
        .filter(|&l| l > last)
        .min()
        .unwrap_or(lines.len());
    let mut texts = Vec::with_capacity(heads.len());
    for (i, &(line, indent)) in heads.iter().enumerate() {
        let until = heads.get(i + 1).map_or(end, |(next, _)| *next);
        let mut text = String::new();
        for l in lines.get(line..until)? {
            let strip = l.len() - l.trim_start_matches(' ').len();
            text.push_str(&l[strip.min(indent)..]);
        }
        if !text.ends_with('\n') {
            text.push('\n');
        }
        texts.push(text);
    }
    Some(texts)
}

/// The input as read, once: the list's fields as data, and where each item and key starts,
/// so that the items' own text can be copied without parsing the input again.
struct List {
    /// Every field but `items`; the whole value when it is not a mapping.
    fields: J,
    items: Vec<J>,
    /// Each item's line and column, when `items` is a sequence.
    starts: Vec<(u64, u64)>,
    /// The line of each of the list's keys.
    key_lines: Vec<u64>,
}

impl List {
    fn other(value: J) -> List {
        List {
            fields: value,
            items: Vec::new(),
            starts: Vec::new(),
            key_lines: Vec::new(),
        }
    }
}

/// `items`, read with each item's position when it is a sequence; anything else is read as
/// data (so that it fails where data fails) and then left out, as no items.
enum Items {
    Seq(Vec<Spanned<J>>),
    Other,
}

/// The visitor methods of any value but a mapping and a sequence, each read as `J` reads it
/// and then wrapped by `$wrap`.
macro_rules! scalars_as_json {
    ($wrap:expr) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($wrap(J::Null))
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($wrap(J::Null))
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            J::deserialize(d).map($wrap)
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok($wrap(J::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok($wrap(J::from(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok($wrap(J::from(v)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            Ok($wrap(J::from(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(J::from(v)))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok($wrap(J::from(v)))
        }
    };
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ResourceList")
            }
            scalars_as_json!(List::other);
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<List, A::Error> {
                J::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(List::other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List, A::Error> {
                let mut list = List::other(J::Null);
                let mut fields = Map::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    list.key_lines.push(key.referenced.line());
                    if key.value != "items" {
                        fields.insert(key.value, map.next_value()?);
                    } else if let Items::Seq(items) = map.next_value()? {
                        list.starts = items
                            .iter()
                            .map(|i| (i.referenced.line(), i.referenced.column()))
                            .collect();
                        list.items = items.into_iter().map(|i| i.value).collect();
                    }
                }
                list.fields = J::Object(fields);
                Ok(list)
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemsVisitor;
        impl<'de> Visitor<'de> for ItemsVisitor {
            type Value = Items;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of items")
            }
            scalars_as_json!(|_: J| Items::Other);
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Items::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Items, A::Error> {
                J::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|_| Items::Other)
            }
        }
        deserializer.deserialize_any(ItemsVisitor)
    }
}

/// What the function does with a list.
struct Processed {
    /// The input's items; when streaming, `Null` for those copied as their text.
    items: Vec<J>,
    /// Each item's original text, where it can be copied as it is.
    texts: Vec<Option<String>>,
    /// The items passed through, by index, in output order: first in the output.
    passed: Vec<usize>,
    /// The objects kotalc rendered, after them.
    rendered: Vec<Object>,
    /// Or, when streaming, the render still to be done.
    pending: Option<Pending>,
    /// Every result, the summary last.
    results: Vec<J>,
    failed: bool,
}

/// Processes a ResourceList; with `stream`, the render is left to be written.
fn process_list(input: &str, stream: bool) -> Processed {
    // Read as `build` reads its inputs: YAML 1.2 (`n` and `yes` are strings), duplicate keys
    // refused, and the same limits, so that a list as large as `build` accepts works.
    let list: List = match serde_saphyr::from_str_with_options(input, crate::input::yaml::options())
    {
        Ok(list) => list,
        // The parser's message without its snippet: the snippet would quote the input's
        // lines, Secret values included.
        Err(e) => {
            let d = crate::input::yaml::syntax_error(0, &e);
            let at = d
                .span
                .map(|s| format!(" (line {}, column {})", s.line, s.col))
                .unwrap_or_default();
            return failure(
                Vec::new(),
                Vec::new(),
                &format!(
                    "[{}] the input is not valid YAML{at}: {}",
                    d.code.as_str(),
                    d.message
                ),
            );
        }
    };
    if list.fields["kind"] != "ResourceList" {
        return failure(
            Vec::new(),
            Vec::new(),
            "the input is not a ResourceList (config.kubernetes.io/v1)",
        );
    }
    let List {
        fields,
        mut items,
        starts,
        key_lines,
    } = list;
    let texts = item_texts(input, &starts, &key_lines);
    let mut options = match settings(&fields["functionConfig"], Front::Krm).and_then(Options::new) {
        Ok(options) => options,
        Err(message) => return failure(items, texts, &message),
    };

    let (listing, mut binary) = binary_values(input, &starts, &key_lines);
    let mut binary_results = Vec::new();
    let mut sources = Sources::default();
    let mut origins = Vec::new();
    let mut passed = Vec::new();
    // Items that pass through but may hold a Secret's values: checked by `build`'s rule.
    let mut checked = Sources::default();
    let mut checked_origins = Vec::new();
    let mut to_compile = Vec::new();
    for (index, item) in items.iter_mut().enumerate() {
        // Streamed, an item written as its text needs no data once it is read.
        let copied = stream && texts.get(index).is_some_and(Option::is_some);
        if !consumed(item) {
            if may_hold_secret(item) {
                let (display, origin) = origin_of(item, index);
                checked_origins.push(origin);
                checked.add(display, serde_saphyr::to_string(item).unwrap_or_default());
            }
            passed.push(index);
            if copied {
                *item = J::Null;
            }
            continue;
        }
        let (display, origin) = origin_of(item, origins.len());
        // Rendered from its decoded value: said, unless allowed.
        if !options.allow.contains(&Code::BinaryValue) {
            for mut d in binary.remove(&index).unwrap_or_default() {
                if options.deny_warnings {
                    d.severity = Severity::Error;
                }
                binary_results.push((
                    d.severity,
                    result(&d, &listing, std::slice::from_ref(&origin)),
                ));
            }
        }
        let mut resource = if copied { item.take() } else { item.clone() };
        origins.push(origin);
        strip_origin(&mut resource);
        to_compile.push((display, resource));
    }
    // Each item the compile reads as YAML, as a file would be: serialised in parallel, in
    // order, each item's data dropped once it is text.
    crate::compile::thread_pool();
    let texts_to_compile: Vec<(String, String)> = {
        use rayon::prelude::*;
        to_compile
            .into_par_iter()
            .map(|(display, resource)| {
                let text = serde_saphyr::to_string(&resource).unwrap_or_default();
                (display, text)
            })
            .collect()
    };
    for (display, text) in texts_to_compile {
        sources.add(display, text);
    }
    let mut plaintext = Vec::new();
    crate::model::parse::parse_each(&mut checked, &mut plaintext, |doc, _, found| {
        found.extend(crate::model::parse::plaintext_secret(&doc));
    });
    // A passed item is copied as written, its tags with it: nothing of it is decoded.
    plaintext.retain(|d| d.code != Code::BinaryValue);
    let mut diagnostics = Vec::new();
    for path in &options.paths {
        crate::input::load::load(std::slice::from_ref(path), &mut sources, &mut diagnostics);
    }
    // Streamed, only the rendered objects' text is needed.
    options.lean = stream;
    let mut outcome = compile::compile_sources(&options, sources, diagnostics);
    let rendered = if stream {
        Vec::new()
    } else {
        outcome.take_objects()
    };
    let mut results: Vec<J> = plaintext
        .iter()
        .map(|d| result(d, &checked, &checked_origins))
        .collect();
    results.extend(binary_results.iter().map(|(_, r)| r.clone()));
    results.extend(
        outcome
            .diagnostics
            .iter()
            .take(crate::diagnostic::SHOWN)
            .map(|d| result(d, &outcome.sources, &origins)),
    );
    if outcome.diagnostics.len() > crate::diagnostic::SHOWN {
        results.push(json!({
            "severity": "info",
            "message": format!(
                "{} more diagnostics not shown",
                outcome.diagnostics.len() - crate::diagnostic::SHOWN
            ),
        }));
    }
    let binary_errors = binary_results
        .iter()
        .filter(|(severity, _)| *severity == Severity::Error)
        .count();
    let plaintext_errors = plaintext.iter().filter(|d| d.is_error()).count();
    let failed = outcome.has_errors() || plaintext_errors > 0 || binary_errors > 0;
    let mut summary = crate::diagnostic::Summary::of(&outcome.diagnostics, outcome.resources);
    summary.errors += plaintext_errors + binary_errors;
    summary.warnings += binary_results.len() - binary_errors;
    results.push(summary_result(&summary));
    if failed {
        passed = (0..items.len()).collect();
    }
    Processed {
        items,
        texts,
        passed,
        rendered: if failed { Vec::new() } else { rendered },
        pending: if failed { None } else { outcome.pending },
        results,
        failed,
    }
}

/// Where an item came from, as kustomize and kpt annotate it: the name its diagnostics give
/// (its path, or `items[n]`), and the reference, path and index its results carry.
fn origin_of(item: &J, n: usize) -> (String, Origin) {
    let annotations = &item["metadata"]["annotations"];
    let path = annotations["config.kubernetes.io/path"]
        .as_str()
        .or_else(|| annotations["internal.config.kubernetes.io/path"].as_str())
        .map(String::from);
    let index = annotations["config.kubernetes.io/index"]
        .as_str()
        .or_else(|| annotations["internal.config.kubernetes.io/index"].as_str())
        .and_then(|i| i.parse::<u64>().ok());
    let display = match &path {
        Some(p) => p.clone(),
        None => format!("items[{n}]"),
    };
    (display, (identity(item), path, index))
}

type Origin = (J, Option<String>, Option<u64>);

/// The `binary-value` warnings of the list, by item: YAML decodes a `!!binary` value, so what
/// kotalc renders from an item is not the text that was reviewed. The list is read again
/// with its tags only when it may hold one (the tag's name, or the `%` of a tag directive or
/// escape); `listing` is the list as the source the warnings point into.
fn binary_values(
    input: &str,
    starts: &[(u64, u64)],
    key_lines: &[u64],
) -> (Sources, std::collections::BTreeMap<usize, Vec<Diagnostic>>) {
    let mut listing = Sources::default();
    let mut by_item = std::collections::BTreeMap::new();
    if !input.contains("binary") && !input.contains('%') {
        return (listing, by_item);
    }
    let file = listing.add("ResourceList".into(), input.to_string());
    let mut warnings = Vec::new();
    if crate::input::yaml::parse_documents(file, input, &mut warnings).is_err() {
        return (listing, by_item);
    }
    // The items end where the list's next key starts.
    let last = starts.last().map_or(0, |&(line, _)| line);
    let end = key_lines
        .iter()
        .copied()
        .filter(|&l| l > last)
        .min()
        .unwrap_or(u64::MAX);
    for d in warnings {
        let Some(line) = d.span.map(|s| u64::from(s.line)) else {
            continue;
        };
        if line >= end {
            continue;
        }
        if let Some(item) = starts.iter().rposition(|&(start, _)| start <= line) {
            by_item.entry(item).or_insert_with(Vec::new).push(d);
        }
    }
    (listing, by_item)
}

/// A Secret, or a list that may hold one at any depth: what passes through only after
/// [`plaintext_secret`](crate::model::parse::plaintext_secret) has read it.
fn may_hold_secret(item: &J) -> bool {
    item["kind"] == "Secret"
        || item["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i.is_object()))
}

/// Documents of the Kotal group and SealedSecrets are the function's input; everything else
/// passes. The whole group, so that a misspelt kind (`kind: peer`) or version is named as an
/// error instead of passing on unrendered.
fn consumed(item: &J) -> bool {
    let kind = item["kind"].as_str().unwrap_or_default();
    item["apiVersion"]
        .as_str()
        .is_some_and(|v| v.strip_prefix(GROUP).is_some_and(|v| v.starts_with('/')))
        || (item["apiVersion"] == crate::model::SEALED_SECRET_API_VERSION
            && kind == crate::model::SEALED_SECRET_KIND)
}

/// Removes the orchestrator's annotations, adding nothing: an item without annotations (or
/// without metadata) stays as it is.
fn strip_origin(item: &mut J) {
    let Some(metadata) = item.get_mut("metadata").and_then(J::as_object_mut) else {
        return;
    };
    if let Some(annotations) = metadata.get_mut("annotations").and_then(J::as_object_mut) {
        annotations.retain(|k, _| !ORIGIN.iter().any(|p| k.starts_with(p)));
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
}

fn identity(item: &J) -> J {
    let mut reference = Map::new();
    for (key, value) in [
        ("apiVersion", &item["apiVersion"]),
        ("kind", &item["kind"]),
        ("name", &item["metadata"]["name"]),
        ("namespace", &item["metadata"]["namespace"]),
    ] {
        if let Some(text) = value.as_str() {
            reference.insert(key.to_string(), json!(text));
        }
    }
    J::Object(reference)
}

/// The settings of a functionConfig's or plugin configuration's `spec` (or, as kpt passes
/// them, a ConfigMap's `data`), for [`Options::new`] to check.
pub fn settings(config: &J, front: Front) -> Result<Settings, String> {
    let spec = if config["spec"].is_object() {
        &config["spec"]
    } else {
        &config["data"]
    };
    let text = |setting: Setting| match &spec[setting.key()] {
        J::String(text) => Ok(Some(text.clone())),
        J::Null => Ok(None),
        _ => Err(format!("{}: expected a string", front.name(setting))),
    };
    let flag = |setting: Setting| match &spec[setting.key()] {
        J::Bool(b) => Ok(Some(*b)),
        J::String(s) if s == "true" || s == "false" => Ok(Some(s == "true")),
        J::Null => Ok(None),
        other => Err(format!(
            "{}: expected true or false, found {other}",
            front.name(setting)
        )),
    };
    let paths = match &spec["paths"] {
        J::Array(paths) => paths
            .iter()
            .map(|p| p.as_str().map(std::path::PathBuf::from))
            .collect::<Option<Vec<_>>>()
            .ok_or("config paths: expected a list of strings")?,
        J::Null => Vec::new(),
        _ => return Err("config paths: expected a list of strings".into()),
    };
    for path in &paths {
        confined(path)?;
    }
    Ok(Settings {
        front,
        paths,
        namespace: text(Setting::Namespace)?,
        passthrough: flag(Setting::Passthrough)?.unwrap_or(false),
        templates: None,
        deny_warnings: flag(Setting::DenyWarnings)?.unwrap_or(false),
        allow: allow(&spec[Setting::Allow.key()], front)?,
        allow_empty: flag(Setting::AllowEmpty)?.unwrap_or(false),
        render: true,
        // On unless the configuration says false.
        no_network_policies: !flag(Setting::NetworkPolicies)?.unwrap_or(true),
        cluster_dns: text(Setting::ClusterDns)?,
        monitoring: text(Setting::Monitoring)?,
        secret_mode: text(Setting::SecretMode)?,
        secret_store: text(Setting::SecretStore)?,
        secret_store_kind: text(Setting::SecretStoreKind)?,
        remote_key_template: text(Setting::RemoteKeyTemplate)?,
    })
}

/// `allow`: warning codes silenced for the whole run, as a list or (in a ConfigMap's `data`)
/// a comma-separated string.
fn allow(value: &J, front: Front) -> Result<Vec<String>, String> {
    let wrong = || {
        format!(
            "{}: expected a list of warning codes",
            front.name(Setting::Allow)
        )
    };
    match value {
        J::Null => Ok(Vec::new()),
        J::String(list) => Ok(crate::model::annotations::list(list)
            .map(String::from)
            .collect()),
        J::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(wrong),
        _ => Err(wrong()),
    }
}

/// The run's summary as an `info` result, the last, as a compiler's last line. It counts
/// every diagnostic, not only the results shown.
fn summary_result(summary: &crate::diagnostic::Summary) -> J {
    json!({ "severity": "info", "message": format!("kotalc: {}", summary.line()) })
}

/// Refuses a configured path outside the working directory (the kustomization root), as
/// kustomize's load restrictor does: a configuration from a pull request must not make
/// kotalc read, and echo, the machine's files.
fn confined(path: &std::path::Path) -> Result<(), String> {
    use std::path::Component;
    let shown = crate::diagnostic::path::display(path);
    let lexical = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let outside = || format!("config paths: {shown:?} is outside the kustomization root");
    if !lexical {
        return Err(outside());
    }
    // A link below the root may still point out of it.
    if crate::input::load::resolves_outside_current_dir(path) {
        return Err(outside());
    }
    Ok(())
}

/// A diagnostic as a KRM `results` entry.
fn result(d: &Diagnostic, sources: &Sources, origins: &[Origin]) -> J {
    let d = &crate::diagnostic::shown(d, sources);
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "info",
    };
    let mut message = format!("[{}] {}", d.code.as_str(), d.message);
    if let Some(label) = &d.label {
        message.push_str(&format!(" ({label})"));
    }
    if !d.help.is_empty() {
        // A result is one line: the help's lines become clauses.
        let help: Vec<&str> = d
            .help
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        message.push_str(&format!(" ({})", help.join("; ")));
    }
    let message = crate::diagnostic::uncommanded(&message);
    let mut entry = json!({ "severity": severity, "message": message });
    if let Some(field) = &d.field {
        entry["field"] = json!({ "path": field });
    }
    if let Some(span) = d.span {
        // Items were added first, in order; files loaded from `paths` follow them.
        match origins.get(span.file) {
            Some((reference, path, index)) => {
                entry["resourceRef"] = reference.clone();
                let mut file = Map::new();
                if let Some(path) = path {
                    file.insert("path".into(), json!(path));
                }
                if let Some(index) = index {
                    file.insert("index".into(), json!(index));
                }
                if !file.is_empty() {
                    entry["file"] = J::Object(file);
                }
            }
            None => {
                entry["file"] = json!({ "path": sources.get(span.file).path });
            }
        }
    }
    entry
}

fn failure(items: Vec<J>, texts: Vec<Option<String>>, message: &str) -> Processed {
    Processed {
        passed: (0..items.len()).collect(),
        items,
        texts,
        rendered: Vec::new(),
        pending: None,
        results: vec![json!({ "severity": "error", "message": message })],
        failed: true,
    }
}
