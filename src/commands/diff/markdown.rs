//! `kotalc diff --format markdown`: what a change does, as a pull request comment. Each object
//! added, removed or changed, with its verdict and findings, and its diff collapsed in a
//! `<details>`; sized for a comment, naming what it leaves out past that.

use std::fmt::Write as _;

use crate::check::changes::{Change, Entry, Gravity, Report};
use crate::diagnostic::markdown;
use crate::diagnostic::printable;

// Names and values from the inputs, their control characters escaped, then their markup.
fn code(raw: &str) -> String {
    markdown::code(&printable(raw, false))
}

fn text(raw: &str) -> String {
    markdown::text(&printable(raw, false))
}

fn html(raw: &str) -> String {
    markdown::html(&printable(raw, false))
}

fn fenced(info: &str, lines: &str) -> String {
    let lines: Vec<String> = lines
        .lines()
        .map(|l| printable(l, false).into_owned())
        .collect();
    markdown::fenced(info, &lines)
}

/// GitHub refuses a comment over 65,536 characters; the rest is room for what a workflow
/// adds around the summary.
pub const LIMIT: usize = 60_000;
/// Kept free for the note that names what was left out.
const RESERVE: usize = 6_000;
/// How many left-out objects the note names before it counts the rest.
const NAMED: usize = 30;

/// The gravest finding that is not allowed: the object's verdict.
fn verdict(entry: &Entry) -> Option<Gravity> {
    let rank = |g: Gravity| match g {
        Gravity::Refused => 0,
        Gravity::Destructive => 1,
        Gravity::RollsPods => 2,
        Gravity::Warning => 3,
        Gravity::Needs => 4,
    };
    entry
        .findings
        .iter()
        .filter(|f| !f.allowed)
        .map(|f| f.gravity)
        .min_by_key(|g| rank(*g))
}

fn change_word(change: &Change) -> &'static str {
    match change {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Changed { .. } => "changed",
        Change::Resource => "resource",
    }
}

/// The object's line and its findings.
fn head(entry: &Entry) -> String {
    let mut out = format!("**{}** {}", change_word(&entry.change), code(&entry.key));
    match verdict(entry) {
        Some(g) => {
            let _ = write!(out, " · **{}**", g.name());
        }
        None if !entry.findings.is_empty() => out.push_str(" · allowed"),
        None => {}
    }
    out.push_str("\n\n");
    for f in &entry.findings {
        let allowed = if f.allowed {
            " (allowed by `kotalc.io/allow-change`)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "- **{}** {}: {}{allowed}",
            f.gravity.name(),
            code(f.field),
            text(&f.why)
        );
    }
    if !entry.findings.is_empty() {
        out.push('\n');
    }
    out
}

/// The collapsed diff of a changed object.
fn details(entry: &Entry) -> String {
    let Change::Changed { unified } = &entry.change else {
        return String::new();
    };
    format!(
        "<details><summary>diff of {}</summary>\n\n{}\n</details>\n\n",
        html(&entry.key),
        fenced("diff", unified)
    )
}

pub fn render(report: &Report) -> String {
    let (added, removed, changed) = report.counts();
    let mut out = String::from("### kotalc diff\n\n");
    let _ = writeln!(
        out,
        "**{added} added, {removed} removed, {changed} changed, {} unchanged**\n",
        report.unchanged
    );
    let blocking = report.blocking();
    if blocking > 0 {
        let _ = writeln!(
            out,
            "**{blocking} change(s) refused or destructive:** do what each one says, or, to \
             recreate deliberately, name the field in the resource's `kotalc.io/allow-change` \
             annotation.\n"
        );
    }
    // Every object's line first, as many as fit: each one's verdict matters more than any
    // one diff. Then the diffs, in order, while they fit.
    let mut room = (LIMIT - RESERVE).saturating_sub(out.len());
    let mut shown = Vec::new();
    let mut objects_left_out = Vec::new();
    for entry in &report.entries {
        let head = head(entry);
        if head.len() <= room {
            room -= head.len();
            shown.push((entry, head));
        } else {
            objects_left_out.push(entry);
        }
    }
    let mut diffs_left_out = Vec::new();
    for (entry, head) in shown {
        out.push_str(&head);
        let details = details(entry);
        if details.len() <= room {
            room -= details.len();
            out.push_str(&details);
        } else {
            diffs_left_out.push(entry);
        }
    }
    if diffs_left_out.is_empty() && objects_left_out.is_empty() {
        return out;
    }
    out.push_str("---\n\nLeft out to fit a comment:\n");
    // The note stays within its reserve whatever the names' length (an export's are
    // unchecked): it names objects while they fit, and counts the rest.
    let end = out.len() + RESERVE - 200;
    let mut named = 0;
    let mut name = |out: &mut String, what: &str, entries: &mut Vec<&Entry>| {
        if entries.is_empty() {
            return;
        }
        // The objects a reviewer must not miss first.
        entries.sort_by_key(|e| !verdict(e).is_some_and(Gravity::blocks));
        let _ = write!(out, "- {} {what}", entries.len());
        let mut shown = Vec::new();
        let mut length = out.len();
        for entry in entries.iter() {
            let shown_name = match verdict(entry) {
                Some(g) => format!("{} (**{}**)", code(&entry.key), g.name()),
                None => code(&entry.key),
            };
            if named == NAMED || length + shown_name.len() + 2 > end {
                break;
            }
            named += 1;
            length += shown_name.len() + 2;
            shown.push(shown_name);
        }
        if !shown.is_empty() {
            let _ = write!(out, ": {}", shown.join(", "));
            let rest = entries.len() - shown.len();
            if rest > 0 {
                let _ = write!(out, " and {rest} more");
            }
        }
        out.push('\n');
    };
    name(&mut out, "objects' diffs", &mut diffs_left_out);
    name(&mut out, "objects", &mut objects_left_out);
    out.push_str("\n`kotalc diff` without `--format markdown` prints them all.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names of any length (an export's are unchecked) never take the summary past its limit.
    #[test]
    fn long_names_stay_within_the_limit() {
        let entries = (0..400)
            .map(|i| Entry {
                key: format!("ConfigMap ipfs/{i:03}{}", "n".repeat(4000)),
                change: Change::Added,
                findings: Vec::new(),
            })
            .collect();
        let report = Report {
            entries,
            unchanged: 0,
        };
        let markdown = render(&report);
        assert!(markdown.len() <= LIMIT, "{}", markdown.len());
        assert!(markdown.contains("and "), "{markdown}");
    }
}
