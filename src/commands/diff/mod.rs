//! `kotalc build -o DIR --check` and `kotalc diff`: render in memory, compare, write nothing.

pub mod markdown;
pub mod terminal;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value as J;
use sha2::{Digest, Sha256};

/// An object's text as its SHA-256.
type Sum = sha2::digest::Output<Sha256>;

use super::report::{EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, report_diagnostics, summary, summary_of};
use crate::check::changes::{self, Side};
use crate::commands::cli::options;
use crate::commands::cli::{ColorChoice, DiffArgs, FailOn};
use crate::compile;
use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::source::Sources;
use crate::diagnostic::{Code, Diagnostic, Format};
use crate::input::load;
use crate::input::repository::{self, Repository};
use crate::input::revision;
use crate::kube::manifest::{Key, Object};
use crate::output::emit;
use terminal::Style;

/// The difference as stdout shows it: a Markdown summary for a pull request, else the text.
fn render(report: &changes::Report, format: Format, color: ColorChoice) -> String {
    match format {
        Format::Markdown => markdown::render(report),
        _ => terminal::render(report, Style::of(color)),
    }
}

fn print(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// A file's content as one side of the comparison; YAML objects keep their value so that
/// destructive changes are recognised.
fn file_side(content: String) -> Side {
    let mut value: J = serde_saphyr::from_str(&content).unwrap_or(J::Null);
    // A file that holds secret values is shown as its value, redacted.
    if changes::redact(&mut value) {
        return changes::side(value);
    }
    Side {
        kind: value["kind"].as_str().unwrap_or_default().to_string(),
        value,
        yaml: content,
        exported: None,
    }
}

/// Compares what `build -o dir` would write with what `dir` holds, file by file, the
/// ownership marker included. A file whose bytes are what would be written is never parsed:
/// only the files that differ are. Prints the difference on stdout and a `stale-output` error
/// per file that differs, is missing or should not be there, in the format asked. Returns the
/// exit code, the summary's result, and those errors.
pub fn check_tree<S: AsRef<str>>(
    dir: &Path,
    files: &BTreeMap<String, S>,
    format: Format,
) -> (u8, String, Vec<Diagnostic>) {
    let shown = display(dir);
    let marker = emit::marker_text(files, crate::input::load::MARKER);
    let mut expected: BTreeMap<&str, &str> = files
        .iter()
        .map(|(name, content)| (name.as_str(), content.as_ref()))
        .collect();
    expected.insert(crate::input::load::MARKER, &marker);
    let mut present = BTreeMap::new();
    let mut unchanged = 0;
    let names = match emit::files_present(dir) {
        Ok(names) => names,
        Err(d) => {
            let _ = io::stderr()
                .write_all(crate::diagnostic::render(&d, &Sources::default(), format).as_bytes());
            return (EXIT_PROBLEMS, "nothing checked".into(), vec![d]);
        }
    };
    for name in names {
        // A link or a special file is reported by name only: never followed, never read.
        let side = match emit::read_owned(&dir.join(&name)) {
            Ok(bytes) if expected.get(name.as_str()).map(|e| e.as_bytes()) == Some(&bytes) => {
                expected.remove(name.as_str());
                unchanged += 1;
                continue;
            }
            Ok(bytes) => file_side(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => Side {
                kind: String::new(),
                value: J::Null,
                yaml: format!("# {name}: {}, not read\n", io_reason(&e)),
                exported: None,
            },
        };
        present.insert(name, side);
    }
    let expected = expected
        .into_iter()
        .map(|(name, content)| (name.to_string(), file_side(content.to_string())))
        .collect();
    let mut report = changes::compare(present, expected);
    report.unchanged += unchanged;
    if report.is_empty() {
        return (EXIT_OK, format!("{shown} is up to date"), Vec::new());
    }
    print(&render(&report, format, ColorChoice::Auto));
    let interrupted = emit::read_owned(&dir.join(crate::input::load::MARKER))
        .is_ok_and(|text| crate::output::update::is_journal(&text));
    let stale = stale_files(&shown, &report, interrupted);
    let mut text = String::new();
    for d in &stale {
        text.push_str(&crate::diagnostic::render(d, &Sources::default(), format));
    }
    let _ = io::stderr().write_all(text.as_bytes());
    let result = format!(
        "{shown}: {} not what `kotalc build -o` would write; run it and commit the result",
        if stale.len() == 1 {
            "1 file is".to_string()
        } else {
            format!("{} files are", stale.len())
        }
    );
    (EXIT_PROBLEMS, result, stale)
}

/// One error per file of the output directory that `--check` finds wrong, at the file's path
/// from the working directory. `interrupted`: the marker is the journal of a `build -o` that
/// did not finish.
fn stale_files(dir: &str, report: &changes::Report, interrupted: bool) -> Vec<Diagnostic> {
    let dir = dir.trim_end_matches('/');
    report
        .entries
        .iter()
        .map(|entry| {
            let path = if dir == "." {
                entry.key.clone()
            } else {
                format!("{dir}/{}", entry.key)
            };
            let message = match entry.change {
                changes::Change::Changed { .. }
                    if interrupted && entry.key == crate::input::load::MARKER =>
                {
                    "says an interrupted `kotalc build -o` left this tree part old, part new"
                }
                changes::Change::Changed { .. } | changes::Change::Resource => {
                    "differs from what `kotalc build -o` would write"
                }
                changes::Change::Added => "is missing: `kotalc build -o` would write it",
                changes::Change::Removed => {
                    "should not be there: `kotalc build -o` would remove it"
                }
            };
            // The summary says what to do, once.
            Diagnostic::new(Code::StaleOutput, message).path(path)
        })
        .collect()
}

pub fn diff(args: &DiffArgs) -> u8 {
    let mut options = match options(&args.check, true) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("error: {problem}");
            return EXIT_USAGE;
        }
    };
    // Only the objects' text is kept: an object is parsed only where its text changes. The
    // resources' specs are kept as the compile leaves them, Swarms lowered.
    options.lean = true;
    options.specs = true;
    // The render `build --templates` makes, on both sides of a revision.
    options.templates = args.templates.clone();
    let format = args.check.format;
    // A revision that does not exist is a mistake in the command line: said before any
    // rendering, and in kotalc's words rather than git's.
    let repository = match &args.against_ref {
        Some(reference) => match repository_of(args, &options, reference) {
            Ok(repository) => Some(repository),
            Err(problem) => {
                eprintln!("error: {problem}");
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    super::report::anchor(&options);
    // The inputs are read once: the working tree's side may be compiled twice.
    let (sources, loaded) = compile::read(&options);
    let again = (sources.clone(), loaded.clone());
    let mut now = compile::compile_sources(&options, sources, loaded);
    report_diagnostics(&now, format);
    if now.has_errors() {
        summary(&now, format, Some("nothing compared".into()));
        return EXIT_PROBLEMS;
    }
    let before = match (&args.against, &args.against_ref, &repository) {
        (Some(dir), _, _) => sums(&mut now, true)
            .and_then(|sums| read_against(dir, &sums, format).map(|b| (b, sums))),
        (None, Some(reference), Some(repository)) => sums(&mut now, false).and_then(|sums| {
            at_revision(repository, &options, reference, &sums.by_key, format).map(|b| (b, sums))
        }),
        _ => return EXIT_USAGE,
    }
    .and_then(|(before, sums)| {
        let objects = differing(&options, again, &sums, &before)?;
        Ok((before, objects))
    });
    let (mut before, objects) = match before {
        Ok(both) => both,
        Err(d) => {
            let _ = io::stderr()
                .write_all(crate::diagnostic::render(&d, &Sources::default(), format).as_bytes());
            let mut all = now.diagnostics.clone();
            all.push(d);
            summary_of(&all, now.resources, format, Some("nothing compared".into()));
            return EXIT_PROBLEMS;
        }
    };
    let old_resources = std::mem::take(&mut before.resources);
    // A rendered tree holds no resources: its StatefulSets say what the webhook compares.
    let rendered = if old_resources.is_empty() {
        changes::rendered_cluster_peers(&before.objects)
    } else {
        BTreeMap::new()
    };
    let mut report = compare(before, &objects);
    changes::resource_changes(&mut report, &old_resources, &now.specs);
    changes::rendered_resource_changes(&mut report, &rendered, &now.specs);
    report.allow(&changes::allowances(&now.specs, &old_resources));
    print(&render(&report, format, args.color));
    // The objects, as the last line of stdout counts them.
    let changed = report.changed_objects();
    summary(
        &now,
        format,
        Some(if changed == 0 {
            "no object changes".into()
        } else if changed == 1 {
            "1 object changes".into()
        } else {
            format!("{changed} objects change")
        }),
    );
    let fail = args.exit_code && !report.is_empty()
        || args.fail_on == Some(FailOn::Destructive) && report.blocking() > 0;
    if fail { EXIT_PROBLEMS } else { EXIT_OK }
}

/// The repository `--against-ref` reads: the one named with `--repo`, or the work tree that
/// holds the current directory. Never one found from the inputs, which a pull request
/// controls: a bare repository committed among them would bring its own config and refs.
/// Checks that every input is inside it and that `reference` names one of its commits.
fn repository_of(
    args: &DiffArgs,
    options: &compile::Options,
    reference: &str,
) -> Result<Repository, String> {
    // A revision, never an option: `--output=...` would make git write a file.
    if reference.is_empty() || reference.starts_with('-') || reference.contains(['\0', '\n']) {
        return Err(format!("--against-ref {reference:?} is not a git revision"));
    }
    let (start, shown) = match &args.repo {
        Some(dir) => (dir.clone(), display(dir)),
        None => (PathBuf::from("."), "the current directory".to_string()),
    };
    let repository = repository::work_tree(&start).ok_or_else(|| {
        format!(
            "--against-ref {reference:?}: {shown} is not inside a git work tree \
             (run kotalc from the repository, or name it with --repo DIR)"
        )
    })?;
    if args.repo.is_some() {
        // The inputs may then lie anywhere in it, wherever kotalc runs.
        repository::name(repository.work_tree.clone());
    } else if !repository.owned_by_caller() {
        return Err(format!(
            "--against-ref {reference:?}: the repository at {} belongs to another user, so \
             kotalc does not take it for yours (name it with --repo DIR if you trust it)",
            repository.work_tree.display()
        ));
    }
    for root in options.paths.iter().filter(|p| p.as_os_str() != "-") {
        revision::prefix(&repository, root)
            .map_err(|d| format!("--against-ref {reference:?}: {}", d.message))?;
    }
    let found = repository
        .git()
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{reference}^{{commit}}"))
        .output()
        .map_err(|e| format!("cannot run git: {}", io_reason(&e)))?;
    if found.status.success() {
        Ok(repository)
    } else {
        Err(format!(
            "--against-ref {reference:?}: no such revision in the repository at {} \
             (a branch, tag or commit; `git fetch` a remote one first)",
            repository.work_tree.display()
        ))
    }
}

/// An object as one side of the comparison, its data parsed from its text if a lean compile
/// dropped it.
fn object_side(object: &Object) -> Side {
    let value = if object.value.is_null() {
        serde_saphyr::from_str(&object.yaml).unwrap_or(J::Null)
    } else {
        object.value.clone()
    };
    Side {
        kind: object.kind.clone(),
        value,
        yaml: object.yaml.clone(),
        exported: None,
    }
}

/// What the new objects are compared with.
#[derive(Default)]
struct Before {
    /// By `Kind namespace/name`; `Side::value` is `Null` until the object is compared.
    objects: BTreeMap<String, Side>,
    /// Objects read as exactly the new ones' text, never parsed.
    same: BTreeSet<String>,
    /// Peers and ClusterPeers, as much of each as the webhook rules read.
    resources: BTreeMap<String, J>,
}

/// Compares `before` with the new objects. Equal texts are counted unchanged without being
/// parsed; only the objects that differ are, so that at scale the comparison costs little
/// more than reading.
fn compare(mut before: Before, objects: &[Object]) -> changes::Report {
    let mut old = before.objects;
    let mut after = BTreeMap::new();
    let mut unchanged = 0;
    for object in objects {
        let key = object.key().to_string();
        if before.same.remove(&key) || old.get(&key).is_some_and(|b| b.yaml == object.yaml) {
            old.remove(&key);
            unchanged += 1;
            continue;
        }
        after.insert(key, object_side(object));
    }
    // Objects known to be the same without being held: at a revision, only the objects
    // that differ are rendered again.
    unchanged += before.same.len();
    for side in old.values_mut() {
        if side.value.is_null() {
            side.value = serde_saphyr::from_str(&side.yaml).unwrap_or(J::Null);
        }
    }
    let mut report = changes::compare(old, after);
    report.unchanged += unchanged;
    report
}

/// Every object of a file, or of every YAML or JSON file below a directory: a rendered tree,
/// or what a cluster exports (`kind: List` opened, server-set fields and defaults ignored).
/// Exported Peers and ClusterPeers are returned apart, to compare their specs. A file of a
/// rendered tree that holds exactly a new object's text (where `build -o` writes it) is not
/// parsed. Links below a directory are named, never followed or read; every read is bounded.
/// `-` is standard input, and a pipe named on the command line (`<(kubectl get ...)`) is read
/// as a stream.
fn read_against(path: &Path, sums: &Sums, format: Format) -> Result<Before, Diagnostic> {
    // An output directory's files are read as `--check` reads them: every one, links refused.
    let filter = load::Filter {
        json: true,
        output: true,
        pipes: true,
        follow: false,
        confined: false,
    };
    let mut problems = Vec::new();
    let found = load::read(path, filter, &mut problems);
    if let Some(problem) = problems.into_iter().next() {
        return Err(problem);
    }
    let mut before = Before::default();
    for found in found {
        let (file, bytes) = match found {
            load::Found::File(file, bytes) => (file, bytes),
            load::Found::Unread(file) => {
                // Nothing beside the log that SARIF prints whole.
                if format == Format::Sarif {
                    continue;
                }
                eprintln!(
                    "kotalc: {} is not a regular file (a link?); not read",
                    crate::diagnostic::inert(&display(&file))
                );
                continue;
            }
        };
        let bytes = bytes.map_err(|e| {
            Diagnostic::new(
                Code::Io,
                format!("cannot read {}: {}", display(&file), io_reason(&e)),
            )
        })?;
        let relative = file
            .strip_prefix(path)
            .ok()
            .map(display)
            .unwrap_or_default();
        if let Some(key) = sums.by_file.get(&relative)
            && sums.by_key.get(key) == Some(&Sha256::digest(&bytes))
        {
            before.objects.remove(key);
            before.same.insert(key.clone());
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let docs: Vec<J> =
            serde_saphyr::from_multiple_with_options(&text, crate::input::yaml::options())
                .map_err(|e| {
                    // The parser's message without its snippet, which would quote the file.
                    let d = crate::input::yaml::syntax_error(0, &e);
                    Diagnostic::new(d.code, format!("{}: {}", display(&file), d.message))
                })?;
        let mut objects = Vec::new();
        for doc in docs {
            crate::input::yaml::objects(doc, &mut |doc: J| objects.push(doc));
        }
        // Last to first, so that of two objects of one key in a file, the first is kept.
        for doc in objects.into_iter().rev() {
            let kind = doc["kind"].as_str().unwrap_or_default();
            if doc.is_null() || kind == "Kustomization" {
                continue;
            }
            if doc["apiVersion"] == crate::model::API_VERSION {
                let key = Key::of(&doc).to_string();
                before.resources.insert(key, changes::watched(&doc));
                continue;
            }
            let side = changes::exported(doc);
            let key = Key::of(&side.value).to_string();
            before.same.remove(&key);
            before.objects.insert(key, side);
        }
    }
    Ok(before)
}

/// The working tree's objects as their SHA-256 sums: by key, and by the file `build -o`
/// writes each to. Both sides are compared without holding either whole: the old side is read
/// against these sums, one whose text is the same kept as its key alone, and then only the
/// objects that differ are rendered again ([`differing`]).
struct Sums {
    by_key: BTreeMap<String, Sum>,
    by_file: BTreeMap<String, String>,
}

/// Renders the working tree for its sums only; by file too when the other side is a tree
/// (`files`).
fn sums(now: &mut compile::Outcome, files: bool) -> Result<Sums, Diagnostic> {
    let mut sums = Sums {
        by_key: BTreeMap::new(),
        by_file: BTreeMap::new(),
    };
    if let Some(pending) = now.pending.take() {
        each_object(pending, &mut |o| {
            let key = o.key();
            if files && let Some(file) = crate::kube::manifest::file_inside(&key) {
                sums.by_file.insert(file, key.to_string());
            }
            sums.by_key
                .insert(key.to_string(), Sha256::digest(o.yaml.as_bytes()));
        })?;
    }
    Ok(sums)
}

/// Each object of a render, in output order; what did not render as one error.
fn each_object(pending: compile::Pending, each: &mut dyn FnMut(Object)) -> Result<(), Diagnostic> {
    pending.for_each(each).map_err(|problems| {
        let messages: Vec<String> = problems.into_iter().map(|d| d.message).collect();
        Diagnostic::new(Code::Io, messages.join("; "))
    })
}

/// The working tree's objects that are not the same as the old side's: the inputs (`again`)
/// rendered a second time, if anything differs, keeping only those. At most the objects that
/// changed are held, twice, never the output: the price is a second render when something
/// changed.
fn differing(
    options: &compile::Options,
    again: (Sources, Vec<Diagnostic>),
    sums: &Sums,
    before: &Before,
) -> Result<Vec<Object>, Diagnostic> {
    let mut objects = Vec::new();
    if sums.by_key.len() == before.same.len() {
        return Ok(objects);
    }
    // The specs were kept by the first compile; this one renders only.
    let render = compile::Options {
        specs: false,
        ..options.clone()
    };
    let (sources, diagnostics) = again;
    let rendered = compile::compile_sources(&render, sources, diagnostics);
    if let Some(pending) = rendered.pending {
        each_object(pending, &mut |o| {
            if !before.same.contains(&o.key().to_string()) {
                objects.push(o);
            }
        })?;
    }
    Ok(objects)
}

/// What the same inputs rendered at a git revision, compiled as the working tree's are
/// (Swarms lowered). Nothing is checked out, so the working tree is never touched. The
/// revision's objects are rendered one at a time, as `build` streams them, and one whose
/// text has the working tree's sum in `sums` is kept as its key alone.
fn at_revision(
    repository: &Repository,
    options: &compile::Options,
    reference: &str,
    sums: &BTreeMap<String, Sum>,
    format: Format,
) -> Result<Before, Diagnostic> {
    // `repository_of` has refused anything that is not a revision, options included.
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    revision::read(
        repository,
        &options.paths,
        reference,
        &mut sources,
        &mut diagnostics,
    )?;
    let mut before = compile::compile_sources(options, sources, diagnostics);
    if before.has_errors() {
        report_diagnostics(&before, format);
        return Err(Diagnostic::new(
            Code::Io,
            format!("the inputs at {reference} do not build, so there is nothing to compare with"),
        ));
    }
    let mut kept = Before {
        resources: std::mem::take(&mut before.specs),
        ..Before::default()
    };
    if let Some(pending) = before.pending.take() {
        each_object(pending, &mut |o| {
            let key = o.key().to_string();
            if sums.get(&key) == Some(&Sha256::digest(o.yaml.as_bytes())) {
                kept.same.insert(key);
            } else {
                let side = Side {
                    kind: o.kind,
                    value: o.value,
                    yaml: o.yaml,
                    exported: None,
                };
                kept.objects.insert(key, side);
            }
        })?;
    }
    Ok(kept)
}
