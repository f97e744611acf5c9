//! One diagnostic type for every problem kotalc reports, and the renderers that print it.

pub mod shell;
pub mod source;

use std::fmt::Write as _;

use serde::Serialize;

use crate::diagnostic::source::{Sources, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Information on what kotalc changed or dropped; never fails a build.
    Note,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $summary:literal;)*) => {
        /// Every diagnostic kotalc can report. The kebab-case codes are stable: CI
        /// configurations and `kotalc.io/allow` annotations name them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The severity this code is reported with before `--deny-warnings`.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line on what the code means, for documentation and `--help`.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    Io = "io-error", Error, "a file or directory could not be read or written";
    InputLimit = "input-limit", Error, "an input exceeds a size or depth limit";
    YamlSyntax = "yaml-syntax", Error, "the file is not valid YAML";
    DuplicateKey = "duplicate-key", Error, "a mapping repeats a key, whose last value would silently win elsewhere";
    NotAnObject = "not-an-object", Error, "a YAML document is not a Kubernetes object";
    UnknownKind = "unknown-kind", Error, "a document is not a Kotal IPFS resource (see --passthrough)";
    UnknownField = "unknown-field", Error, "a field that the resource's schema does not have";
    WrongType = "wrong-type", Error, "a value of the wrong type";
    InvalidEnum = "invalid-enum", Error, "a value outside the field's allowed values";
    PatternMismatch = "pattern-mismatch", Error, "a value that does not match the field's pattern";
    OutOfRange = "out-of-range", Error, "a number outside the field's range";
    RequiredField = "required-field", Error, "a required field is missing";
    DuplicateItem = "duplicate-item", Error, "a list that is a set holds the same item twice";
    InvalidName = "invalid-name", Error, "a name that Kubernetes would reject";
    InvalidLabel = "invalid-label", Error, "a label or annotation that Kubernetes would reject";
    QuantityTooLarge = "quantity-too-large", Error, "a quantity too large for Kubernetes to represent";
    ResourceLimit = "resource-limit", Error, "a resource limit below its request";
    PortCollision = "port-collision", Error, "two ports of one Service collide";
    DuplicateResource = "duplicate-resource", Error, "two resources with the same kind, namespace and name";
    DuplicateObject = "duplicate-object", Error, "two resources render an object with the same kind, namespace and name";
    InvalidPeerId = "invalid-peer-id", Error, "a value that is not a libp2p peer ID";
    InvalidMultiaddr = "invalid-multiaddr", Error, "a multiaddr that is not of the shape the field needs";
    InvalidAnnotation = "invalid-annotation", Error, "an unknown kotalc.io annotation, or an allow of an unknown or non-warning code";
    EndpointApiClosed = "endpoint-api-closed", Error, "a ClusterPeer's peerEndpoint names a Peer of the set whose RPC API it cannot reach";
    BootstrapMismatch = "bootstrap-mismatch", Error, "a bootstrap address names a ClusterPeer of the set with another peer ID or port";
    PeeringMismatch = "peering-mismatch", Error, "a `kotalc.io/peering` address names a Peer of the set with another peer ID or port";
    DuplicatePeerId = "duplicate-peer-id", Error, "two resources claim the same peer ID";
    SecretConflict = "secret-conflict", Error, "one Secret is referenced for different purposes, or two identities share one private key";
    RestCredentialsMismatch = "rest-credentials-mismatch", Error, "ClusterPeers of one cluster with different REST API credentials, or some without";
    GatewayExposure = "gateway-exposure", Error, "a Peer's exposed gateway that would not be its gateway: `gateway` off, or the RPC API's port";
    MonitoringApiClosed = "monitoring-api-closed", Error, "a Peer with `kotalc.io/monitoring` whose RPC API, where kubo serves its metrics, listens on 127.0.0.1 only";
    ClusterSecretMismatch = "cluster-secret-mismatch", Warning, "ClusterPeers that bootstrap to each other name different cluster secrets";
    SwarmKeyMismatch = "swarm-key-mismatch", Warning, "Peers that peer with each other name different swarm keys, or one has none";
    PeeringWithoutIdentity = "peering-without-identity", Warning, "a `kotalc.io/peering` address names a Peer of the set without a fixed identity, whose peer ID changes with its volume";
    LoggingNotice = "logging-notice", Warning, "Peer logging `notice`, which kubo does not know and treats as `error`";
    InitOnlyProfile = "init-only-profile", Warning, "a datastore profile in `profiles`, re-applied on every start";
    RandomportsProfile = "randomports-profile", Warning, "the `randomports` profile, which moves the swarm port away from the Service's 4001";
    Badgerds = "badgerds", Warning, "the `badgerds` profile, deprecated in kubo";
    KuboRepoMigration = "kubo-repo-migration", Warning, "a Peer image of kubo v0.30 or later, which migrates an older repository with a program it downloads";
    PrivateSwarmIsolated = "private-swarm-isolated", Warning, "a private swarm whose peers have no bootstrap or peering list to find each other";
    RaftTrustedPeers = "raft-trusted-peers", Warning, "a ClusterPeer with raft consensus and trustedPeers, which only crdt consensus reads";
    ServerProfileFiltersCluster = "server-profile-filters-cluster", Warning, "the `server` profile on a Peer that peers inside the cluster, whose pod and Service addresses it filters out";
    ExceedsLimit = "exceeds-limit", Warning, "a `kotalc.io/go-memory-limit`, `resource-manager-memory` or `storage-max` above the memory limit or the claim it is a share of";
    PlaintextSecret = "plaintext-secret", Error, "a Secret with values in the inputs: plaintext in git";
    SealedSecretMissingKey = "sealed-secret-missing-key", Error, "a SealedSecret of the inputs lacks a data key that a resource reads";
    SealedSecretInvalid = "sealed-secret-invalid", Error, "a SealedSecret of the inputs is malformed, or its scope does not fit its namespace";
    SealedSecretPlaceholder = "sealed-secret-placeholder", Warning, "a referenced Secret has no SealedSecret in the inputs, so a placeholder is rendered";
    SealedSecretMode = "sealed-secret-mode", Note, "a SealedSecret of the inputs under `--secret-mode external` (passed through, instead of an ExternalSecret) or `none` (not written)";
    InvalidSecretValue = "invalid-secret-value", Error, "a value to seal that its consumer would refuse (spec 4.1-4.3)";
    InvalidCertificate = "invalid-certificate", Error, "the sealing certificate cannot be used";
    OutputFile = "output-file", Error, "an output file exists or cannot be written";
    SwarmDeprecated = "swarm-deprecated", Warning, "a Swarm, deprecated by Kotal: `kotalc migrate` rewrites it as Peers";
    PlaintextPrivateKey = "plaintext-private-key", Warning, "a Swarm holds its nodes' private keys in plain text, so they are in git";
    IdentityMismatch = "identity-mismatch", Error, "a private key that does not belong to the peer ID given with it";
    UnsupportedProfile = "unsupported-profile", Error, "a Swarm node profile that a migrated Peer cannot keep (badgerds)";
    ProfileDropped = "profile-dropped", Note, "a Swarm node's datastore profile, dropped by migration (flatfs is kubo's default)";
    MemoryLimitRaised = "memory-limit-raised", Note, "a Swarm node's memoryLimit equal to memory, raised to the smallest value a Peer accepts";
    NetworkPolicies = "network-policies", Note, "the output holds NetworkPolicies, which only a network plugin that enforces them applies";
    Template = "template-error", Error, "a template failed to render or rendered an invalid object";
    OutputDir = "output-dir", Error, "the output directory cannot be written safely";
    EmptyOutput = "empty-output", Error, "the inputs hold no Kotal resource";
    StaleOutput = "stale-output", Error, "with --check: a file of the output directory that is not what `build -o` would write";
}

/// A problem found in the inputs, located as precisely as kotalc knows.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// Where in the inputs; `None` for problems of the run as a whole.
    pub span: Option<Span>,
    /// A file the problem concerns when there is no position in it (an unreadable file).
    pub path: Option<String>,
    /// The field path inside the resource, as `spec.resources.cpuLimit`.
    pub field: Option<String>,
    /// Short text printed beside the caret.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Other places involved, such as the first definition of a duplicate.
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: code.default_severity(),
            code,
            message: message.into(),
            span: None,
            path: None,
            field: None,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, note: impl Into<String>) -> Self {
        self.related.push((span, note.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file as every format prints it: its path from the working directory, so that a
    /// terminal, an editor or a CI annotation opens it.
    fn file<'a>(&'a self, sources: &'a Sources) -> Option<&'a str> {
        match self.span {
            Some(span) => Some(sources.get(span.file).path.as_str()),
            None => self.path.as_deref(),
        }
    }

    /// The order diagnostics are printed in: by file, then line, then column.
    pub fn sort_key(&self, sources: &Sources) -> (String, u32, u32) {
        let file = self.file(sources).unwrap_or_default().to_string();
        let (line, col) = self.span.map_or((0, 0), |s| (s.line, s.col));
        (file, line, col)
    }
}

/// Sorts diagnostics by file and position; equal positions keep the order they were found in.
pub fn sort(diagnostics: &mut [Diagnostic], sources: &Sources) {
    diagnostics.sort_by_cached_key(|d| d.sort_key(sources));
}

/// How diagnostics are printed on stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Compiler-style messages with the source line and a caret.
    #[default]
    Human,
    /// One JSON object per diagnostic per line, then a `{"summary": ...}` object.
    Json,
    /// GitHub Actions workflow commands, so that pull requests show problems inline, then a
    /// notice of the summary.
    Github,
}

pub fn render(diagnostic: &Diagnostic, sources: &Sources, format: Format) -> String {
    let diagnostic = &shown(diagnostic, sources);
    match format {
        Format::Human => render_human(diagnostic, sources),
        Format::Json => render_json(diagnostic, sources),
        Format::Github => render_github(diagnostic, sources),
    }
}

/// The diagnostic as it may be shown, in any format: every secret value of the inputs
/// replaced by `<redacted>` (snippets are masked where they are drawn, by the same marks),
/// and control characters escaped, so that an input cannot send escape sequences to a
/// terminal. Every renderer, the KRM function's results included, starts from this.
pub fn shown(d: &Diagnostic, sources: &Sources) -> Diagnostic {
    fn clean(text: &str, sources: &Sources, newlines: bool) -> String {
        printable(&sources.redact(text), newlines).into_owned()
    }
    let mut d = d.clone();
    d.message = clean(&d.message, sources, false);
    d.field = d.field.map(|f| clean(&f, sources, false));
    d.label = d.label.map(|l| clean(&l, sources, false));
    d.help = d.help.map(|h| clean(&h, sources, true));
    d.path = d.path.map(|p| clean(&p, sources, false));
    for (_, note) in &mut d.related {
        *note = clean(note, sources, false);
    }
    d
}

/// `text` with every control character (C0, DEL, C1), and with `newlines` every one but the
/// newline, written as an escape (`\u{1b}`): a name or value from the inputs never reaches a
/// terminal or a log viewer raw. Everything kotalc prints that holds a name or value of the
/// inputs goes through this.
pub fn printable(text: &str, newlines: bool) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c.is_control() && !(newlines && c == '\n');
    if !text.chars().any(control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if control(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Caps how many diagnostics are shown: the first `limit`, then one line counting the rest.
/// Collecting them is cheap; printing 100,000 buries the first one.
pub const SHOWN: usize = 1000;

fn headline(d: &Diagnostic) -> String {
    let severity = severity_word(d.severity);
    match &d.field {
        Some(field) => format!("{severity}[{}]: {field}: {}", d.code.as_str(), d.message),
        None => format!("{severity}[{}]: {}", d.code.as_str(), d.message),
    }
}

fn render_human(d: &Diagnostic, sources: &Sources) -> String {
    let mut out = headline(d);
    out.push('\n');
    match d.span {
        Some(span) => snippet(&mut out, sources, span, d.label.as_deref()),
        None => {
            if let Some(path) = &d.path {
                let _ = writeln!(out, "  --> {path}");
            }
        }
    }
    for (span, note) in &d.related {
        snippet(&mut out, sources, *span, Some(note));
    }
    if let Some(help) = &d.help {
        for (i, line) in help.lines().enumerate() {
            let lead = if i == 0 { "  = help: " } else { "          " };
            let _ = writeln!(out, "{lead}{line}");
        }
    }
    out
}

/// The path of a span's file from the working directory.
fn shown_path(sources: &Sources, span: Span) -> std::borrow::Cow<'_, str> {
    printable(&sources.get(span.file).path, false)
}

fn snippet(out: &mut String, sources: &Sources, span: Span, label: Option<&str>) {
    let file = shown_path(sources, span);
    let _ = writeln!(out, "  --> {file}:{}:{}", span.line, span.col);
    let Some(line) = sources.shown_line(span.file, span.line) else {
        return;
    };
    let number = span.line.to_string();
    let pad = " ".repeat(number.len());
    let start = usize::try_from(span.col.saturating_sub(1)).unwrap_or(0);
    // A very long line (minified or generated YAML) is shown as a window around the caret;
    // only the window is drawn, so that many diagnostics on one long line cost each its
    // window.
    const LONGEST: usize = 240;
    let count = line.chars();
    let (from, to) = if count > LONGEST {
        let from = start.saturating_sub(LONGEST / 2).min(count - LONGEST);
        (from, from + LONGEST)
    } else {
        (0, count)
    };
    // Tabs are drawn as one space so that the caret stays under the right character, and
    // other control characters as one replacement character: nothing reaches a terminal raw.
    let window: String = line
        .window(from, to)
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect();
    let before = if from > 0 { "…" } else { "" };
    let after = if to < count { "…" } else { "" };
    let shown = format!("{before}{window}{after}");
    let start = start - from + usize::from(from > 0);
    let _ = writeln!(out, " {pad} |");
    let _ = writeln!(out, " {number} | {shown}");
    let width = shown.chars().count();
    let len = usize::try_from(span.len.max(1)).unwrap_or(1);
    let len = len.min(width.saturating_sub(start).max(1));
    let mut caret = format!(" {pad} | {}{}", " ".repeat(start), "^".repeat(len));
    if let Some(label) = label {
        caret.push(' ');
        caret.push_str(label);
    }
    let _ = writeln!(out, "{caret}");
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    field: Option<&'a str>,
    help: Option<&'a str>,
}

/// The message with the caret's label, for the formats that draw no caret: the label often
/// holds the fix ("did you mean `apiPort`?").
fn labelled(d: &Diagnostic) -> String {
    match &d.label {
        Some(label) => format!("{} ({label})", d.message),
        None => d.message.clone(),
    }
}

fn render_json(d: &Diagnostic, sources: &Sources) -> String {
    let message = labelled(d);
    let file = d.file(sources).map(|f| printable(f, false));
    let json = JsonDiagnostic {
        code: d.code.as_str(),
        severity: d.severity,
        message: &message,
        file: file.as_deref(),
        line: d.span.map(|s| s.line),
        column: d.span.map(|s| s.col),
        field: d.field.as_deref(),
        help: d.help.as_deref(),
    };
    let mut line = serde_json::to_string(&json).unwrap_or_default();
    line.push('\n');
    line
}

/// `::error file=F,line=L,col=C,title=CODE::MESSAGE`, escaped as the workflow command syntax
/// requires; the help follows the message on its own lines.
fn render_github(d: &Diagnostic, sources: &Sources) -> String {
    fn data(text: &str) -> String {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn property(text: &str) -> String {
        data(text).replace(':', "%3A").replace(',', "%2C")
    }
    let command = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut properties = Vec::new();
    // The path from the working directory, which is the repository root in a workflow.
    if let Some(file) = d.file(sources) {
        properties.push(format!("file={}", property(&printable(file, false))));
    }
    if let Some(span) = d.span {
        properties.push(format!("line={}", span.line));
        properties.push(format!("col={}", span.col));
    }
    properties.push(format!("title={}", property(d.code.as_str())));
    let mut message = match &d.field {
        Some(field) => format!("{field}: {}", labelled(d)),
        None => labelled(d),
    };
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!("::{command} {}::{}\n", properties.join(","), data(&message))
}

/// Colours the severity of a human diagnostic's headline for a terminal.
pub fn colour(rendered: &str, severity: Severity) -> String {
    let (word, code) = match severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
        Severity::Note => ("note", "1;36"),
    };
    match rendered.strip_prefix(word) {
        Some(rest) => format!("\x1b[{code}m{word}\x1b[0m{rest}"),
        None => rendered.to_string(),
    }
}

/// How many warnings (or notes) of one code are printed in full; the rest are counted.
pub const SHOWN_PER_CODE: usize = 3;
/// How many files a group names before it counts the others.
const FILES_NAMED: usize = 10;

/// The warnings or notes of one code beyond the first few: counted, with their files.
#[derive(Debug)]
pub struct Group {
    pub code: Code,
    pub severity: Severity,
    pub count: usize,
    /// Each file once, in the diagnostics' order.
    pub files: Vec<String>,
}

/// Splits sorted diagnostics into those printed in full and, per code, the repeated warnings
/// and notes past the first [`SHOWN_PER_CODE`]. Errors are always printed in full: each one
/// has to be fixed.
pub fn group<'a>(
    diagnostics: &'a [Diagnostic],
    sources: &Sources,
) -> (Vec<&'a Diagnostic>, Vec<Group>) {
    let mut shown = Vec::new();
    let mut total: std::collections::BTreeMap<(Code, Severity), usize> = Default::default();
    for d in diagnostics {
        *total.entry((d.code, d.severity)).or_default() += 1;
    }
    let mut seen: std::collections::BTreeMap<(Code, Severity), usize> = Default::default();
    let mut groups: Vec<Group> = Vec::new();
    for d in diagnostics {
        let n = seen.entry((d.code, d.severity)).or_default();
        *n += 1;
        // A group of one would take the line its diagnostic takes.
        let few = total[&(d.code, d.severity)] <= SHOWN_PER_CODE + 1;
        if d.is_error() || few || *n <= SHOWN_PER_CODE {
            shown.push(d);
            continue;
        }
        let file = d.file(sources).unwrap_or_default();
        let index = match groups
            .iter()
            .position(|g| g.code == d.code && g.severity == d.severity)
        {
            Some(index) => index,
            None => {
                groups.push(Group {
                    code: d.code,
                    severity: d.severity,
                    count: 0,
                    files: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        group.count += 1;
        // Sorted by file, so a file's diagnostics are adjacent.
        if !file.is_empty() && group.files.last().map(String::as_str) != Some(file) {
            group.files.push(printable(file, false).into_owned());
        }
    }
    (shown, groups)
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn counted(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One line for a group: `warning[code]: 12 more like this, in a.yaml, b.yaml and 3 other files`.
pub fn render_group(group: &Group, format: Format) -> String {
    let mut text = format!("{} more like this", group.count);
    if !group.files.is_empty() {
        let named: Vec<&str> = group
            .files
            .iter()
            .take(FILES_NAMED)
            .map(String::as_str)
            .collect();
        text.push_str(", in ");
        text.push_str(&named.join(", "));
        let others = group.files.len() - named.len();
        if others > 0 {
            text.push_str(&format!(" and {}", counted(others, "other file")));
        }
    }
    match format {
        Format::Human => format!(
            "{}[{}]: {text}\n",
            severity_word(group.severity),
            group.code.as_str()
        ),
        Format::Github => {
            let command = match group.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "notice",
            };
            format!(
                "::{command} title={}::{}\n",
                group.code.as_str(),
                text.replace('%', "%25")
            )
        }
        // Machines get every diagnostic: nothing is grouped in JSON.
        Format::Json => String::new(),
    }
}

/// The counts of one run, printed as its last line whatever the outcome.
#[derive(Debug, Default)]
pub struct Summary {
    pub resources: usize,
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// What the run did with the output: `wrote 12 files to rendered`, `nothing written`.
    pub outcome: Option<String>,
}

impl Summary {
    pub fn of(diagnostics: &[Diagnostic], resources: usize) -> Self {
        let count = |severity| {
            diagnostics
                .iter()
                .filter(|d| d.severity == severity)
                .count()
        };
        Summary {
            resources,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            notes: count(Severity::Note),
            outcome: None,
        }
    }

    /// `20 resources, 0 errors, 3 warnings; wrote 12 files to rendered`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}, {}, {}",
            counted(self.resources, "resource"),
            counted(self.errors, "error"),
            counted(self.warnings, "warning")
        );
        if self.notes > 0 {
            line.push_str(&format!(", {}", counted(self.notes, "note")));
        }
        if let Some(outcome) = &self.outcome {
            line.push_str("; ");
            line.push_str(&printable(outcome, false));
        }
        line
    }
}

/// The summary as the format's last line: `kotalc: ...`, a `{"summary": ...}` object, or a
/// GitHub notice.
pub fn render_summary(summary: &Summary, format: Format) -> String {
    match format {
        Format::Human => format!("kotalc: {}\n", summary.line()),
        Format::Json => {
            let mut line = serde_json::json!({
                "summary": {
                    "resources": summary.resources,
                    "errors": summary.errors,
                    "warnings": summary.warnings,
                    "notes": summary.notes,
                    "message": summary.line(),
                }
            })
            .to_string();
            line.push('\n');
            line
        }
        Format::Github => format!(
            "::notice title=kotalc::{}\n",
            summary.line().replace('%', "%25")
        ),
    }
}

/// The closest candidate to a misspelled name, if one is close enough to be the intent.
pub fn suggest<'a>(wrong: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = wrong.to_lowercase();
    let limit = (wrong.chars().count() + 2) / 4;
    candidates
        .map(|c| (strsim::osa_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit.max(1))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many diagnostics on one long line map the line once, and each draws only its window:
    /// the human format costs what the JSON format costs, plus a bounded window each.
    #[test]
    fn diagnostics_on_one_long_line_map_it_once() {
        let fields: Vec<String> = (0..20_000).map(|i| format!("f{i:05}: 1")).collect();
        let line = format!("{{{}}}", fields.join(", "));
        let mut sources = Sources::default();
        let file = sources.add("long.yaml".into(), line.clone());
        crate::diagnostic::source::MAPPED.with(|m| m.set(0));
        for i in (0..20_000).step_by(20) {
            let col = line.find(&format!("f{i:05}")).expect("field") + 1;
            let d =
                Diagnostic::new(Code::UnknownField, format!("unknown field f{i:05}")).at(Span {
                    file,
                    line: 1,
                    col: u32::try_from(col).expect("col"),
                    len: 6,
                });
            let shown = render(&d, &sources, Format::Human);
            // The caret is under the field, in a window of bounded width.
            let snippet: Vec<&str> = shown.lines().collect();
            let text = snippet[3].split_once(" | ").expect("line").1;
            let caret = snippet[4].split_once(" | ").expect("caret").1;
            let at = caret.find('^').expect("caret");
            assert!(text.chars().count() <= 242, "{text}");
            assert_eq!(
                text.chars().skip(at).take(6).collect::<String>(),
                format!("f{i:05}"),
                "{shown}"
            );
        }
        assert_eq!(
            crate::diagnostic::source::MAPPED.with(std::cell::Cell::get),
            1
        );
    }
}
