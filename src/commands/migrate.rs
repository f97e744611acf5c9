//! `kotalc migrate`: rewrites each Swarm as the Peers kotalc renders it as, with one
//! SealedSecret per node identity, and copies every other document unchanged. Input files are
//! never modified; the output goes to stdout or to a directory kotalc owns.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::report::{EXIT_OK, EXIT_PROBLEMS, report_diagnostics, summary, summary_of};
use crate::check::swarm::LoweredNode;
use crate::commands::cli::MigrateArgs;
use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic, Format};
use crate::input::load;
use crate::model::parse::Object;
use crate::secrets::seal::{self, Scope};

pub fn migrate(args: &MigrateArgs) -> u8 {
    if let Some(ns) = &args.namespace
        && let Some(problem) = crate::kube::names::namespace(ns)
    {
        // As `build` reports it: a diagnostic in every format, then the summary.
        let d = Diagnostic::new(
            Code::InvalidName,
            format!("the default namespace {ns:?} is invalid: {problem}"),
        )
        .help("the namespace given with --namespace names the Peers' namespace and their sealed keys'");
        let rendered = crate::diagnostic::render(&d, &Sources::default(), args.format);
        let _ = io::stderr().write_all(rendered.as_bytes());
        summary_of(&[d], 0, args.format, Some("nothing written".into()));
        return EXIT_PROBLEMS;
    }
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let paths = if args.paths.is_empty() {
        vec![std::path::PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    // migrate's output is input (it holds Peers), so an output directory inside an input
    // would be read back and copied into itself, one level deeper each run.
    if let Some(dir) = &args.output
        && let Some(root) = crate::output::emit::input_holding(dir, &paths)
    {
        let d = Diagnostic::new(
            Code::OutputDir,
            format!(
                "the output directory {} is inside the input {}; migrate would read its own \
                 output: name a directory outside the inputs",
                display(dir),
                display(&root)
            ),
        )
        .path(display(dir));
        return super::report::fail_output(&Default::default(), &d, args.format);
    }
    let rooted = load::load_rooted(&paths, &mut sources, &mut diagnostics);
    // Every document is read, Kotal or not: only Swarms are rewritten.
    let (parsed, swarms) = crate::compile::checks::parse(
        &mut sources,
        true,
        crate::diagnostic::settings::Front::Cli,
        args.namespace.as_deref(),
        &mut diagnostics,
    );
    let key = match args.cert.as_deref().map(super::secrets::certificate) {
        Some(Ok(key)) => Some(key),
        Some(Err(d)) => {
            diagnostics.push(d);
            None
        }
        None => None,
    };

    // The replacement text of each Swarm, by file and first line.
    let mut replaced: BTreeMap<(usize, u32), String> = BTreeMap::new();
    let mut unsealed = Vec::new();
    for lowered in &swarms {
        let resource = &parsed.resources[lowered.resource];
        let Some(Object::Swarm(swarm)) = &resource.object else {
            continue;
        };
        let nodes = &lowered.nodes;
        let namespace = resource.namespace.as_deref();
        let mut text = format!(
            "# Migrated by kotalc from Swarm {:?}: one Peer per node, each with its fixed identity\n\
             # and full-mesh peering, and the node's private key in a SealedSecret.\n",
            swarm.metadata.name
        );
        for (i, node) in nodes.iter().enumerate() {
            if i > 0 {
                text.push_str("---\n");
            }
            text.push_str(&node.yaml);
            text.push_str("---\n");
            match sealed_identity(node, namespace, key.as_ref()) {
                Ok((yaml, sealed)) => {
                    text.push_str(&yaml);
                    if !sealed {
                        unsealed.push(node.identity_secret.clone());
                    }
                }
                Err(message) => diagnostics.push(
                    Diagnostic::new(Code::InvalidCertificate, message).at(resource
                        .root
                        .key_span("metadata.name")
                        .unwrap_or(resource.root.span)),
                ),
            }
        }
        replaced.insert((resource.root.span.file, resource.root.span.line), text);
    }
    // This command is the migration the warning points at.
    diagnostics.retain(|d| d.code != Code::SwarmDeprecated);
    let outcome = crate::compile::Outcome::of_checks(sources, diagnostics, parsed.resources.len());
    report_diagnostics(&outcome, args.format);
    if outcome.has_errors() {
        summary(&outcome, args.format, Some("nothing written".into()));
        return EXIT_PROBLEMS;
    }

    let files = match output_files(&paths, &rooted, &outcome.sources, &replaced) {
        Ok(files) => files,
        Err(d) => return super::report::fail_output(&outcome, &d, args.format),
    };
    let mut result = None;
    let written = match &args.output {
        None => {
            let mut stdout = io::stdout().lock();
            let mut result = Ok(());
            for (name, text) in &files {
                result = result
                    .and_then(|()| writeln!(stdout, "---\n# Source: {name}"))
                    .and_then(|()| stdout.write_all(text.trim_start_matches("---\n").as_bytes()));
            }
            result.and_then(|()| stdout.flush()).map_err(|e| {
                Diagnostic::new(
                    Code::OutputFile,
                    format!("cannot write to stdout: {}", io_reason(&e)),
                )
            })
        }
        Some(dir) => crate::output::emit::check_overlap(dir, &paths)
            .and_then(|()| {
                crate::output::emit::write_dir(
                    dir,
                    &files,
                    args.force,
                    crate::output::emit::MIGRATE_MARKER,
                )
            })
            .map(|written| {
                if args.format != Format::Json {
                    written.warn_left_alone();
                }
                result = Some(format!(
                    "wrote {} to {}",
                    super::report::files(written.files),
                    display(dir)
                ));
            }),
    };
    if let Err(d) = written {
        return super::report::fail_output(&outcome, &d, args.format);
    }
    if !unsealed.is_empty() && args.format == Format::Human {
        eprintln!(
            "kotalc: {} identit{} rendered as placeholder SealedSecrets ({}); run `{}` (from \
             `{}`) to seal the Swarm's keys",
            unsealed.len(),
            if unsealed.len() == 1 { "y" } else { "ies" },
            crate::diagnostic::inert(&unsealed.join(", ")),
            crate::diagnostic::shell::command(&["kotalc", "migrate", "--cert", "<controller.pem>"]),
            crate::diagnostic::shell::command(&["kubeseal", "--fetch-cert"]),
        );
    }
    summary(&outcome, args.format, result);
    EXIT_OK
}

/// Each input file's migrated text, at its path relative to its input root; with several
/// roots, below the root's own name. No path can leave the output directory.
fn output_files(
    paths: &[std::path::PathBuf],
    rooted: &BTreeMap<usize, (usize, std::path::PathBuf)>,
    sources: &Sources,
    replaced: &BTreeMap<(usize, u32), String>,
) -> Result<BTreeMap<String, String>, Diagnostic> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (file, source) in sources.iter() {
        let Some((root, relative)) = rooted.get(&file) else {
            continue;
        };
        let mut name = display(relative);
        if paths.len() > 1 {
            let root_name =
                load::resolved_name(&paths[*root]).unwrap_or_else(|| format!("input-{root}"));
            name = format!("{root_name}/{name}");
        }
        let safe = name.split('/').all(crate::kube::names::path_component);
        if !safe {
            return Err(Diagnostic::new(
                Code::OutputFile,
                format!(
                    "{} cannot be written inside the output directory",
                    source.display
                ),
            )
            .path(&source.display));
        }
        if files
            .insert(name.clone(), rewrite(file, &source.text, replaced))
            .is_some()
        {
            return Err(Diagnostic::new(
                Code::OutputFile,
                format!("two inputs would be written to the same file {name}"),
            )
            .path(&source.display)
            .help("give input directories with different names"));
        }
    }
    Ok(files)
}

/// The node's identity Secret as a SealedSecret: sealed from the Swarm's key with `key`, or a
/// placeholder. Returns the YAML and whether it is sealed.
fn sealed_identity(
    node: &LoweredNode,
    namespace: Option<&str>,
    key: Option<&rsa::PublicKey>,
) -> Result<(String, bool), String> {
    let name = &node.identity_secret;
    let Some(key) = key else {
        // Either command seals it, one a line, as every placeholder lists its commands.
        let command = [
            crate::diagnostic::shell::command(&["kotalc", "migrate", "--cert", "<controller.pem>"]),
            crate::diagnostic::shell::seal(
                namespace,
                name,
                &[
                    "--key",
                    "key",
                    "--from-file",
                    "<private key file>",
                    "--expect-id",
                    node.peer_id.to_string().as_str(),
                ],
            ),
        ]
        .join("\n");
        let annotations = BTreeMap::from([("kotalc.io/placeholder".to_string(), command)]);
        let keys = BTreeMap::from([("key".to_string(), String::new())]);
        let object = seal::sealed_secret(name, namespace, Scope::Strict, &annotations, &keys);
        return Ok((
            crate::diagnostic::manifest_text(&object).unwrap_or_default(),
            false,
        ));
    };
    let namespace = namespace.ok_or_else(|| {
        format!(
            "sealing {name} needs its namespace: set metadata.namespace on the Swarm or pass \
             --namespace"
        )
    })?;
    let values = BTreeMap::from([(
        "key".to_string(),
        node.private_key.trim().as_bytes().to_vec(),
    )]);
    let annotations = seal::peer_id_annotation(Some(&node.peer_id));
    let yaml = seal::sealed_yaml(
        key,
        Scope::Strict,
        Some(namespace),
        name,
        &values,
        &annotations,
    )?;
    Ok((yaml, true))
}

/// The file's text with each Swarm document replaced: documents are split at `---` lines,
/// and a document is replaced when a Swarm starts inside it.
fn rewrite(file: usize, text: &str, replaced: &BTreeMap<(usize, u32), String>) -> String {
    let mut out = String::new();
    let mut chunk = String::new();
    let mut first_line = 1u32;
    let flush = |chunk: &mut String, first: u32, last: u32, out: &mut String| {
        let swarm = replaced
            .range((file, first)..=(file, last))
            .next()
            .map(|(_, text)| text);
        match swarm {
            Some(text) => out.push_str(text),
            None => out.push_str(chunk),
        }
        chunk.clear();
    };
    let mut line_number = 0u32;
    for line in text.split_inclusive('\n') {
        line_number += 1;
        let separator =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if separator {
            flush(
                &mut chunk,
                first_line,
                line_number.saturating_sub(1),
                &mut out,
            );
            out.push_str(line);
            first_line = line_number + 1;
        } else {
            chunk.push_str(line);
        }
    }
    flush(
        &mut chunk,
        first_line,
        line_number.max(first_line),
        &mut out,
    );
    out
}
