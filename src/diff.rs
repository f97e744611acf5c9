//! What a change does to the cluster, per object: the dry run behind `kotalc diff` and
//! `build --check`. Changes a cluster refuses, or that lose data, are called out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value as J;
use similar::TextDiff;

use crate::quantity;

/// One object, by the identity a cluster knows it by, with its canonical YAML.
#[derive(Clone, Debug)]
pub struct Side {
    pub kind: String,
    pub value: J,
    pub yaml: String,
}

/// `Kind namespace/name`, or `Kind name` without a namespace.
pub fn key(value: &J) -> String {
    let text = |v: &J| v.as_str().unwrap_or_default().to_string();
    let kind = text(&value["kind"]);
    let name = text(&value["metadata"]["name"]);
    match value["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

pub fn side(value: J) -> Side {
    Side {
        kind: value["kind"].as_str().unwrap_or_default().to_string(),
        yaml: serde_saphyr::to_string(&value).unwrap_or_default(),
        value,
    }
}

#[derive(Debug)]
pub enum Change {
    Added,
    Removed,
    Changed { unified: String },
}

#[derive(Debug)]
pub struct Entry {
    pub key: String,
    pub change: Change,
    /// Why the cluster would refuse the change, or data would be lost.
    pub warnings: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub entries: Vec<Entry>,
    pub unchanged: usize,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Compares two sets of objects by identity; the entries are sorted by key.
pub fn compare(old: BTreeMap<String, Side>, mut new: BTreeMap<String, Side>) -> Report {
    let mut report = Report::default();
    for (key, before) in old {
        match new.remove(&key) {
            None => {
                let mut warnings = Vec::new();
                if before.kind == "PersistentVolumeClaim" {
                    warnings.push(
                        "the PersistentVolumeClaim is no longer rendered: its data is lost once \
                         it is pruned or deleted (kotalc marks claims Prune=false, so a GitOps \
                         prune keeps it until it is deleted by hand)"
                            .to_string(),
                    );
                }
                report.entries.push(Entry {
                    key,
                    change: Change::Removed,
                    warnings,
                });
            }
            Some(after) if after.yaml == before.yaml => report.unchanged += 1,
            Some(after) => {
                let warnings = destructive(&before, &after);
                let unified = unified(&before.yaml, &after.yaml, &key);
                report.entries.push(Entry {
                    key,
                    change: Change::Changed { unified },
                    warnings,
                });
            }
        }
    }
    for (key, _) in new {
        report.entries.push(Entry {
            key,
            change: Change::Added,
            warnings: Vec::new(),
        });
    }
    report.entries.sort_by(|a, b| a.key.cmp(&b.key));
    report
}

pub fn unified(before: &str, after: &str, name: &str) -> String {
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Changes that the API server refuses or that destroy data.
fn destructive(before: &Side, after: &Side) -> Vec<String> {
    let (old, new) = (&before.value, &after.value);
    let mut warnings = Vec::new();
    match before.kind.as_str() {
        "StatefulSet" => {
            if old["spec"]["selector"] != new["spec"]["selector"] {
                warnings.push(
                    "the StatefulSet's selector changes, and a selector is immutable: the \
                     StatefulSet must be deleted and recreated (with --cascade=orphan to keep \
                     its pod running until then)"
                        .to_string(),
                );
            }
            if old["spec"]["serviceName"] != new["spec"]["serviceName"] {
                warnings.push(
                    "serviceName is immutable: the StatefulSet must be recreated".to_string(),
                );
            }
        }
        "PersistentVolumeClaim" => {
            let storage = |v: &J| {
                v["spec"]["resources"]["requests"]["storage"]
                    .as_str()
                    .and_then(quantity::bytes)
            };
            if let (Some(o), Some(n)) = (storage(old), storage(new))
                && n < o
            {
                warnings.push(format!(
                    "storage shrinks from {} to {}: a claim can only grow, the API server \
                     refuses this",
                    quantity::canonical_bytes(o),
                    quantity::canonical_bytes(n)
                ));
            }
            if old["spec"]["storageClassName"] != new["spec"]["storageClassName"] {
                warnings.push(
                    "storageClassName is immutable: the claim must be recreated, and its data \
                     moved"
                        .to_string(),
                );
            }
            if old["spec"]["accessModes"] != new["spec"]["accessModes"] {
                warnings.push(
                    "accessModes are immutable: the claim must be recreated, and its data moved"
                        .to_string(),
                );
            }
        }
        _ => {}
    }
    warnings
}

/// Colours for a terminal, or none.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// `+` added, `-` removed, `~` changed with its unified diff, warnings, then a summary line.
pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for entry in &report.entries {
        match &entry.change {
            Change::Added => {
                added += 1;
                let _ = writeln!(out, "{}", style.paint("32", &format!("+ {}", entry.key)));
            }
            Change::Removed => {
                removed += 1;
                let _ = writeln!(out, "{}", style.paint("31", &format!("- {}", entry.key)));
            }
            Change::Changed { unified } => {
                changed += 1;
                let _ = writeln!(out, "{}", style.paint("33", &format!("~ {}", entry.key)));
                for line in unified.lines() {
                    let painted = match line.as_bytes().first() {
                        Some(b'+') if !line.starts_with("+++") => style.paint("32", line),
                        Some(b'-') if !line.starts_with("---") => style.paint("31", line),
                        Some(b'@') => style.paint("36", line),
                        _ => line.to_string(),
                    };
                    let _ = writeln!(out, "    {painted}");
                }
            }
        }
        for warning in &entry.warnings {
            let _ = writeln!(out, "  {} {warning}", style.paint("1;33", "warning:"));
        }
    }
    let _ = writeln!(
        out,
        "{added} added, {removed} removed, {changed} changed, {} unchanged",
        report.unchanged
    );
    out
}
