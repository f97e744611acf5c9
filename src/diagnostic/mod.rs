//! One diagnostic type for every problem kotalc reports, and the renderers that print it.

pub mod markdown;
pub mod path;
pub mod sarif;
pub mod settings;
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
    InputOutside = "input-outside", Error, "an input path or output directory that resolves outside the repository that holds the current directory (or outside the current directory)";
    RepositoryInInputs = "repository-in-inputs", Warning, "a directory among the inputs that looks like a git repository: read as plain files, never opened by git";
    InputLimit = "input-limit", Error, "an input exceeds a size or depth limit";
    YamlSyntax = "yaml-syntax", Error, "the file is not valid YAML";
    BinaryValue = "binary-value", Warning, "a `!!binary` value, which YAML decodes: the output holds the decoded text, not the base64 a reviewer reads";
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
    ReservedLabel = "reserved-label", Error, "a resource's label that kotalc's NetworkPolicies admit pods by (ipfs.kotal.io/cluster-client, ipfs.kotal.io/swarm, ipfs.kotal.io/cluster)";
    PolicyNamespaceUnknown = "policy-namespace-unknown", Error, "a resource without a namespace names one of another namespace, which a NetworkPolicy would have to admit from a namespace kotalc cannot name";
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
    /// What to do, one entry a line: kotalc breaks help into lines here, never with a
    /// newline in the text, so that a newline from the inputs (a directory's name) is
    /// escaped like any control character and cannot start a line of its own.
    pub help: Vec<String>,
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
            help: Vec::new(),
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

    /// The help, one line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = vec![help.into()];
        self
    }

    /// Another line of help, after the ones given.
    pub fn help_line(mut self, line: impl Into<String>) -> Self {
        self.help.push(line.into());
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
    /// One SARIF 2.1.0 log for code scanning, printed whole when the run ends: a result per
    /// diagnostic, a rule per code.
    Sarif,
    /// A Markdown list, then the summary, for a step summary or a pull request comment; with
    /// `diff`, the change on stdout as a pull-request summary.
    Markdown,
}

impl Format {
    /// Whether lines other than diagnostics (a leftover kept, a file not read) may be
    /// printed beside them: not in a format a program parses as a whole.
    pub fn prose(self) -> bool {
        matches!(self, Format::Human | Format::Github | Format::Markdown)
    }
}

pub fn render(diagnostic: &Diagnostic, sources: &Sources, format: Format) -> String {
    let diagnostic = &shown(diagnostic, sources);
    match format {
        Format::Human => uncommanded(&render_human(diagnostic, sources)).into_owned(),
        Format::Json => render_json(diagnostic, sources),
        Format::Github => render_github(diagnostic, sources),
        Format::Markdown => render_markdown(diagnostic, sources),
        Format::Sarif => {
            let order = Code::ALL
                .iter()
                .position(|c| *c == diagnostic.code)
                .unwrap_or(usize::MAX);
            sarif::collect(sarif_result(diagnostic, sources), order, || {
                sarif_rule(diagnostic.code)
            });
            String::new()
        }
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
    for line in &mut d.help {
        *line = clean(line, sources, false);
    }
    d.path = d.path.map(|p| clean(&p, sources, false));
    for (_, note) in &mut d.related {
        *note = clean(note, sources, false);
    }
    d
}

/// Whether `c` is written as an escape wherever kotalc prints text of the inputs: a control
/// character (C0, DEL, C1), a bidirectional override or isolate (U+202A–U+202E,
/// U+2066–U+2069, which reorder what a terminal or a review page shows), a zero-width
/// character or directional mark (U+200B–U+200F), or a line or paragraph separator
/// (U+2028, U+2029, which some viewers break lines at).
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [`hidden`] character, and with `newlines` every one but the newline,
/// written as an escape (`\u{1b}`): a name or value from the inputs never reaches a terminal
/// or a log viewer raw, nor hides or reorders what it shows. Everything kotalc prints that
/// holds a name or value of the inputs goes through this.
pub fn printable(text: &str, newlines: bool) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| hidden(c) && !(newlines && c == '\n');
    if !text.chars().any(escaped) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if escaped(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// `text` with nothing a CI runner would read as a command: a line that starts, after
/// leading white space (which GitHub's runner strips), with `::` (a workflow command) has its
/// first `:` escaped (`\u{3a}:error`), and every `##[` (the runner's older syntax, which it
/// finds anywhere in a line) is written `\u{23}#[`. A name or value of the inputs that
/// kotalc prints (in a diff's line of a rendered file, a help line, a message) can never
/// stop, mask or forge the annotations of a run. Everything kotalc prints for people passes
/// through this; only the workflow commands of `--format github` are written around it.
pub fn uncommanded(text: &str) -> std::borrow::Cow<'_, str> {
    // The runner trims what .NET counts as white space; invisible characters are stripped
    // too, in case a viewer drops them.
    let lead = |line: &str| {
        line.len()
            - line
                .trim_start_matches(|c: char| c.is_whitespace() || hidden(c) || c == '\u{feff}')
                .len()
    };
    let command = |line: &str| line[lead(line)..].starts_with("::") || line.contains("##[");
    // A runner ends a line at a carriage return as at a newline.
    let lines = || text.split_inclusive(['\n', '\r']);
    if !lines().any(command) {
        return text.into();
    }
    lines()
        .map(|line| {
            let (lead, rest) = line.split_at(lead(line));
            let rest = rest.replace("##[", "\\u{23}#[");
            match rest.strip_prefix(':') {
                Some(rest) if rest.starts_with(':') => format!("{lead}\\u{{3a}}{rest}"),
                _ => format!("{lead}{rest}"),
            }
        })
        .collect::<String>()
        .into()
}

/// Text of the inputs (a name, a path, a printed command) as kotalc prints it in a line of
/// its own words: [`printable`], then [`uncommanded`].
pub fn inert(text: &str) -> String {
    uncommanded(&printable(text, false)).into_owned()
}

/// A line of JSON with every `##[` of its strings written `\u0023#[`: the same text to a
/// JSON reader, and nothing a CI runner reads as a command (see [`uncommanded`]). A JSON
/// line starts with `{`, so that no line of it starts with `::`.
pub fn uncommanded_json(mut line: String) -> String {
    if line.contains("##[") {
        line = line.replace("##[", "\\u0023#[");
    }
    line
}

/// A manifest as kotalc writes it: canonical YAML (keys sorted, block style), or, where that
/// text would hold a line a CI runner reads as a workflow command or a character that hides
/// or reorders text (both only ever from the inputs' values), the same object as one line
/// of JSON, which is a YAML document too, with those characters escaped. The values are
/// the same either way; only their spelling keeps a build log or a reviewer's terminal
/// from being steered by them. Same object, same text.
pub fn manifest_text<T: Serialize>(value: &T) -> Result<String, String> {
    let yaml = serde_saphyr::to_string(value).map_err(|e| e.to_string())?;
    let invisible = |c: char| c == '\r' || (hidden(c) && !c.is_control());
    if !yaml.contains(invisible) && matches!(uncommanded(&yaml), std::borrow::Cow::Borrowed(_)) {
        return Ok(yaml);
    }
    let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let mut line = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        if invisible(c) {
            let _ = write!(line, "\\u{:04x}", u32::from(c));
        } else {
            line.push(c);
        }
    }
    line.push('\n');
    Ok(uncommanded_json(line))
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
    for (i, line) in d.help.iter().enumerate() {
        let lead = if i == 0 { "  = help: " } else { "          " };
        let _ = writeln!(out, "{lead}{line}");
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
            c if hidden(c) => '\u{fffd}',
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
    let help = d.help.join("\n");
    let json = JsonDiagnostic {
        code: d.code.as_str(),
        severity: d.severity,
        message: &message,
        file: file.as_deref(),
        line: d.span.map(|s| s.line),
        column: d.span.map(|s| s.col),
        field: d.field.as_deref(),
        help: (!d.help.is_empty()).then_some(help.as_str()),
    };
    let mut line = uncommanded_json(serde_json::to_string(&json).unwrap_or_default());
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
        properties.push(format!("file={}", property(&inert(file))));
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
    if !d.help.is_empty() {
        message.push_str("\nhelp: ");
        message.push_str(&d.help.join("\n"));
    }
    format!(
        "::{command} {}::{}\n",
        properties.join(","),
        data(&uncommanded(&message))
    )
}

/// One list item: `- **error** `code` at `file:line:col`: field: message (label)`, the other
/// places involved and the help as items below it.
fn render_markdown(d: &Diagnostic, sources: &Sources) -> String {
    use markdown::{code, text};
    let mut out = format!(
        "- **{}** {}",
        severity_word(d.severity),
        code(d.code.as_str())
    );
    let place = match (d.file(sources), d.span) {
        (Some(file), Some(span)) => Some(format!("{file}:{}:{}", span.line, span.col)),
        (Some(file), None) => Some(file.to_string()),
        _ => None,
    };
    if let Some(place) = place {
        let _ = write!(out, " at {}", code(&printable(&place, false)));
    }
    out.push_str(": ");
    if let Some(field) = &d.field {
        let _ = write!(out, "{}: ", code(field));
    }
    out.push_str(&text(&labelled(d)));
    out.push('\n');
    for (span, note) in &d.related {
        let place = format!("{}:{}:{}", shown_path(sources, *span), span.line, span.col);
        let _ = writeln!(out, "  - {}: {}", code(&place), text(note));
    }
    for line in d.help.iter().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, "  - help: {}", text(line.trim()));
    }
    out
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn sarif_location(file: &str, span: Option<Span>) -> serde_json::Value {
    let mut physical = serde_json::json!({ "artifactLocation": { "uri": sarif::uri(file) } });
    if let Some(span) = span {
        let mut region =
            serde_json::json!({ "startLine": span.line.max(1), "startColumn": span.col.max(1) });
        if span.len > 0 {
            // Exclusive, as SARIF counts it.
            region["endColumn"] = serde_json::json!(span.col.max(1) + span.len);
        }
        physical["region"] = region;
    }
    serde_json::json!({ "physicalLocation": physical })
}

/// A diagnostic, as [`shown`] makes it, as a SARIF result: located at its file, or at the
/// run's first input path for one of the run as a whole.
fn sarif_result(d: &Diagnostic, sources: &Sources) -> serde_json::Value {
    let mut text = labelled(d);
    if let Some(field) = &d.field {
        text = format!("{field}: {text}");
    }
    if !d.help.is_empty() {
        text.push_str("\nhelp: ");
        text.push_str(&d.help.join("\n"));
    }
    let mut result = serde_json::json!({
        "ruleId": d.code.as_str(),
        "level": sarif_level(d.severity),
        "message": { "text": sarif::message(&text) },
    });
    if let Some(file) = d.file(sources).map(str::to_string).or_else(sarif::anchored) {
        let mut located = sarif_location(&printable(&file, false), d.span);
        if let Some(field) = &d.field {
            located["logicalLocations"] =
                serde_json::json!([{ "fullyQualifiedName": field, "kind": "member" }]);
        }
        result["locations"] = serde_json::json!([located]);
    }
    if !d.related.is_empty() {
        let related: Vec<serde_json::Value> = d
            .related
            .iter()
            .enumerate()
            .map(|(i, (span, note))| {
                let mut located = sarif_location(&shown_path(sources, *span), Some(*span));
                located["id"] = serde_json::json!(i);
                located["message"] = serde_json::json!({ "text": sarif::message(note) });
                located
            })
            .collect();
        result["relatedLocations"] = serde_json::json!(related);
    }
    result
}

/// The SARIF rule of a code: its meaning, and what to do about it.
fn sarif_rule(code: Code) -> serde_json::Value {
    let summary = code.summary();
    let mut chars = summary.chars();
    let capitalised: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    let mut help = format!(
        "{capitalised}. `kotalc explain` documents the fields; the README lists every code."
    );
    if code.default_severity() != Severity::Error {
        let _ = write!(
            help,
            " Silence it for a run with `--allow {0}`, or for one resource with the annotation \
             `kotalc.io/allow: {0}`.",
            code.as_str()
        );
    }
    serde_json::json!({
        "id": code.as_str(),
        "shortDescription": { "text": summary },
        "help": { "text": help },
        "defaultConfiguration": { "level": sarif_level(code.default_severity()) },
    })
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
            "{}[{}]: {}\n",
            severity_word(group.severity),
            group.code.as_str(),
            uncommanded(&text)
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
                uncommanded(&text).replace('%', "%25")
            )
        }
        Format::Markdown => format!(
            "- **{}** {}: {}\n",
            severity_word(group.severity),
            markdown::code(group.code.as_str()),
            markdown::text(&text)
        ),
        // Machines get every diagnostic: nothing is grouped in JSON or SARIF.
        Format::Json | Format::Sarif => String::new(),
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

/// The summary as the format's last line: `kotalc: ...`, a `{"summary": ...}` object, a
/// GitHub notice, a Markdown paragraph, or in SARIF the whole log.
pub fn render_summary(summary: &Summary, format: Format) -> String {
    match format {
        Format::Human => format!("kotalc: {}\n", uncommanded(&summary.line())),
        Format::Json => {
            let line = serde_json::json!({
                "summary": {
                    "resources": summary.resources,
                    "errors": summary.errors,
                    "warnings": summary.warnings,
                    "notes": summary.notes,
                    "message": summary.line(),
                }
            })
            .to_string();
            let mut line = uncommanded_json(line);
            line.push('\n');
            line
        }
        Format::Github => format!(
            "::notice title=kotalc::{}\n",
            uncommanded(&summary.line()).replace('%', "%25")
        ),
        Format::Markdown => format!("\n**kotalc:** {}\n", markdown::text(&summary.line())),
        Format::Sarif => sarif::document(&summary.line()),
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

    /// Each line a runner would read as a command, after any white space and at a carriage
    /// return too, and every `##[`, are escaped; `::` inside a line is left alone.
    #[test]
    fn no_line_reads_as_a_workflow_command() {
        assert_eq!(
            uncommanded("a\n  ::error::x\n\u{2003}::warning::y\rz ##[error]w\n::"),
            "a\n  \\u{3a}:error::x\n\u{2003}\\u{3a}:warning::y\rz \\u{23}#[error]w\n\\u{3a}:"
        );
        assert_eq!(uncommanded("peer ::1 and a::b"), "peer ::1 and a::b");
        assert_eq!(
            uncommanded_json(r###"{"m":"##[error]"}"###.into()),
            r#"{"m":"\u0023#[error]"}"#
        );
        assert_eq!(
            printable("a\u{202e}b\u{200b}c\u{2066}", false),
            "a\\u{202e}b\\u{200b}c\\u{2066}"
        );
    }

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
