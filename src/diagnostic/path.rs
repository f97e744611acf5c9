//! How messages name a path, and an I/O failure at one.

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic};

/// A path as users see it: `/` separators, no leading `./`.
pub fn display(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let trimmed = text.strip_prefix("./").unwrap_or(&text);
    if trimmed.is_empty() {
        ".".into()
    } else {
        trimmed.to_string()
    }
}

/// The OS reason without Rust's "(os error N)" suffix, which means nothing to users.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// `what` failed at `path` (as shown) for the OS reason of `e`.
pub fn io_error(path: &str, what: &str, e: &std::io::Error) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("{what}: {}", io_reason(e))).path(path)
}
