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
}

/// Every input file of one run, in discovery order.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
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
        });
        self.files.len() - 1
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
            }
        }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, file: FileId, line: u32) -> Option<&str> {
        let text = &self.files.get(file)?.text;
        let idx = usize::try_from(line).ok()?.checked_sub(1)?;
        text.split('\n')
            .nth(idx)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}
