//! Markdown for a pull request's comment or a job's step summary: the escaping every piece of
//! input-derived text goes through, after its control characters are (see `printable`).
//!
//! A name or message from the inputs is text, never markup: it cannot open a link, an image,
//! an HTML tag or a math block, mention a person or team, or close the code fence or the
//! `<details>` it is shown in.

/// Prose: every character CommonMark or GitHub reads as markup written as a literal; `@` gets
/// a zero-width space after it, so that no one is mentioned.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '<' | '>' | '&' | '|' | '~' | '#'
            | '!' | '$' | '{' | '}' | '+' | '-' | '.' | '=' | '"' | '\'' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@&#8203;"),
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `raw` literally: fenced by more backticks than any run inside it,
/// padded where it starts or ends with one. Nothing inside a code span is markup.
pub fn code(raw: &str) -> String {
    let longest = longest_run(raw, '`');
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each end of a span that has both, and a backtick at
    // an end would join the fence.
    let pad = if raw.is_empty()
        || raw.starts_with('`')
        || raw.ends_with('`')
        || (raw.starts_with(' ') && raw.ends_with(' '))
    {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{raw}{pad}{fence}")
}

/// Text inside an HTML element (`<summary>`): entities for what HTML reads, and no mention.
pub fn html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '@' => out.push_str("&#64;&#8203;"),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block of `lines` (`info` after the opening fence): the fence is longer than
/// any run of backticks in the lines, so that no line closes it.
pub fn fenced(info: &str, lines: &[String]) -> String {
    let body = lines;
    let longest = body.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{fence}{info}\n");
    for line in body {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

fn longest_run(text: &str, of: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        if c == of {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_outlast_every_backtick_run() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
    }

    #[test]
    fn prose_is_never_markup() {
        assert_eq!(
            text("[x](https://e) <img src=x> @team $a$"),
            "\\[x\\]\\(https\\://e\\) \\<img src\\=x\\> @&#8203;team \\$a\\$"
        );
        // Escaped by `printable`, its backslash then escaped: it renders as `\n`.
        assert_eq!(text("a\\nb"), "a\\\\nb");
    }

    #[test]
    fn fences_outlast_the_lines() {
        let block = fenced("diff", &["+ ```".into(), "+ </details>".into()]);
        assert!(block.starts_with("````diff\n"), "{block}");
        assert!(block.ends_with("\n````\n"), "{block}");
    }
}
