//! SARIF 2.1.0, for code scanning: one log per run, printed whole in place of the summary.
//!
//! A run reports its diagnostics at several points (the inputs', a revision's, the output's),
//! each through the diagnostic module's `render`; in SARIF each becomes a result collected here, and the
//! summary, which every command prints last, prints the log. The log holds no time, no
//! absolute path that the inputs did not name, and nothing in an order other than the
//! diagnostics': the same inputs give the same bytes.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value as J, json};

#[derive(Default)]
struct Log {
    results: Vec<J>,
    /// By the code's place in the list of codes, so that rules come in one order.
    rules: BTreeMap<usize, J>,
    notifications: Vec<String>,
    /// Where a diagnostic of the run as a whole is located: the first input path.
    anchor: Option<String>,
}

static LOG: Mutex<Log> = Mutex::new(Log {
    results: Vec::new(),
    rules: BTreeMap::new(),
    notifications: Vec::new(),
    anchor: None,
});

fn log() -> std::sync::MutexGuard<'static, Log> {
    LOG.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Names the run's first input path, where a diagnostic of the run as a whole (no Kotal
/// resource, NetworkPolicies rendered) is located: GitHub's code scanning refuses a whole log
/// if one result has no file.
pub fn anchor(path: &str) {
    log().anchor = Some(path.to_string());
}

/// The run's first input path, if a command named it.
pub fn anchored() -> Option<String> {
    log().anchor.clone()
}

/// Text for a SARIF `message.text`: viewers read `[text](target)` in it as a link (SARIF
/// 3.11.6), so literal brackets and backslashes are escaped. Control characters are escaped
/// before (see `printable`).
pub fn message(text: &str) -> String {
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
pub fn uri(path: &str) -> String {
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

/// Collects one result, and the rule of its code (`order`: the code's place among all codes).
pub fn collect(result: J, order: usize, rule: impl FnOnce() -> J) {
    let mut log = log();
    log.rules.entry(order).or_insert_with(rule);
    log.results.push(result);
}

/// A note on the run itself, such as diagnostics left out past the cap.
pub fn notify(text: &str) {
    log().notifications.push(text.to_string());
}

/// The whole log: the results collected so far, the rules of their codes, and the run's
/// summary (`summary`) as its last notification. The collection is emptied.
pub fn document(summary: &str) -> String {
    let mut log = log();
    let rules: Vec<J> = std::mem::take(&mut log.rules).into_values().collect();
    let mut results = std::mem::take(&mut log.results);
    for result in &mut results {
        let id = &result["ruleId"];
        if let Some(index) = rules.iter().position(|r| &r["id"] == id) {
            result["ruleIndex"] = json!(index);
        }
    }
    let mut notifications: Vec<J> = std::mem::take(&mut log.notifications)
        .into_iter()
        .map(|text| json!({ "level": "note", "message": { "text": message(&text) } }))
        .collect();
    notifications.push(json!({ "level": "note", "message": { "text": message(summary) } }));
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kotalc",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
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
