//! `kotalc diff`'s text: each object added, removed or changed, with its findings, for a
//! terminal or a log.

use std::fmt::Write as _;

use std::io::{self, IsTerminal};

use crate::check::changes::{Change, Gravity, Report};
use crate::commands::cli::ColorChoice;

/// Colours for a terminal, or none.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    /// Colours as `--color` asks; by default, on a terminal unless `NO_COLOR` is set.
    pub fn of(choice: ColorChoice) -> Style {
        let colour = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        };
        Style { colour }
    }

    /// `text`, its control characters escaped (names and values come from files anyone can
    /// commit), coloured.
    fn paint(self, code: &str, text: &str) -> String {
        let text = crate::diagnostic::printable(text, false);
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// `+` added, `-` removed, `~` changed with its unified diff, warnings, then a summary line.
pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    for entry in &report.entries {
        match &entry.change {
            Change::Added => {
                let _ = writeln!(out, "{}", style.paint("32", &format!("+ {}", entry.key)));
            }
            Change::Removed => {
                let _ = writeln!(out, "{}", style.paint("31", &format!("- {}", entry.key)));
            }
            Change::Resource => {
                let _ = writeln!(out, "{}", style.paint("33", &format!("! {}", entry.key)));
            }
            Change::Changed { unified } => {
                let _ = writeln!(out, "{}", style.paint("33", &format!("~ {}", entry.key)));
                for line in unified.lines() {
                    let painted = match line.as_bytes().first() {
                        Some(b'+') if !line.starts_with("+++") => style.paint("32", line),
                        Some(b'-') if !line.starts_with("---") => style.paint("31", line),
                        Some(b'@') => style.paint("36", line),
                        _ => crate::diagnostic::printable(line, false).into_owned(),
                    };
                    let _ = writeln!(out, "    {painted}");
                }
            }
        }
        for f in &entry.findings {
            let label = format!("{}:", f.gravity.name());
            let colour = match f.gravity {
                Gravity::RollsPods => "36",
                Gravity::Warning | Gravity::Needs => "1;33",
                Gravity::Refused | Gravity::Destructive => "1;31",
            };
            let allowed = if f.allowed {
                " (allowed by kotalc.io/allow-change)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {} {}: {}{allowed}",
                style.paint(colour, &label),
                crate::diagnostic::printable(f.field, false),
                crate::diagnostic::printable(&f.why, false)
            );
        }
    }
    let (added, removed, changed) = report.counts();
    let _ = writeln!(
        out,
        "{added} added, {removed} removed, {changed} changed, {} unchanged",
        report.unchanged
    );
    let blocking = report.blocking();
    if blocking > 0 {
        let _ = writeln!(
            out,
            "{blocking} change(s) refused or destructive: do what each one says, or, to \
             recreate deliberately, name the field in the resource's kotalc.io/allow-change \
             annotation"
        );
    }
    crate::diagnostic::uncommanded(&out).into_owned()
}
