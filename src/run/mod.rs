//! Runs one command line: interprets the flags, drives the pipeline, prints, and maps the
//! outcome to an exit code (0 success, 1 problems in the inputs, 2 usage).

use std::ffi::OsString;
use std::io::{self, Write};

use clap::Parser;

use crate::cli::{BuildArgs, CheckArgs, Cli, Command};
use crate::compile::{self, Options, Outcome};
use crate::diagnostic::{self, Format};
use crate::emit;
use crate::secrets::{SecretMode, SecretOptions};

mod diff;
mod migrate;
mod plugin;
mod secrets;

pub const EXIT_OK: u8 = 0;
pub const EXIT_PROBLEMS: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

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
        Command::Diff(args) => diff::diff(&args),
        Command::Krm => krm(),
        Command::KustomizePlugin(args) => plugin::run(&args),
        Command::Explain(args) => match crate::explain::explain(&args.target, args.recursive) {
            Ok(text) => print(&text),
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_PROBLEMS
            }
        },
        Command::Schema(args) => {
            let kind = match args.kind.as_deref() {
                None => None,
                Some(name) => match crate::explain::kind_of(name) {
                    Some(kind) => Some(kind),
                    None => {
                        eprintln!(
                            "error: unknown kind {name:?}: expected peer, clusterpeer or swarm"
                        );
                        return EXIT_USAGE;
                    }
                },
            };
            let schema = crate::schema::document(kind);
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ))
        }
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut command, "kotalc", &mut out);
            print(&String::from_utf8_lossy(&out))
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => print(&String::from_utf8_lossy(&out)),
                Err(_) => EXIT_PROBLEMS,
            }
        }
    }
}

fn krm() -> u8 {
    // A ResourceList is bounded like any input file, so that memory is too.
    let input = crate::load::read_stream(io::stdin().lock(), crate::load::MAX_FILE_BYTES).and_then(
        |bytes| {
            String::from_utf8(bytes)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
        },
    );
    let input = match input {
        Ok(input) => input,
        Err(e) => {
            eprintln!(
                "kotalc: cannot read the ResourceList: {}",
                crate::load::io_reason(&e)
            );
            return EXIT_PROBLEMS;
        }
    };
    let (output, failed) = crate::krm::run_text(&input);
    let code = print(&output);
    if failed { EXIT_PROBLEMS } else { code }
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

pub(super) fn options(args: &CheckArgs, render: bool) -> Options {
    Options {
        paths: args.paths.clone(),
        namespace: args.namespace.clone(),
        passthrough: args.passthrough,
        templates: None,
        deny_warnings: args.deny_warnings,
        allow_empty: args.allow_empty,
        render,
        secrets: SecretOptions {
            mode: args.secrets.secret_mode,
            store: args.secrets.secret_store.clone(),
            store_kind: args.secrets.secret_store_kind,
            remote_key_template: args.secrets.remote_key_template.clone(),
        },
        lean: false,
    }
}

/// Argo CD's config management plugin environment: `ARGOCD_ENV_KOTALC_*` (the Application's
/// plugin env, which Argo CD prefixes) set options, and `ARGOCD_APP_NAMESPACE` is the default
/// namespace when neither `--namespace` nor `ARGOCD_ENV_KOTALC_NAMESPACE` gives one.
fn argocd(options: &mut Options) -> Result<(), String> {
    let var = |name: &str| std::env::var(format!("ARGOCD_ENV_KOTALC_{name}")).ok();
    let flag = |name: &str| -> Result<Option<bool>, String> {
        match var(name).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(format!(
                "ARGOCD_ENV_KOTALC_{name}: expected true or false, found {other:?}"
            )),
        }
    };
    if let Some(ns) = var("NAMESPACE") {
        options.namespace = Some(ns);
    }
    if options.namespace.is_none() {
        options.namespace = std::env::var("ARGOCD_APP_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty());
    }
    if let Some(mode) = var("SECRET_MODE") {
        use clap::ValueEnum;
        options.secrets.mode = SecretMode::from_str(&mode, false).map_err(|_| {
            format!("ARGOCD_ENV_KOTALC_SECRET_MODE: {mode:?} is not sealed, external or none")
        })?;
    }
    if let Some(store) = var("SECRET_STORE") {
        options.secrets.store = Some(store);
    }
    if let Some(kind) = var("SECRET_STORE_KIND") {
        use clap::ValueEnum;
        options.secrets.store_kind = crate::secrets::StoreKind::from_str(&kind, false)
            .map_err(|_| format!("ARGOCD_ENV_KOTALC_SECRET_STORE_KIND: {kind:?} is not SecretStore or ClusterSecretStore"))?;
    }
    if let Some(template) = var("REMOTE_KEY_TEMPLATE") {
        options.secrets.remote_key_template = template;
    }
    if let Some(deny) = flag("DENY_WARNINGS")? {
        options.deny_warnings = deny;
    }
    if let Some(allow) = flag("ALLOW_EMPTY")? {
        options.allow_empty = allow;
    }
    if options.secrets.mode == SecretMode::External && options.secrets.store.is_none() {
        return Err("secret mode external needs ARGOCD_ENV_KOTALC_SECRET_STORE".into());
    }
    match crate::secrets::check_remote_key_template(&options.secrets.remote_key_template) {
        Some(problem) => Err(format!("remote key template {problem}")),
        None => Ok(()),
    }
}

/// Secret options that cannot work together, as a usage error.
pub(super) fn secret_usage(args: &CheckArgs, render: bool) -> Option<String> {
    let s = &args.secrets;
    if render && s.secret_mode == SecretMode::External && s.secret_store.is_none() {
        return Some("--secret-mode external needs --secret-store NAME".into());
    }
    crate::secrets::check_remote_key_template(&s.remote_key_template)
        .map(|problem| format!("--remote-key-template {problem}"))
}

pub(super) fn report_diagnostics(outcome: &Outcome, format: Format) {
    let mut stderr = io::stderr().lock();
    // Colour only for a person at a terminal, and never against NO_COLOR.
    use std::io::IsTerminal;
    let coloured = format == Format::Human
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && io::stderr().is_terminal();
    for d in outcome.diagnostics.iter().take(diagnostic::SHOWN) {
        let mut text = diagnostic::render(d, &outcome.sources, format);
        if coloured {
            text = diagnostic::colour(&text, d.severity);
        }
        let _ = stderr.write_all(text.as_bytes());
    }
    let hidden = outcome.diagnostics.len().saturating_sub(diagnostic::SHOWN);
    if hidden > 0 {
        let line = match format {
            Format::Json => format!(
                "{}\n",
                serde_json::json!({ "code": "diagnostics-capped", "severity": "note",
                    "message": format!("{hidden} more diagnostics not shown") })
            ),
            Format::Github => {
                format!("::notice title=kotalc::{hidden} more diagnostics not shown\n")
            }
            Format::Human => format!(
                "note: {hidden} more diagnostics not shown (kotalc shows the first {})\n",
                diagnostic::SHOWN
            ),
        };
        let _ = stderr.write_all(line.as_bytes());
    }
    if format == Format::Human {
        let errors = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == diagnostic::Severity::Warning)
            .count();
        if errors > 0 {
            let _ = writeln!(
                stderr,
                "kotalc: {errors} error(s), {warnings} warning(s); nothing written"
            );
        }
    }
}

fn build(args: &BuildArgs) -> u8 {
    if let Some(problem) = secret_usage(&args.check, true) {
        eprintln!("error: {problem}");
        return EXIT_USAGE;
    }
    let mut options = options(&args.check, true);
    options.templates = args.templates.clone();
    // The objects only go to the output: keep their YAML, not their data.
    options.lean = true;
    if args.argocd
        && let Err(problem) = argocd(&mut options)
    {
        eprintln!("error: {problem}");
        return EXIT_USAGE;
    }
    let outcome = compile::compile(&options);
    report_diagnostics(&outcome, args.check.format);
    if outcome.has_errors() {
        return EXIT_PROBLEMS;
    }
    match &args.output {
        Some(dir) if args.check_only => match emit::tree(&outcome.objects) {
            Ok(files) => diff::check_tree(dir, &files, args.check.format),
            Err(d) => {
                let _ = io::stderr().write_all(
                    diagnostic::render(&d, &outcome.sources, args.check.format).as_bytes(),
                );
                EXIT_PROBLEMS
            }
        },
        None => match emit::write_stream(
            &outcome.objects,
            // Large writes, not a syscall per line as stdout's line buffering would make.
            &mut io::BufWriter::with_capacity(1 << 20, io::stdout().lock()),
        ) {
            Ok(()) => EXIT_OK,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
            Err(e) => {
                eprintln!(
                    "kotalc: cannot write to stdout: {}",
                    crate::load::io_reason(&e)
                );
                EXIT_PROBLEMS
            }
        },
        Some(dir) => {
            let result = emit::check_overlap(dir, &options.paths)
                .and_then(|()| emit::tree(&outcome.objects))
                .and_then(|files| emit::write_dir(dir, &files, args.force, emit::MARKER));
            match result {
                Ok(written) => {
                    if args.check.format == Format::Human {
                        eprintln!(
                            "kotalc: wrote {} files to {}{}",
                            written.files,
                            crate::load::display(dir),
                            if written.removed.is_empty() {
                                String::new()
                            } else {
                                format!(", removed {}", written.removed.join(", "))
                            }
                        );
                        if !written.kept.is_empty() {
                            eprintln!(
                                "kotalc: kept files it did not write: {}",
                                written.kept.join(", ")
                            );
                        }
                    }
                    EXIT_OK
                }
                Err(d) => {
                    let _ = io::stderr().write_all(
                        diagnostic::render(&d, &outcome.sources, args.check.format).as_bytes(),
                    );
                    EXIT_PROBLEMS
                }
            }
        }
    }
}

fn validate(args: &CheckArgs) -> u8 {
    if let Some(problem) = secret_usage(args, false) {
        eprintln!("error: {problem}");
        return EXIT_USAGE;
    }
    let outcome = compile::compile(&options(args, false));
    report_diagnostics(&outcome, args.format);
    if outcome.has_errors() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}
