//! SARIF 2.1.0, for code scanning: one log per run, printed whole in place of the summary.
//!
//! A run reports its diagnostics at several points (the inputs', a revision's, the output's),
//! each through [`super::render`]; in SARIF each becomes a result collected here, and the
//! summary, which every command prints last, prints the log. The log holds no time, no
//! absolute path that the inputs did not name, and nothing in an order other than the
//! diagnostics': the same inputs give the same bytes.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Value as J, json};

use super::{Code, Diagnostic, Severity, Summary};
use crate::diagnostic::source::Sources;

#[derive(Default)]
struct Log {
    results: Vec<J>,
    codes: BTreeSet<Code>,
    notifications: Vec<String>,
    /// Where a diagnostic of the run as a whole is located: the first input path.
    anchor: Option<String>,
}

static LOG: Mutex<Log> = Mutex::new(Log {
    results: Vec::new(),
    codes: BTreeSet::new(),
    notifications: Vec::new(),
    anchor: None,
});

/// Names the run's first input path, where a diagnostic of the run as a whole (no Kotal
/// resource, NetworkPolicies rendered) is located: GitHub's code scanning refuses a whole log
/// if one result has no file.
pub fn anchor(path: &str) {
    log().anchor = Some(path.to_string());
}

fn log() -> std::sync::MutexGuard<'static, Log> {
    LOG.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Text for a SARIF `message.text`: viewers read `[text](target)` in it as a link (SARIF
/// 3.11.6), so literal brackets and backslashes are escaped; control characters already are.
fn message(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A path as a URI reference: relative paths stay relative (to the repository root, where a
/// workflow runs kotalc), absolute ones become `file://` URIs, and every byte outside the
/// unreserved set and `/` is percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn location(file: &str, span: Option<super::source::Span>) -> J {
    let mut physical = json!({ "artifactLocation": { "uri": uri(file) } });
    if let Some(span) = span {
        let mut region = json!({ "startLine": span.line.max(1), "startColumn": span.col.max(1) });
        if span.len > 0 {
            region["endColumn"] = json!(span.col.max(1) + span.len);
        }
        physical["region"] = region;
    }
    json!({ "physicalLocation": physical })
}

/// Collects one diagnostic, already made presentable by [`super::shown`], as a result.
pub fn collect(d: &Diagnostic, sources: &Sources) {
    let mut text = super::labelled(d);
    if let Some(field) = &d.field {
        text = format!("{field}: {text}");
    }
    if !d.help.is_empty() {
        text.push_str("\nhelp: ");
        text.push_str(&d.help.join("\n"));
    }
    let mut result = json!({
        "ruleId": d.code.as_str(),
        "level": level(d.severity),
        "message": { "text": message(&text) },
    });
    let mut log = log();
    let anchor = log.anchor.clone();
    if let Some(file) = d.file(sources).map(str::to_string).or(anchor) {
        let file = super::printable(&file, false);
        let mut located = location(&file, d.span);
        if let Some(field) = &d.field {
            located["logicalLocations"] =
                json!([{ "fullyQualifiedName": field, "kind": "member" }]);
        }
        result["locations"] = json!([located]);
    }
    if !d.related.is_empty() {
        let related: Vec<J> = d
            .related
            .iter()
            .enumerate()
            .map(|(i, (span, note))| {
                let mut located = location(&super::shown_path(sources, *span), Some(*span));
                located["id"] = json!(i);
                located["message"] = json!({ "text": message(note) });
                located
            })
            .collect();
        result["relatedLocations"] = json!(related);
    }
    log.codes.insert(d.code);
    log.results.push(result);
}

/// A note on the run itself, such as diagnostics left out past the cap.
pub fn notify(text: &str) {
    log().notifications.push(text.to_string());
}

/// The rule of a code: its meaning, and what to do about it.
fn rule(code: Code) -> J {
    let mut help = format!(
        "{}. `kotalc explain` documents the fields; the README lists every code.",
        capitalised(code.summary())
    );
    if code.default_severity() != Severity::Error {
        help.push_str(&format!(
            " Silence it for a run with `--allow {}`, or for one resource with the annotation \
             `kotalc.io/allow: {}`.",
            code.as_str(),
            code.as_str()
        ));
    }
    json!({
        "id": code.as_str(),
        "shortDescription": { "text": code.summary() },
        "help": { "text": help },
        "defaultConfiguration": { "level": level(code.default_severity()) },
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The whole log, the results collected so far and the run's summary; the collection is
/// emptied.
pub fn document(summary: &Summary) -> String {
    let mut log = log();
    let codes: Vec<Code> = log.codes.iter().copied().collect();
    let mut results = std::mem::take(&mut log.results);
    for result in &mut results {
        let id = result["ruleId"].as_str().unwrap_or_default();
        if let Some(index) = codes.iter().position(|c| c.as_str() == id) {
            result["ruleIndex"] = json!(index);
        }
    }
    let mut notifications: Vec<J> = std::mem::take(&mut log.notifications)
        .into_iter()
        .map(|text| json!({ "level": "note", "message": { "text": message(&text) } }))
        .collect();
    notifications.push(json!({
        "level": "note",
        "message": { "text": message(&summary.line()) },
    }));
    log.codes.clear();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kotalc",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": codes.into_iter().map(rule).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                // The run itself succeeded: problems in the inputs are its results.
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_brackets_are_never_links() {
        assert_eq!(message("[x](https://e) a\\b"), "\\[x\\](https://e) a\\\\b");
    }

    #[test]
    fn paths_are_uri_references() {
        assert_eq!(uri("peers/a b.yaml"), "peers/a%20b.yaml");
        assert_eq!(uri("/tmp/x#1.yaml"), "file:///tmp/x%231.yaml");
        assert_eq!(uri("ü.yaml"), "%C3%BC.yaml");
    }
}
