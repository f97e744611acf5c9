//! Runs one command line: interprets the flags, drives the pipeline, prints, and maps the
//! outcome to an exit code (0 success, 1 problems in the inputs, 2 usage).

use std::ffi::OsString;
use std::io::{self, Write};

use clap::Parser;

use crate::commands::cli::{BuildArgs, CheckArgs, Cli, Command};
use crate::compile::{self, Options, Outcome, Settings};
use crate::diagnostic::settings::{ARGOCD_ENV, Front, Setting};
use crate::output::emit;

pub mod cli;
pub mod diff;
pub mod explain;
pub mod import;
pub mod krm;
mod migrate;
mod new;
mod plugin;
mod report;
mod secrets;

use cli::options;
use report::{
    EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, fail_output, files, report_diagnostics, summary, summary_of,
};

pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Build(args) => build(&args),
        Command::Validate(args) => validate(&args),
        Command::Keygen(args) => secrets::keygen(&args),
        Command::Seal(args) => secrets::seal(&args),
        Command::Migrate(args) => migrate::migrate(&args),
        Command::Import(args) => import::import(&args),
        Command::New(args) => new::new(&args),
        Command::Diff(args) => diff::diff(&args),
        Command::Krm => krm(),
        Command::KustomizePlugin(args) => plugin::run(&args),
        Command::Explain(args) => {
            match crate::commands::explain::explain(&args.target, args.recursive) {
                Ok(text) => print(&text),
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_PROBLEMS
                }
            }
        }
        Command::Schema(args) => {
            let kind = match args.kind.as_deref() {
                None => None,
                Some(name) => match crate::commands::explain::kind_of(name) {
                    Some(kind) => Some(kind),
                    None => {
                        eprintln!(
                            "error: unknown kind {name:?}: expected peer, clusterpeer or swarm"
                        );
                        return EXIT_USAGE;
                    }
                },
            };
            let mut schema = crate::model::schema::document(kind);
            describe_directives(&mut schema);
            let text = format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            match &args.output {
                None => print(&text),
                Some(path) => write_file(path, &text),
            }
        }
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut command, "kotalc", &mut out);
            print(&String::from_utf8_lossy(&out))
        }
        Command::Man(args) => man(&args),
    }
}

fn krm() -> u8 {
    // A ResourceList is bounded like any input file, so that memory is too.
    let input =
        crate::input::load::read_stream(io::stdin().lock(), crate::input::load::MAX_FILE_BYTES)
            .and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
            });
    let input = match input {
        Ok(input) => input,
        Err(e) => {
            eprintln!(
                "kotalc: cannot read the ResourceList: {}",
                crate::diagnostic::path::io_reason(&e)
            );
            return EXIT_PROBLEMS;
        }
    };
    let mut out = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
    match crate::commands::krm::run_text(&input, &mut out) {
        Ok(true) => EXIT_PROBLEMS,
        Ok(false) => EXIT_OK,
        // A closed pipe is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(_) => EXIT_PROBLEMS,
    }
}

/// Writes a generated file the user named, creating its directory.
fn write_file(path: &std::path::Path, text: &str) -> u8 {
    match crate::output::file::write_creating_dir(path, text) {
        Ok(()) => {
            eprintln!("kotalc: wrote {}", crate::diagnostic::path::display(path));
            EXIT_OK
        }
        Err(e) => {
            eprintln!(
                "error: cannot write {}: {}",
                crate::diagnostic::path::display(path),
                crate::diagnostic::path::io_reason(&e)
            );
            EXIT_PROBLEMS
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> u8 {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(_) => EXIT_PROBLEMS,
    }
}

/// Argo CD's config management plugin environment: `ARGOCD_ENV_KOTALC_*` (the Application's
/// plugin env, which Argo CD prefixes) set options, and `ARGOCD_APP_NAMESPACE` is the default
/// namespace when neither `--namespace` nor `ARGOCD_ENV_KOTALC_NAMESPACE` gives one.
fn argocd(settings: &mut Settings) -> Result<(), String> {
    argocd_unknown_variables()?;
    settings.front = Front::ArgoCd;
    let var = |setting: Setting| argocd_var(setting.variable());
    let flag = |setting: Setting| -> Result<Option<bool>, String> {
        match var(setting)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(format!(
                "{}: expected true or false, found {other:?}",
                Front::ArgoCd.name(setting)
            )),
        }
    };
    if let Some(ns) = var(Setting::Namespace)? {
        settings.namespace = Some(ns);
    }
    if settings.namespace.is_none() {
        settings.namespace = std::env::var("ARGOCD_APP_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty());
    }
    for (setting, value) in [
        (Setting::SecretMode, &mut settings.secret_mode),
        (Setting::SecretStore, &mut settings.secret_store),
        (Setting::SecretStoreKind, &mut settings.secret_store_kind),
        (
            Setting::RemoteKeyTemplate,
            &mut settings.remote_key_template,
        ),
        (Setting::ClusterDns, &mut settings.cluster_dns),
        (Setting::Monitoring, &mut settings.monitoring),
    ] {
        if let Some(given) = var(setting)? {
            *value = Some(given);
        }
    }
    for (setting, value) in [
        (Setting::DenyWarnings, &mut settings.deny_warnings),
        (Setting::AllowEmpty, &mut settings.allow_empty),
        (Setting::Passthrough, &mut settings.passthrough),
    ] {
        if let Some(on) = flag(setting)? {
            *value = on;
        }
    }
    if let Some(on) = flag(Setting::NetworkPolicies)? {
        settings.no_network_policies = !on;
    }
    if let Some(list) = var(Setting::Allow)? {
        let codes = crate::model::annotations::list(&list).map(String::from);
        settings.allow.extend(codes);
    }
    Ok(())
}

/// An option from the Application's plugin env (`ARGOCD_ENV_KOTALC_<NAME>`) or the plugin's
/// parameter of the same name, which Argo CD passes as `PARAM_<NAME>`; both given must agree.
fn argocd_var(name: &str) -> Result<Option<String>, String> {
    let env = std::env::var(format!("{ARGOCD_ENV}{name}")).ok();
    let parameter = std::env::var(format!("PARAM_{name}")).ok();
    match (env, parameter) {
        (Some(env), Some(parameter)) if env != parameter => Err(format!(
            "{ARGOCD_ENV}{name} is {env:?} but the plugin parameter PARAM_{name} is \
             {parameter:?}: set one of them"
        )),
        (env, parameter) => Ok(env.or(parameter)),
    }
}

/// A misspelt option in an Application would otherwise be ignored and the sync would go on
/// with the default, so every `ARGOCD_ENV_KOTALC_*` variable must be one kotalc knows.
fn argocd_unknown_variables() -> Result<(), String> {
    let options: Vec<&str> = Setting::ALL.iter().map(|s| s.variable()).collect();
    let mut unknown: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter_map(|name| name.strip_prefix(ARGOCD_ENV).map(String::from))
        .filter(|name| !options.contains(&name.as_str()))
        .collect();
    unknown.sort();
    let Some(first) = unknown.first() else {
        return Ok(());
    };
    let mut known: Vec<String> = options.iter().map(|o| format!("KOTALC_{o}")).collect();
    known.sort();
    let hint = match crate::diagnostic::suggest(first, options.iter().copied()) {
        Some(option) => format!("did you mean KOTALC_{option}? "),
        None => String::new(),
    };
    Err(format!(
        "unknown plugin env {} (Argo CD passes the Application's KOTALC_{first} as \
         {ARGOCD_ENV}{first}): {hint}kotalc knows {}",
        unknown
            .iter()
            .map(|u| format!("{ARGOCD_ENV}{u}"))
            .collect::<Vec<_>>()
            .join(", "),
        known.join(", ")
    ))
}

fn build(args: &BuildArgs) -> u8 {
    let mut settings = cli::settings(&args.check, true);
    settings.templates = args.templates.clone();
    let options = if args.argocd {
        argocd(&mut settings).and_then(|()| Options::new(settings))
    } else {
        Options::new(settings)
    };
    let mut options = match options {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("error: {problem}");
            return EXIT_USAGE;
        }
    };
    // The objects only go to the output: keep their YAML, not their data. To stdout, each
    // is written as it is rendered.
    options.lean = true;
    let format = args.check.format;
    report::anchor(&options);
    let mut outcome = compile::compile(&options);
    // To stdout, each object is written as it is rendered; a tree is written whole.
    let objects = if args.output.is_some() {
        outcome.take_objects()
    } else {
        Vec::new()
    };
    report_diagnostics(&outcome, format);
    if outcome.has_errors() {
        let result = if args.check_only {
            "nothing checked"
        } else {
            "nothing written"
        };
        summary(&outcome, format, Some(result.into()));
        return EXIT_PROBLEMS;
    }
    match &args.output {
        Some(dir) if args.check_only => match emit::tree(&objects) {
            Ok(files) => {
                let (code, result, stale) = diff::check_tree(dir, &files, format);
                let mut all = outcome.diagnostics.clone();
                all.extend(stale);
                summary_of(&all, outcome.resources, format, Some(result));
                code
            }
            Err(d) => fail_output(&outcome, &d, format),
        },
        None => match write_stdout(&mut outcome) {
            Ok(()) => {
                summary(&outcome, format, None);
                EXIT_OK
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
            Err(e) => {
                eprintln!(
                    "kotalc: cannot write to stdout: {}",
                    crate::diagnostic::path::io_reason(&e)
                );
                EXIT_PROBLEMS
            }
        },
        Some(dir) => {
            let shown = crate::diagnostic::path::display(dir);
            let result = emit::check_overlap(dir, &options.paths)
                .and_then(|()| emit::tree(&objects))
                .and_then(|files| {
                    emit::write_dir(dir, &files, args.force, crate::input::load::MARKER)
                });
            match result {
                Ok(written) => {
                    if format.prose() {
                        written.warn_left_alone();
                    }
                    let result = if written.unchanged {
                        format!("{shown} is unchanged ({})", files(written.files))
                    } else {
                        format!(
                            "wrote {} to {shown}{}",
                            match written.updated {
                                Some(n) => format!("{n} of {}", files(written.files)),
                                None => files(written.files),
                            },
                            if written.removed.is_empty() {
                                String::new()
                            } else {
                                format!(", removed {}", written.removed.join(", "))
                            }
                        )
                    };
                    let result = if written.kept.is_empty() {
                        result
                    } else {
                        format!(
                            "{result}; kept files it did not write: {}",
                            written.kept.join(", ")
                        )
                    };
                    summary(&outcome, format, Some(result));
                    EXIT_OK
                }
                Err(d) => fail_output(&outcome, &d, format),
            }
        }
    }
}

/// Writes the build's objects on stdout, each as it is rendered.
fn write_stdout(outcome: &mut Outcome) -> io::Result<()> {
    // Large writes, not a syscall per line as stdout's line buffering would make.
    let mut out = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
    match outcome.pending.take() {
        Some(pending) => pending.write(&mut out),
        None => out.flush(),
    }
}

fn validate(args: &CheckArgs) -> u8 {
    let options = match options(args, false) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("error: {problem}");
            return EXIT_USAGE;
        }
    };
    report::anchor(&options);
    let outcome = compile::compile(&options);
    report_diagnostics(&outcome, args.format);
    summary(&outcome, args.format, None);
    if outcome.has_errors() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

/// Man pages: kotalc(1) and a kotalc-SUBCOMMAND(1) per subcommand, each with the exit
/// status.
fn man(args: &crate::commands::cli::ManArgs) -> u8 {
    use clap::CommandFactory;
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    let pages: Vec<clap::Command> = std::iter::once(top.clone())
        .chain(top.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
        .collect();
    let page = |command: &clap::Command| -> Result<Vec<u8>, io::Error> {
        let mut out = Vec::new();
        clap_mangen::Man::new(command.clone()).render(&mut out)?;
        let roff = String::from_utf8_lossy(&out).into_owned();
        let mut sections = ".SH \"EXIT STATUS\"\n\
            .TP\n0\nSuccess.\n\
            .TP\n1\nProblems in the inputs, or in what was to be written; nothing is written.\n\
            .TP\n2\nA usage error: an unknown option, value or combination.\n"
            .to_string();
        // The directives a resource carries, on the pages of the commands that read resources.
        if ["kotalc", "build", "validate", "diff"].contains(&command.get_name()) {
            sections.push_str(
                ".SH \"KOTALC ANNOTATIONS\"\n\
                 Directives to kotalc in a resource's metadata.annotations, never copied to the \
                 output; any other kotalc.io/ annotation is an error.\n",
            );
            for (name, meaning) in crate::model::annotations::DIRECTIVES {
                // Markdown quotes mean nothing in roff.
                let meaning = meaning.replace('`', "");
                sections.push_str(&format!(".TP\n\\fB{name}\\fR\n{meaning}\n"));
            }
        }
        Ok(match roff.find(".SH VERSION") {
            Some(at) => format!("{}{sections}{}", &roff[..at], &roff[at..]),
            None => format!("{roff}{sections}"),
        }
        .into_bytes())
    };
    if let Some(dir) = &args.dir {
        for command in &pages {
            let name = command
                .get_display_name()
                .unwrap_or_else(|| command.get_name())
                .to_string();
            let path = dir.join(format!("{name}.1"));
            if let Err(e) = page(command).and_then(|roff| crate::output::file::write(&path, &roff))
            {
                eprintln!(
                    "error: cannot write {}: {}",
                    crate::diagnostic::path::display(&path),
                    crate::diagnostic::path::io_reason(&e)
                );
                return EXIT_PROBLEMS;
            }
        }
        eprintln!(
            "kotalc: wrote {} to {}",
            files(pages.len()),
            crate::diagnostic::path::display(dir)
        );
        return EXIT_OK;
    }
    let command = match &args.subcommand {
        None => &pages[0],
        Some(name) => match pages[1..].iter().find(|c| c.get_name() == name) {
            Some(command) => command,
            None => {
                let names: Vec<&str> = pages[1..].iter().map(|c| c.get_name()).collect();
                eprintln!(
                    "error: no subcommand {name:?}: the pages are kotalc and kotalc-{}",
                    names.join(", kotalc-")
                );
                return EXIT_USAGE;
            }
        },
    };
    match page(command) {
        Ok(roff) => print(&String::from_utf8_lossy(&roff)),
        Err(_) => EXIT_PROBLEMS,
    }
}

/// Lists every `kotalc.io/*` annotation in the description of `metadata.annotations`, where an
/// editor shows it: the map itself takes any string, as Kubernetes' does, and `build` judges
/// the directives.
fn describe_directives(schema: &mut serde_json::Value) {
    let Some(serde_json::Value::Object(annotations)) =
        schema.pointer_mut("/$defs/ObjectMeta/properties/annotations")
    else {
        return;
    };
    let mut text = annotations
        .get("description")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    text.push_str(" The directives:");
    for (name, meaning) in crate::model::annotations::DIRECTIVES {
        text.push_str(&format!("\n- {name}: {meaning}"));
    }
    annotations.insert("description".into(), serde_json::Value::String(text));
}
