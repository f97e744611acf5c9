//! Properties of kotalc's own registries: codes, templates, command line, shared samples.

use std::collections::BTreeSet;

use kotalc::compile::{Options, compile};
use kotalc::diagnostic::Code;

#[test]
fn diagnostic_codes_are_unique_kebab_case() {
    let mut seen = BTreeSet::new();
    for code in Code::ALL {
        let s = code.as_str();
        assert!(seen.insert(s), "code {s} is used twice");
        assert!(
            s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') && !s.starts_with('-'),
            "code {s} is not kebab-case"
        );
        assert!(!code.summary().is_empty());
    }
}

/// The README documents every code, so that a code seen in CI can be looked up.
#[test]
fn readme_lists_every_diagnostic_code() {
    let readme = std::fs::read_to_string(crate::common::root().join("README.md")).expect("README");
    for code in Code::ALL {
        let row = format!("| `{}` |", code.as_str());
        assert!(
            readme.contains(&row),
            "README lacks a row for {}",
            code.as_str()
        );
    }
}

#[test]
fn embedded_templates_compile_in_strict_mode() {
    assert!(kotalc::render::Renderer::new(None).is_ok());
}

#[test]
fn command_line_is_consistent() {
    use clap::CommandFactory;
    kotalc::cli::Cli::command().debug_assert();
}

/// Every Peer and ClusterPeer sample of the Kotal operator compiles.
#[test]
fn every_kotal_sample_compiles() {
    let samples = crate::common::root().join("../shared/kotal/samples");
    let dir = if samples.is_dir() {
        samples
    } else {
        crate::common::root().join("fixtures")
    };
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(&dir) {
        let entry = entry.expect("walk");
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let is_sample = entry
            .file_name()
            .to_string_lossy()
            .starts_with("ipfs_v1alpha1_");
        if is_sample && !text.contains("kind: Swarm") {
            paths.push(entry.into_path());
        }
    }
    assert!(paths.len() >= 3, "samples not found");
    let outcome = compile(&Options {
        paths,
        render: true,
        ..Options::default()
    });
    let errors: Vec<_> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // Four objects per resource, and a placeholder per referenced Secret: my-swarm-key,
    // cluster-secret and my-cluster-privatekey.
    assert_eq!(outcome.objects.len(), 15);
    let sealed = outcome.objects.iter().filter(|o| o.kind == "SealedSecret");
    assert_eq!(sealed.count(), 3);
}
