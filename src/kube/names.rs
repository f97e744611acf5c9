//! The names that become output paths. `build -o DIR` writes each object to
//! `NAMESPACE/KIND-NAME.yaml`, so every kind, name and namespace that reaches the output is
//! checked here as Kubernetes would check it, whatever document it comes from; `emit` then
//! builds paths only from components that pass [`path_component`].

use crate::diagnostic::{Code, Diagnostic};
use crate::input::yaml::{Node, Value};

/// Why `namespace` cannot be a namespace, if it cannot.
pub fn namespace(namespace: &str) -> Option<String> {
    dns_label(namespace, 63)
}

/// Why `name` is not a valid name for an object of `kind`, if it is not. Kinds kotalc does
/// not know get the API server's rule for every name (a path segment: not `.` or `..`, no
/// `/` or `%`), kinds it knows their own.
pub fn object_name(kind: &str, name: &str) -> Option<String> {
    // Kubernetes checks these as labels rather than subdomains; a Service's must also start
    // with a letter (DNS-1035).
    match kind {
        "Service" => return dns1035_label(name, 63),
        "Namespace" => return dns_label(name, 63),
        _ => {}
    }
    if kind.ends_with("Role") || kind.ends_with("RoleBinding") || !is_core_kind(kind) {
        return path_segment(name);
    }
    dns_subdomain(name)
}

/// Kinds whose names are DNS-1123 subdomains.
fn is_core_kind(kind: &str) -> bool {
    matches!(
        kind,
        "ConfigMap"
            | "Secret"
            | "SealedSecret"
            | "ExternalSecret"
            | "PersistentVolumeClaim"
            | "StatefulSet"
            | "Deployment"
            | "DaemonSet"
            | "ServiceAccount"
            | "Job"
            | "CronJob"
            | "Ingress"
            | "NetworkPolicy"
            | "PodDisruptionBudget"
    )
}

fn path_segment(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    if name == "." || name == ".." {
        return Some(format!("may not be {name:?}"));
    }
    if name.contains(['/', '%']) || name.chars().any(char::is_control) {
        return Some("may not contain '/', '%' or control characters".into());
    }
    None
}

/// Why `kind` is not a Kubernetes kind (an identifier: a letter, then letters and digits).
pub fn kind(kind: &str) -> Option<String> {
    let mut chars = kind.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
        && kind.len() <= 63;
    (!ok).then(|| "a kind is a letter followed by letters and digits".into())
}

/// Checks the kind, `metadata.name` and `metadata.namespace` of a document that is copied
/// to the output (a passthrough document or a SealedSecret of the inputs).
pub fn check_document(doc: &Node, diagnostics: &mut Vec<Diagnostic>) {
    let not_a_string = |node: &Node, field: &str| {
        Diagnostic::new(
            Code::WrongType,
            format!("expected a string, found {}", node.describe()),
        )
        .at(node.span)
        .field(field)
    };
    let kind_text = doc.get("kind").and_then(Node::as_str).unwrap_or_default();
    if let Some(problem) = kind(kind_text) {
        let span = doc.get("kind").map_or(doc.span, |n| n.span);
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidName,
                format!("Invalid value: {kind_text:?}: {problem}"),
            )
            .at(span)
            .field("kind"),
        );
    }
    match doc.at("metadata.name") {
        Some(Node {
            value: Value::Str(name),
            span,
        }) => {
            if let Some(problem) = object_name(kind_text, name) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidName,
                        format!("Invalid value: {name:?}: {problem}"),
                    )
                    .at(*span)
                    .field("metadata.name")
                    .help("the name is part of the output file's path and of the object Kubernetes stores"),
                );
            }
        }
        Some(node) => diagnostics.push(not_a_string(node, "metadata.name")),
        None => diagnostics.push(
            Diagnostic::new(
                Code::RequiredField,
                "missing required field `metadata.name`",
            )
            .at(doc.span)
            .field("metadata.name"),
        ),
    }
    match doc.at("metadata.namespace") {
        Some(Node {
            value: Value::Str(ns),
            span,
        }) => {
            if let Some(problem) = namespace(ns) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidName,
                        format!("Invalid value: {ns:?}: {problem}"),
                    )
                    .at(*span)
                    .field("metadata.namespace"),
                );
            }
        }
        Some(Node {
            value: Value::Null, ..
        })
        | None => {}
        Some(node) => diagnostics.push(not_a_string(node, "metadata.namespace")),
    }
}

/// Whether `component` may be one component of a path below the output directory: not
/// empty, not `.` or `..`, no separator, not hidden (kotalc's own files are), nothing a
/// terminal or a shell would read specially.
pub fn path_component(component: &str) -> bool {
    !component.is_empty()
        && !component.starts_with('.')
        && !component.contains(['/', '\\', '\0'])
        && !component.chars().any(char::is_control)
}

/// StatefulSet names over 52 characters break the `controller-revision-hash` label.
pub const MAX_NAME: usize = 52;

/// Why `name` is not a DNS-1123 label of at most `max` characters, if it is not.
pub fn dns_label(name: &str, max: usize) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > max {
        return Some(format!("must be no more than {max} characters"));
    }
    let ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    (!ok).then(|| {
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', \
         and must start and end with an alphanumeric character"
            .into()
    })
}

/// Why `name` is not a DNS-1035 label (a DNS-1123 label that starts with a letter) of at
/// most `max` characters: the rule for Service names, and every resource names a Service.
pub fn dns1035_label(name: &str, max: usize) -> Option<String> {
    if let Some(problem) = dns_label(name, max) {
        return Some(problem);
    }
    (!name.starts_with(|c: char| c.is_ascii_lowercase())).then(|| {
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start \
         with an alphabetic character, and end with an alphanumeric character (it names a \
         Service, which the API server refuses otherwise)"
            .into()
    })
}

/// Why `name` is not a DNS-1123 subdomain (the rule for Secret names), if it is not.
pub fn dns_subdomain(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    if name.split('.').any(|part| dns_label(part, 63).is_some()) {
        return Some(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
             '-' or '.', and must start and end with an alphanumeric character"
                .into(),
        );
    }
    None
}

/// Why `key` is not a valid label or annotation key (`[prefix/]name`), if it is not.
pub fn qualified_name(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && let Some(problem) = dns_subdomain(prefix)
    {
        return Some(format!("prefix part {problem}"));
    }
    if name.is_empty() {
        return Some("name part must not be empty".into());
    }
    label_value(name).map(|p| format!("name part {p}"))
}

/// Why `value` is not a valid label value, if it is not.
pub fn label_value(value: &str) -> Option<String> {
    if value.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    let inner_ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ends_ok = value.is_empty()
        || (value.as_bytes()[0].is_ascii_alphanumeric()
            && value.as_bytes()[value.len() - 1].is_ascii_alphanumeric());
    (!(inner_ok && ends_ok)).then(|| {
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with \
         an alphanumeric character"
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_names_are_refused() {
        for bad in ["/tmp/esc", "../in", "..", ".", "a/b", "", "x%2f"] {
            assert!(object_name("SealedSecret", bad).is_some(), "{bad}");
            assert!(object_name("Widget", bad).is_some(), "{bad}");
            assert!(namespace(bad).is_some(), "{bad}");
        }
        assert!(object_name("ClusterRole", "system:controller").is_none());
        assert!(kind("../x").is_some());
        assert!(kind("ConfigMap").is_none());
        assert!(!path_component(".."));
        assert!(!path_component(".kotalc-files"));
        assert!(path_component("ipfs"));
    }
}
