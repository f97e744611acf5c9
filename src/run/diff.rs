//! `kotalc build -o DIR --check` and `kotalc diff`: render in memory, compare, write nothing.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as J;

use super::{EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, options, report_diagnostics, secret_usage};
use crate::cli::{ColorChoice, DiffArgs};
use crate::compile::{self, Outcome};
use crate::diagnostic::{Code, Diagnostic, Format};
use crate::diff::{self, Side, Style};
use crate::emit;
use crate::load;
use crate::source::Sources;

fn style(choice: ColorChoice) -> Style {
    let colour = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    };
    Style { colour }
}

fn print(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// A file's content as one side of the comparison; YAML objects keep their value so that
/// destructive changes are recognised.
fn file_side(content: String) -> Side {
    let value: J = serde_saphyr::from_str(&content).unwrap_or(J::Null);
    Side {
        kind: value["kind"].as_str().unwrap_or_default().to_string(),
        value,
        yaml: content,
    }
}

/// Compares what `build -o dir` would write with what `dir` holds, file by file, the
/// ownership marker included. Returns the exit code.
pub fn check_tree(dir: &Path, files: &BTreeMap<String, String>, format: Format) -> u8 {
    let mut expected: BTreeMap<String, Side> = files
        .iter()
        .map(|(name, content)| (name.clone(), file_side(content.clone())))
        .collect();
    expected.insert(
        emit::MARKER.to_string(),
        file_side(emit::marker_text(files, emit::MARKER)),
    );
    let mut present = BTreeMap::new();
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        let d = Diagnostic::new(Code::OutputDir, "output directory is a symbolic link")
            .path(load::display(dir))
            .help(
                "kotalc never follows links in or to the output: name the directory it points to",
            );
        let _ = io::stderr()
            .write_all(crate::diagnostic::render(&d, &Sources::default(), format).as_bytes());
        return EXIT_PROBLEMS;
    }
    if dir.is_dir() {
        let names = match emit::files_in(dir, "") {
            Ok(names) => names,
            Err(d) => {
                let _ = io::stderr().write_all(
                    crate::diagnostic::render(&d, &Sources::default(), format).as_bytes(),
                );
                return EXIT_PROBLEMS;
            }
        };
        for name in names {
            // A link or a special file is reported by name only: never followed, never read.
            let side = match emit::read_owned(&dir.join(&name)) {
                Ok(bytes) => file_side(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) => Side {
                    kind: String::new(),
                    value: J::Null,
                    yaml: format!("# {name}: {}, not read\n", load::io_reason(&e)),
                },
            };
            present.insert(name, side);
        }
    }
    let report = diff::compare(present, expected);
    if report.is_empty() {
        if format == Format::Human {
            eprintln!("kotalc: {} is up to date", load::display(dir));
        }
        return EXIT_OK;
    }
    print(&diff::render(&report, style(ColorChoice::Auto)));
    if format == Format::Human {
        eprintln!(
            "kotalc: {} is not what `kotalc build -o` would write; run it and commit the result",
            load::display(dir)
        );
    }
    EXIT_PROBLEMS
}

pub fn diff(args: &DiffArgs) -> u8 {
    if let Some(problem) = secret_usage(&args.check, true) {
        eprintln!("error: {problem}");
        return EXIT_USAGE;
    }
    let options = options(&args.check, true);
    let now = compile::compile(&options);
    report_diagnostics(&now, args.check.format);
    if now.has_errors() {
        return EXIT_PROBLEMS;
    }
    let before = match (&args.against, &args.against_ref) {
        (Some(dir), _) => read_dir(dir),
        (None, Some(reference)) => at_revision(&options, reference, args.check.format),
        (None, None) => return EXIT_USAGE,
    };
    let before = match before {
        Ok(before) => before,
        Err(d) => {
            let _ = io::stderr().write_all(
                crate::diagnostic::render(&d, &Sources::default(), args.check.format).as_bytes(),
            );
            return EXIT_PROBLEMS;
        }
    };
    let after = sides(&now);
    let report = diff::compare(before, after);
    print(&diff::render(&report, style(args.color)));
    if args.exit_code && !report.is_empty() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

fn sides(outcome: &Outcome) -> BTreeMap<String, Side> {
    outcome
        .objects
        .iter()
        .map(|o| (diff::key(&o.value), diff::side(o.value.clone())))
        .collect()
}

/// Every object of every YAML file below `dir`, as a cluster would hold them.
fn read_dir(dir: &Path) -> Result<BTreeMap<String, Side>, Diagnostic> {
    let shown = load::display(dir);
    if !dir.is_dir() {
        return Err(Diagnostic::new(Code::Io, format!("{shown} is not a directory")).path(shown));
    }
    let mut objects = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| Diagnostic::new(Code::Io, e.to_string()).path(&shown))?;
        let path = entry.path();
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if entry.file_type().is_dir() || !yaml {
            continue;
        }
        if !entry.file_type().is_file() {
            // Named, never followed or read.
            eprintln!(
                "kotalc: {} is not a regular file (a link?); not read",
                load::display(path)
            );
            continue;
        }
        let text = emit::read_owned(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| {
                Diagnostic::new(
                    Code::Io,
                    format!(
                        "cannot read {}: {}",
                        load::display(path),
                        load::io_reason(&e)
                    ),
                )
            })?;
        let docs: Vec<J> = serde_saphyr::from_multiple_with_options(&text, crate::yaml::options())
            .map_err(|e| {
                // The parser's message without its snippet, which would quote the file.
                let d = crate::yaml::syntax_error(0, &e);
                Diagnostic::new(d.code, format!("{}: {}", load::display(path), d.message))
            })?;
        for doc in docs {
            if doc.is_null() || doc["kind"] == "Kustomization" {
                continue;
            }
            objects.insert(diff::key(&doc), diff::side(doc));
        }
    }
    Ok(objects)
}

/// What the same inputs rendered at a git revision. The files are read with `git show`;
/// nothing is checked out, so the working tree is never touched.
fn at_revision(
    options: &compile::Options,
    reference: &str,
    format: Format,
) -> Result<BTreeMap<String, Side>, Diagnostic> {
    // A revision, never an option: `--output=...` would make git write a file.
    if reference.is_empty() || reference.starts_with('-') || reference.contains(['\0', '\n']) {
        return Err(Diagnostic::new(
            Code::Io,
            format!("--against-ref {reference:?} is not a git revision"),
        ));
    }
    let paths = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    let several = paths.len() > 1;
    let mut sources = Sources::default();
    for root in &paths {
        let dir = if root.is_dir() {
            root.clone()
        } else {
            root.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let top = git(&dir, &["rev-parse", "--show-prefix"])?;
        let prefix = top.trim().to_string();
        let target = if root.is_dir() {
            prefix.clone()
        } else {
            format!(
                "{prefix}{}",
                root.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        };
        let spec = if target.is_empty() {
            ".".to_string()
        } else {
            target.clone()
        };
        let listing = git(
            &dir,
            &[
                "ls-tree",
                "-r",
                "--name-only",
                "--full-tree",
                "--end-of-options",
                reference,
                "--",
                &spec,
            ],
        )?;
        let files: Vec<&str> = listing.lines().collect();
        let rendered_dirs: Vec<String> = files
            .iter()
            .filter_map(|f| f.strip_suffix(emit::MARKER))
            .map(String::from)
            .collect();
        for file in &files {
            let relative = file.strip_prefix(&prefix).unwrap_or(file);
            let hidden = relative.split('/').any(|c| c.starts_with('.'));
            let yaml = file.ends_with(".yaml") || file.ends_with(".yml");
            let name = file.rsplit('/').next().unwrap_or_default();
            let kustomization = matches!(
                name,
                "kustomization.yaml" | "kustomization.yml" | "Kustomization"
            );
            let rendered = rendered_dirs.iter().any(|d| file.starts_with(d.as_str()));
            if hidden || !yaml || kustomization || rendered {
                continue;
            }
            let text = git(
                &dir,
                &["show", "--end-of-options", &format!("{reference}:{file}")],
            )?;
            let shown = if root.is_dir() {
                let relative = file
                    .strip_prefix(&target)
                    .unwrap_or(file)
                    .trim_start_matches('/');
                if several {
                    format!("{}/{relative}", load::display(root).trim_end_matches('/'))
                } else {
                    relative.to_string()
                }
            } else {
                load::display(root)
            };
            sources.add(format!("{shown}@{reference}"), text);
        }
    }
    let before = compile::compile_sources(options, sources, Vec::new());
    if before.has_errors() {
        report_diagnostics(&before, format);
        return Err(Diagnostic::new(
            Code::Io,
            format!("the inputs at {reference} do not build, so there is nothing to compare with"),
        ));
    }
    Ok(sides(&before))
}

fn git(dir: &Path, args: &[&str]) -> Result<String, Diagnostic> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| {
            Diagnostic::new(Code::Io, format!("cannot run git: {}", load::io_reason(&e)))
        })?;
    if !out.status.success() {
        return Err(Diagnostic::new(
            Code::Io,
            format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
