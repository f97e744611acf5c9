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

/// docs/diagnostics.md documents every code, so that a code seen in CI can be looked up.
#[test]
fn the_docs_list_every_diagnostic_code() {
    let page = crate::docs::page("diagnostics.md");
    for code in Code::ALL {
        let row = format!("| `{}` |", code.as_str());
        assert!(
            page.contains(&row),
            "docs/diagnostics.md lacks a row for {}",
            code.as_str()
        );
    }
}

#[test]
fn embedded_templates_compile_in_strict_mode() {
    assert!(kotalc::render::Renderer::new(Default::default()).is_ok());
}

#[test]
fn command_line_is_consistent() {
    use clap::CommandFactory;
    kotalc::commands::cli::Cli::command().debug_assert();
}

/// Every sample of the Kotal operator compiles on its own, the deprecated Swarms included.
#[test]
fn every_kotal_sample_compiles() {
    let samples = crate::common::root().join("../shared/kotal/samples");
    // Copied into the repository: kotalc reads no input outside it.
    let copies = crate::common::scratch("kotal-samples");
    let mut paths: Vec<_> = std::fs::read_dir(&samples)
        .map(|dir| {
            dir.map(|e| {
                let sample = e.expect("entry").path();
                let copy = copies.join(sample.file_name().expect("name"));
                std::fs::copy(&sample, &copy).expect("copy a sample");
                copy
            })
            .collect()
        })
        .unwrap_or_default();
    paths.sort();
    if paths.is_empty() {
        // Outside the workspace: the fixtures hold copies of every sample.
        for case in [
            "sample-bare-peer",
            "sample-cluster-peer",
            "sample-swarm-peer",
        ] {
            paths.push(
                crate::common::root()
                    .join("fixtures")
                    .join(case)
                    .join("input"),
            );
        }
    }
    let mut objects = 0;
    for path in &paths {
        let mut outcome = compile(&Options {
            paths: vec![path.clone()],
            render: true,
            ..Options::default()
        });
        let count = outcome.take_objects().len();
        let errors: Vec<_> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        objects += count;
    }
    if paths.len() == 5 {
        // Five objects per Peer or ClusterPeer, its NetworkPolicy among them (the Swarms have
        // four Peers between them), and a placeholder per referenced Secret: 7 resources, 7
        // Secrets.
        assert_eq!(objects, 7 * 5 + 7);
    }
}
