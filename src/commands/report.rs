//! What every command prints on stderr (its diagnostics, then one summary line) and the exit
//! codes it maps its outcome to.

use std::io::{self, Write};

use crate::compile::Outcome;
use crate::diagnostic::{self, Format};

pub const EXIT_OK: u8 = 0;

pub const EXIT_PROBLEMS: u8 = 1;

pub const EXIT_USAGE: u8 = 2;

/// Prints the diagnostics on stderr. Repeated warnings and notes of one code are grouped
/// after the first few, except in JSON and SARIF, where every one is an object.
pub fn report_diagnostics(outcome: &Outcome, format: Format) {
    let mut stderr = io::stderr().lock();
    // Colour only for a person at a terminal, and never against NO_COLOR.
    use std::io::IsTerminal;
    let coloured = format == Format::Human
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && io::stderr().is_terminal();
    let (shown, groups) = if matches!(format, Format::Json | Format::Sarif) {
        (outcome.diagnostics.iter().collect(), Vec::new())
    } else {
        diagnostic::group(&outcome.diagnostics, &outcome.sources)
    };
    // Bounded output whatever the input: the first diagnostics, then a count of the rest.
    let hidden = shown.len().saturating_sub(diagnostic::SHOWN);
    let mut text = String::new();
    for d in shown.into_iter().take(diagnostic::SHOWN) {
        let rendered = diagnostic::render(d, &outcome.sources, format);
        if coloured {
            text.push_str(&diagnostic::colour(&rendered, d.severity));
        } else {
            text.push_str(&rendered);
        }
    }
    for group in &groups {
        let rendered = diagnostic::render_group(group, format);
        if coloured {
            text.push_str(&diagnostic::colour(&rendered, group.severity));
        } else {
            text.push_str(&rendered);
        }
    }
    if hidden > 0 {
        text.push_str(&match format {
            Format::Json => format!(
                "{}\n",
                serde_json::json!({ "code": "diagnostics-capped", "severity": "note",
                    "message": format!("{hidden} more diagnostics not shown") })
            ),
            Format::Github => {
                format!("::notice title=kotalc::{hidden} more diagnostics not shown\n")
            }
            Format::Markdown => format!(
                "- **note**: {hidden} more diagnostics not shown (kotalc shows the first {})\n",
                diagnostic::SHOWN
            ),
            Format::Sarif => {
                diagnostic::sarif::notify(&format!(
                    "{hidden} more diagnostics not shown (kotalc reports the first {})",
                    diagnostic::SHOWN
                ));
                String::new()
            }
            Format::Human => format!(
                "note: {hidden} more diagnostics not shown (kotalc shows the first {})\n",
                diagnostic::SHOWN
            ),
        });
    }
    let _ = stderr.write_all(text.as_bytes());
}

/// Prints the run's last line: its counts and, when given, what it did with the output.
pub fn summary(outcome: &Outcome, format: Format, result: Option<String>) {
    summary_of(&outcome.diagnostics, outcome.resources, format, result);
}

pub fn summary_of(
    diagnostics: &[diagnostic::Diagnostic],
    resources: usize,
    format: Format,
    result: Option<String>,
) {
    let mut summary = diagnostic::Summary::of(diagnostics, resources);
    summary.outcome = result;
    let _ = io::stderr().write_all(diagnostic::render_summary(&summary, format).as_bytes());
}

/// Prints a diagnostic of the run as a whole (one about the output), then the summary with it
/// counted.
pub fn fail_output(outcome: &Outcome, d: &diagnostic::Diagnostic, format: Format) -> u8 {
    let _ = io::stderr().write_all(diagnostic::render(d, &outcome.sources, format).as_bytes());
    let mut all = outcome.diagnostics.clone();
    all.push(d.clone());
    summary_of(
        &all,
        outcome.resources,
        format,
        Some("nothing written".into()),
    );
    EXIT_PROBLEMS
}

/// `N files`, singular when one.
pub fn files(n: usize) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

/// Tells the formats that locate every diagnostic (SARIF) where the run's own are: at its first
/// input path, as the user named it.
pub fn anchor(options: &crate::compile::Options) {
    if let Some(path) = options.paths.first() {
        let shown = if path.as_os_str() == "-" {
            "stdin.yaml".to_string()
        } else {
            crate::diagnostic::path::display(path)
        };
        diagnostic::sarif::anchor(&shown);
    }
}
