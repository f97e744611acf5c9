//! `kotalc import`: writes the inputs of a cluster export, and says how to seal its Secrets.

mod convert;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use super::report::{EXIT_OK, EXIT_PROBLEMS, report_diagnostics};
use crate::commands::cli::ImportArgs;
use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic, Format};
use crate::input::load;

pub fn import(args: &ImportArgs) -> u8 {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.paths.clone()
    };
    // Exports, from wherever `kubectl get` wrote them: not a repository's inputs.
    let filter = load::Filter {
        json: true,
        confined: false,
        ..load::Filter::INPUTS
    };
    load::load_files(&paths, filter, &mut sources, &mut diagnostics);
    let output_dir = args.output.as_deref().map(display);
    let imported = convert::import(
        &mut sources,
        args.keep_defaults,
        output_dir.as_deref(),
        &mut diagnostics,
    );
    if imported.resources.is_empty() && diagnostics.iter().all(|d| !d.is_error()) {
        diagnostics.push(
            Diagnostic::new(Code::EmptyOutput, "the export holds no Peer or ClusterPeer").help(
                format!(
                    "export them with `{}`",
                    crate::diagnostic::shell::command(&[
                        "kubectl",
                        "get",
                        "peers,clusterpeers",
                        "-A",
                        "-o",
                        "yaml"
                    ])
                ),
            ),
        );
    }
    let outcome =
        crate::compile::Outcome::of_checks(sources, diagnostics, imported.resources.len());
    report_diagnostics(&outcome, args.format);
    if outcome.has_errors() {
        return EXIT_PROBLEMS;
    }
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for resource in &imported.resources {
        let name = crate::kube::manifest::file(
            resource.kind.name(),
            resource.namespace.as_deref(),
            &resource.name,
        );
        files.insert(name, resource.yaml.clone());
    }
    let written = match &args.output {
        None => {
            let mut stdout = io::stdout().lock();
            let mut result = Ok(());
            for text in files.values() {
                result = result
                    .and_then(|()| stdout.write_all(b"---\n"))
                    .and_then(|()| stdout.write_all(text.as_bytes()));
            }
            result
                .and_then(|()| stdout.flush())
                .map(|()| None)
                .map_err(|e| {
                    Diagnostic::new(
                        Code::OutputFile,
                        format!("cannot write to stdout: {}", io_reason(&e)),
                    )
                })
        }
        Some(dir) => crate::output::emit::write_dir(
            dir,
            &files,
            args.force,
            crate::output::emit::IMPORT_MARKER,
        )
        .map(|written| {
            if args.format != Format::Json {
                written.warn_left_alone();
            }
            Some(format!(
                "wrote {} to {}",
                super::report::files(written.files),
                crate::diagnostic::printable(&display(dir), false)
            ))
        }),
    };
    let result = match written {
        Ok(result) => result,
        Err(d) => return super::report::fail_output(&outcome, &d, args.format),
    };
    let skipped: Vec<String> = imported
        .skipped
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    match args.format {
        Format::Json => {
            let report = serde_json::json!({
                "sealCommands": imported.seal_commands,
                "skipped": imported.skipped,
                "networkPolicies": false,
            });
            eprintln!(
                "{}",
                crate::diagnostic::uncommanded_json(report.to_string())
            );
        }
        Format::Human | Format::Github | Format::Sarif | Format::Markdown => {
            if !skipped.is_empty() {
                eprintln!(
                    "kotalc: left out {} (not Peers or ClusterPeers)",
                    crate::diagnostic::inert(&skipped.join(", "))
                );
            }
            eprintln!(
                "kotalc: the resources are written with {}: \"false\", so the takeover changes \
                 no connection; once you know each peer's clients (kotalc.io/api-clients, the \
                 label {}), remove it to render least-privilege NetworkPolicies",
                crate::model::annotations::NETWORK_POLICIES,
                crate::model::policy::CLUSTER_CLIENT_LABEL
            );
            if !imported.seal_commands.is_empty() {
                eprintln!(
                    "kotalc: the resources read {} Secret(s), which are never imported; seal each \
                     one from the cluster and commit the SealedSecret beside the resources:",
                    imported.seal_commands.len()
                );
                for command in imported.seal_commands.values() {
                    eprintln!("  {}", crate::diagnostic::inert(command));
                }
            }
        }
    }
    super::report::summary(&outcome, args.format, result);
    EXIT_OK
}
