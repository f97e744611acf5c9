//! Input texts and the positions that diagnostics point at.

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// A position in an input file: 1-based line and column (in characters) and a length in
/// characters for the caret underline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

/// One input file as read from disk or standard input.
#[derive(Debug)]
pub struct SourceFile {
    /// The path shown to users: relative to the input root it was found under.
    pub display: String,
    /// The path from the working directory, for tools that open the file (GitHub
    /// annotations).
    pub path: String,
    pub text: String,
    /// Byte offsets of each line's start, computed once, when a snippet first needs one.
    line_starts: std::sync::OnceLock<Vec<usize>>,
    /// Byte ranges of secret values, one line each, sorted: never shown in a snippet.
    secret_ranges: Vec<(usize, usize)>,
    /// The file could not be parsed, so what its values mean is read from its lines alone:
    /// snippets show the structure only of lines that may hold a secret.
    pub opaque: bool,
    /// The last line a snippet showed: diagnostics come sorted by line, so the many
    /// diagnostics of one long line map it once.
    last_shown: std::sync::Mutex<Option<(u32, std::sync::Arc<ShownLine>)>>,
}

/// A copy of the file as read: what it caches for snippets is made again when needed.
impl Clone for SourceFile {
    fn clone(&self) -> SourceFile {
        SourceFile {
            display: self.display.clone(),
            path: self.path.clone(),
            text: self.text.clone(),
            line_starts: std::sync::OnceLock::new(),
            secret_ranges: self.secret_ranges.clone(),
            opaque: self.opaque,
            last_shown: std::sync::Mutex::new(None),
        }
    }
}

/// Characters between two entries of a [`ShownLine`]'s index.
const STEP: usize = 256;

/// A line as a snippet shows it (secret values masked), with an index from character to
/// byte offset, so that showing a window of a long line costs the window, not the line.
#[derive(Debug)]
pub struct ShownLine {
    text: String,
    /// The byte offset of every `STEP`th character.
    marks: Vec<usize>,
    chars: usize,
}

#[cfg(test)]
thread_local! {
    /// How many lines were mapped: the tests count it to prove the cost linear.
    pub static MAPPED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
thread_local! {
    /// How many characters marking secrets walked: the tests count it to prove the cost
    /// linear in the text, not in values × line length.
    pub static WALKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl ShownLine {
    fn new(text: String) -> Self {
        #[cfg(test)]
        MAPPED.with(|m| m.set(m.get() + 1));
        let mut marks = Vec::new();
        let mut chars = 0;
        for (i, (at, _)) in text.char_indices().enumerate() {
            if i % STEP == 0 {
                marks.push(at);
            }
            chars += 1;
        }
        ShownLine { text, marks, chars }
    }

    pub fn chars(&self) -> usize {
        self.chars
    }

    /// The byte offset of the `n`th character, or the end.
    fn offset(&self, n: usize) -> usize {
        let Some(&base) = self.marks.get(n / STEP) else {
            return self.text.len();
        };
        self.text[base..]
            .char_indices()
            .nth(n % STEP)
            .map_or(self.text.len(), |(i, _)| base + i)
    }

    /// Characters `from..to`.
    pub fn window(&self, from: usize, to: usize) -> &str {
        &self.text[self.offset(from)..self.offset(to.max(from))]
    }
}

/// Why the loader passed over an entry below an input directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A hidden file, or a hidden directory, not entered.
    Hidden,
    /// A directory that holds kotalc's marker file: a tree kotalc rendered, output and never
    /// input, not entered.
    Output,
    /// A file whose name is not a resource file's.
    Name,
    /// A link, FIFO, device or submodule with a resource file's name: never followed or read.
    NotRegular,
}

/// An entry below an input directory that the loader passed over, named as the files read
/// are; a directory's name ends with `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passed {
    pub path: String,
    pub why: Skip,
}

/// Every input file of one run, in discovery order, and the entries passed over.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// Recorded by the same walk that found the files, in its order.
    passed: Vec<Passed>,
    /// The text of every secret value of the inputs, never printed in any message.
    secret_values: std::collections::BTreeSet<String>,
}

impl Sources {
    pub fn add(&mut self, display: String, text: String) -> FileId {
        let path = display.clone();
        self.add_at(display, path, text)
    }

    pub fn add_at(&mut self, display: String, path: String, text: String) -> FileId {
        self.files.push(SourceFile {
            display,
            path,
            text,
            line_starts: std::sync::OnceLock::new(),
            secret_ranges: Vec::new(),
            opaque: false,
            last_shown: std::sync::Mutex::new(None),
        });
        self.files.len() - 1
    }

    /// Records an entry the loader passed over: what an input without a resource names.
    pub fn pass(&mut self, path: String, why: Skip) {
        self.passed.push(Passed { path, why });
    }

    pub fn passed(&self) -> &[Passed] {
        &self.passed
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate()
    }

    /// Frees the text of every file that no diagnostic points into; a lean build needs the
    /// memory for its output. Positions stay valid; only snippets of those files are gone.
    pub fn release_unreferenced(&mut self, referenced: &std::collections::BTreeSet<FileId>) {
        for (id, file) in self.files.iter_mut().enumerate() {
            if !referenced.contains(&id) {
                file.text = String::new();
                file.line_starts = std::sync::OnceLock::new();
                file.secret_ranges = Vec::new();
                file.last_shown = std::sync::Mutex::new(None);
            }
        }
    }

    /// The byte range of a 1-based line, without its newline.
    fn line_range(&self, file: FileId, line: u32) -> Option<(usize, usize)> {
        let source = self.files.get(file)?;
        let starts = source.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(source.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let idx = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *starts.get(idx)?;
        let end = starts
            .get(idx + 1)
            .map_or(source.text.len(), |next| next - 1);
        Some((start, end))
    }

    /// Where each of `parts` is written inside the scalar at `within` (its span, possibly
    /// over several lines), searched in order: one entry of a comma-separated annotation gets
    /// its own line and column. A part not written as it reads (an escape in a quoted string)
    /// is located at `within`.
    pub fn locate<'p>(&self, within: Span, parts: impl IntoIterator<Item = &'p str>) -> Vec<Span> {
        let text = self.files.get(within.file).map_or("", |f| f.text.as_str());
        let count = |s: &str| u32::try_from(s.chars().count()).unwrap_or(u32::MAX);
        let nth_char = |from: usize, n: u32| {
            text[from..]
                .char_indices()
                .nth(usize::try_from(n).unwrap_or(usize::MAX))
                .map_or(text.len(), |(i, _)| from + i)
        };
        let Some((from, to)) = self
            .line_range(within.file, within.line)
            .map(|(start, _)| nth_char(start, within.col.saturating_sub(1)))
            .map(|from| (from, nth_char(from, within.len)))
        else {
            return parts.into_iter().map(|_| within).collect();
        };
        let mut next = from;
        parts
            .into_iter()
            .map(|part| {
                let Some(at) = text[next..to].find(part).map(|i| next + i) else {
                    return within;
                };
                next = at + part.len();
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let lines = u32::try_from(text[from..at].matches('\n').count()).unwrap_or(0);
                Span {
                    file: within.file,
                    line: within.line + lines,
                    col: count(&text[line_start..at]) + 1,
                    len: count(part),
                }
            })
            .collect()
    }

    /// Marks secret values: each span (a scalar's position and length in characters,
    /// possibly over several lines) is masked in snippets, and each value's text is masked
    /// in messages. The spans are taken in order of position, and each one's column is
    /// reached from the previous one's on the same line, so that the many values of one long
    /// line (a flow sequence) cost the line once, not once per value.
    pub fn mark_secrets(&mut self, file: FileId, mut secrets: Vec<(Span, String)>) {
        if file >= self.files.len() {
            return;
        }
        secrets.sort_by_key(|(span, _)| (span.line, span.col));
        let mut ranges = Vec::new();
        // The last column reached: its line, its 0-based character index and byte offset.
        let mut cursor: Option<(u32, usize, usize)> = None;
        for (span, value) in secrets {
            if let Some((start, _)) = self.line_range(file, span.line) {
                let text = &self.files[file].text;
                let col = usize::try_from(span.col.saturating_sub(1)).unwrap_or(0);
                let (base_col, base) = match cursor {
                    Some((line, at_col, at)) if line == span.line && at_col <= col => (at_col, at),
                    _ => (0, start),
                };
                let from = advance(text, base, col - base_col);
                cursor = Some((span.line, col, from));
                let len = usize::try_from(span.len.max(1)).unwrap_or(1);
                let to = advance(text, from, len);
                // One range per line, so that a line's ranges are found by position.
                let mut at = from;
                for piece in text[from..to].split_inclusive('\n') {
                    ranges.push((at, at + piece.trim_end_matches('\n').len()));
                    at += piece.len();
                }
            }
            for form in [
                value.clone(),
                format!("{value:?}").trim_matches('"').to_string(),
            ] {
                if form.chars().count() >= MIN_SECRET {
                    self.secret_values.insert(form);
                }
            }
        }
        let file = &mut self.files[file];
        file.secret_ranges.extend(ranges);
        file.secret_ranges.sort_unstable();
    }

    /// Marks what parsing a file found: its secret values, or `None` when it did not parse
    /// (then nothing of it is known to be safe to show).
    pub fn mark_parsed(&mut self, file: FileId, secrets: Option<Vec<(Span, String)>>) {
        match secrets {
            Some(secrets) if !secrets.is_empty() => self.mark_secrets(file, secrets),
            Some(_) => {}
            None => self.mark_opaque(file),
        }
    }

    /// Marks a file whose values' meaning is unknown: it did not parse.
    pub fn mark_opaque(&mut self, file: FileId) {
        if let Some(source) = self.files.get_mut(file) {
            source.opaque = true;
        }
    }

    /// A line as a snippet may show it: secret values masked, and, in a file that did not
    /// parse, every scalar but the keys of a line that may hold a secret.
    pub fn shown_line(&self, file: FileId, line: u32) -> Option<std::sync::Arc<ShownLine>> {
        let source = self.files.get(file)?;
        let mut last = source
            .last_shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, shown)) = last.as_ref()
            && *at == line
        {
            return Some(shown.clone());
        }
        let shown = std::sync::Arc::new(ShownLine::new(self.mask_line(file, line)?));
        *last = Some((line, shown.clone()));
        Some(shown)
    }

    fn mask_line(&self, file: FileId, line: u32) -> Option<String> {
        let (start, end) = self.line_range(file, line)?;
        let source = self.files.get(file)?;
        let text = source.text.get(start..end)?;
        let text = text.strip_suffix('\r').unwrap_or(text);
        if source.opaque {
            let index = usize::try_from(line).ok()?.checked_sub(1)?;
            return Some(if may_hold_secret(&source.text, index) {
                structure_only(text)
            } else {
                text.to_string()
            });
        }
        let ranges = &source.secret_ranges;
        let first = ranges.partition_point(|&(s, _)| s < start);
        // In order, as `secret_ranges` is.
        let masked: Vec<(usize, usize)> = ranges[first..]
            .iter()
            .take_while(|&&(s, _)| s < end)
            .map(|&(s, e)| (s - start, e.min(end) - start))
            .collect();
        if masked.is_empty() {
            return Some(text.to_string());
        }
        // One pass: the ranges are sorted, so each character is checked against the range
        // it could be in.
        let mut out = String::with_capacity(text.len());
        let mut next = 0;
        for (i, c) in text.char_indices() {
            while next < masked.len() && masked[next].1 <= i {
                next += 1;
            }
            if masked.get(next).is_some_and(|&(s, e)| i >= s && i < e) {
                out.push('*');
            } else {
                out.push(c);
            }
        }
        Some(out)
    }

    /// `text` with every secret value of the inputs replaced by `<redacted>`.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.secret_values.is_empty()
            || !self.secret_values.iter().any(|v| text.contains(v.as_str()))
        {
            return text.into();
        }
        let mut out = text.to_string();
        // Longest first, so that a value's escaped form and its fragments go together.
        let mut values: Vec<&String> = self.secret_values.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "<redacted>");
            }
        }
        out.into()
    }
}

/// Whether line `index` of a file that did not parse may hold a secret value, read from the
/// lines alone, as the parser would have marked it: under a Secret's `data` or `stringData`,
/// a SealedSecret's `template.data`, a Swarm's `privateKey` or a node's `id` (found by
/// indentation), or a line that continues a value from an earlier line, in a document that
/// may hold secrets. Every line of a document whose kind cannot be read may.
fn may_hold_secret(text: &str, index: usize) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let Some(&line) = lines.get(index) else {
        return true;
    };
    let separator = |l: &&str| l.starts_with("---") || l.starts_with("...");
    let start = lines[..index]
        .iter()
        .rposition(separator)
        .map_or(0, |i| i + 1);
    let end = lines[index..]
        .iter()
        .position(separator)
        .map_or(lines.len(), |i| index + i);
    let kind = lines[start..end].iter().find_map(|l| {
        let value = l.strip_prefix("kind:")?;
        let value = value.split('#').next()?.trim().trim_matches(['"', '\'']);
        (!value.is_empty()).then_some(value)
    });
    let secret_keys: &[&str] = match kind {
        Some("Secret") => &["data", "stringData"],
        Some("SealedSecret") => &["data"],
        Some("Swarm") => &["privateKey", "id"],
        Some("List") => &["data", "stringData", "privateKey", "id"],
        // Not a Kubernetes object, or not one that can be read: any text, any value.
        None => return true,
        Some(_) => return false,
    };
    let Some((column, own)) = entry(line) else {
        // A value continued from an earlier line (a quoted or plain scalar over several
        // lines) may be any value's.
        return !line.trim().is_empty() && !line.trim_start().starts_with('#');
    };
    let mut keys = vec![own];
    let mut column = column;
    for above in lines[start..index].iter().rev() {
        if let Some((at, key)) = entry(above)
            && at < column
        {
            keys.push(key);
            column = at;
        }
    }
    let under = |key: &str| keys.contains(&key) && secret_keys.contains(&key);
    match kind {
        // The plaintext template, not the sealed `encryptedData`.
        Some("SealedSecret") => {
            keys.iter().position(|k| *k == "data") < keys.iter().position(|k| *k == "template")
                && under("data")
        }
        _ => secret_keys.iter().any(|k| under(k)),
    }
}

/// A line's mapping key and its column, past any `- ` of list items.
fn entry(line: &str) -> Option<(usize, &str)> {
    let mut rest = line.trim_start_matches(' ');
    while let Some(item) = rest.strip_prefix("- ") {
        rest = item.trim_start_matches(' ');
    }
    let column = line.len() - rest.len();
    let key = match rest.chars().next()? {
        quote @ ('"' | '\'') => {
            let close = rest[1..].find(quote)? + 1;
            rest[close + 1..]
                .trim_start()
                .starts_with(':')
                .then(|| &rest[1..close])?
        }
        '#' | '{' | '[' | '|' | '>' => return None,
        _ => {
            let colon = rest
                .find(": ")
                .or_else(|| rest.strip_suffix(':').map(str::len))?;
            let key = rest[..colon].trim_end();
            (!key.contains(" #")).then_some(key)?
        }
    };
    Some((column, key))
}

/// The byte offset `n` characters after byte offset `from` in `text`, or its end.
fn advance(text: &str, from: usize, n: usize) -> usize {
    #[cfg(test)]
    WALKED.with(|w| w.set(w.get() + n));
    text[from..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| from + i)
}

/// Values shorter than this are not searched for in messages: they would mask ordinary words.
const MIN_SECRET: usize = 6;

/// A line with its scalars masked: indentation, YAML punctuation and the keys that open a
/// mapping entry (first on the line, or after `{` or `,`) stay.
fn structure_only(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut token = String::new();
    let mut key_place = true;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let ends_key = c == ':' && chars.peek().is_none_or(|n| n.is_whitespace());
        let indicator = matches!(
            c,
            '{' | '}' | '[' | ']' | ',' | '#' | '&' | '*' | '!' | '|' | '>'
        ) || c.is_whitespace()
            || (c == '-' && token.is_empty() && chars.peek().is_none_or(|n| n.is_whitespace()))
            || ends_key;
        if !indicator {
            token.push(c);
            continue;
        }
        // YAML's own words say nothing of a value.
        let keep = (ends_key && key_place)
            || matches!(
                token.as_str(),
                "true" | "false" | "null" | "~" | "---" | "..."
            );
        if keep {
            out.push_str(&token);
        } else {
            out.extend(token.chars().map(|_| '*'));
        }
        if !token.is_empty() || ends_key {
            key_place = false;
        }
        if matches!(c, '{' | ',' | '[' | '-') {
            key_place = true;
        }
        token.clear();
        out.push(c);
    }
    if matches!(
        token.as_str(),
        "true" | "false" | "null" | "~" | "---" | "..."
    ) {
        out.push_str(&token);
    } else {
        out.extend(token.chars().map(|_| '*'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Marks `items` values, all on one line as a flow sequence or one a line as a block
    /// sequence; returns the characters walked and the sources.
    fn mark(items: usize, one_line: bool) -> (usize, Sources) {
        let values: Vec<String> = (0..items).map(|i| format!("value{i:06}")).collect();
        let text = if one_line {
            format!("[{}]\n", values.join(", "))
        } else {
            values.iter().map(|v| format!("- {v}\n")).collect()
        };
        let mut sources = Sources::default();
        let file = sources.add("list.yaml".into(), text.clone());
        // Positions found in one pass: each value after the previous one.
        let mut secrets = Vec::new();
        let mut line = 1;
        let mut col = 1;
        let mut at = 0;
        for value in &values {
            let found = text[at..].find(value.as_str()).expect("value") + at;
            for c in text[at..found].chars() {
                if c == '\n' {
                    line += 1;
                    col = 1;
                } else {
                    col += 1;
                }
            }
            secrets.push((
                Span {
                    file,
                    line,
                    col,
                    len: 11,
                },
                value.clone(),
            ));
            at = found;
        }
        // In reverse, as no parser gives them: the order is the marker's to choose.
        secrets.reverse();
        WALKED.with(|w| w.set(0));
        sources.mark_secrets(file, secrets);
        (WALKED.with(std::cell::Cell::get), sources)
    }

    /// The attack: one line of 80k values in a document whose kind cannot be read, so that
    /// every value is marked. Each value's column is reached from the previous one's, so
    /// marking walks the line once: the characters walked grow with the items as in the
    /// block form, not with items × line length.
    #[test]
    fn marking_the_values_of_one_long_line_walks_it_once() {
        for items in [1_000, 80_000] {
            let (flow, sources) = mark(items, true);
            let (block, _) = mark(items, false);
            let line = sources.get(0).text.len();
            // To each value's column, then over the value: the line, at most twice.
            assert!(
                flow <= 2 * line,
                "{items} items: {flow} characters walked for a line of {line}"
            );
            assert!(
                flow <= 2 * block,
                "{items} items: {flow} walked, block form {block}"
            );
        }
        // The marks are where the values are: each value is masked, and nothing else.
        let (_, sources) = mark(3, true);
        let shown = sources.shown_line(0, 1).expect("line");
        assert_eq!(
            shown.window(0, shown.chars()),
            "[***********, ***********, ***********]"
        );
    }
}
