//! kotalc as a kustomize legacy exec plugin, the kind `kubectl kustomize --enable-alpha-plugins`
//! runs (it cannot run KRM exec functions). kustomize runs the executable at
//! `$KUSTOMIZE_PLUGIN_HOME/kotalc.io/v1alpha1/kotalcbuild/KotalcBuild` in the kustomization
//! directory, with the path of the plugin's configuration as its first argument; the
//! configuration's `spec.paths` name the inputs, relative to that directory.

use std::io::{self, Write};

use serde_json::Value as J;

use super::report::{EXIT_OK, EXIT_PROBLEMS, report_diagnostics, summary};
use crate::commands::cli::PluginArgs;
use crate::compile::{self, Options};
use crate::diagnostic::Format;
use crate::diagnostic::path::{display, io_reason};
use crate::diagnostic::settings::Front;
use crate::input::load;

pub const KIND: &str = "KotalcBuild";

pub fn run(args: &PluginArgs) -> u8 {
    let shown = display(&args.config);
    let config: J = match load::read_regular(&args.config, 1 << 20, true)
        .map_err(|e| io_reason(&e))
        .and_then(|bytes| {
            serde_saphyr::from_slice_with_options(&bytes, crate::input::yaml::options())
                .map_err(|_| "not a YAML mapping".to_string())
        }) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: cannot read the plugin configuration {shown}: {e}");
            return EXIT_PROBLEMS;
        }
    };
    if config["kind"] != KIND {
        eprintln!(
            "error: {shown}: expected kind {KIND}, found {}",
            config["kind"]
        );
        return EXIT_PROBLEMS;
    }
    let settings = crate::commands::krm::settings(&config, Front::Plugin);
    let options = match settings.and_then(Options::new) {
        Ok(options) if !options.paths.is_empty() => options,
        Ok(_) => {
            eprintln!("error: {shown}: spec.paths must name the input files or directories");
            return EXIT_PROBLEMS;
        }
        Err(e) => {
            eprintln!("error: {shown}: {e}");
            return EXIT_PROBLEMS;
        }
    };
    let mut outcome = compile::compile(&options);
    report_diagnostics(&outcome, Format::Human);
    summary(&outcome, Format::Human, None);
    if outcome.has_errors() {
        return EXIT_PROBLEMS;
    }
    let mut stdout = io::stdout().lock();
    let written = match outcome.pending.take() {
        Some(pending) => pending.write(&mut stdout),
        None => stdout.flush(),
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(_) => EXIT_PROBLEMS,
    }
}
