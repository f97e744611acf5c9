//! The pipeline: read, then parse -> resolve -> check -> render (see [`compile_sources`]).
//! Every stage reports into one list of diagnostics and later stages run on whatever is sound,
//! so one run shows every problem.

pub mod checks;
mod options;
mod pending;

pub use options::{Options, Settings};
pub use pending::Pending;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::check::lint;
use crate::check::swarm;
use crate::check::validate;
use crate::diagnostic::path::display;
use crate::diagnostic::settings::{Front, Setting};
use crate::diagnostic::source::{Skip, Sources, Span};
use crate::diagnostic::{self, Code, Diagnostic, Severity};
use crate::input::load;
use crate::kube::manifest::{self, Key, Object};
use crate::model::annotations;
use crate::model::defaults::Config;
use crate::model::parse;
use crate::render::Renderer;
use crate::secrets;

#[derive(Debug, Default)]
pub struct Outcome {
    pub sources: Sources,
    /// Sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// How many Kotal resources the inputs hold, for the summary line.
    pub resources: usize,
    /// With `Options::specs`: what the webhook rules read of each Peer and ClusterPeer (a
    /// Swarm's as lowered), by `Kind namespace/name`.
    pub specs: BTreeMap<String, serde_json::Value>,
    /// The objects in output order, to be taken once; none when there is any error.
    pub pending: Option<Pending>,
}

impl Outcome {
    /// A run that checks and writes no object (import, migrate): its diagnostics, sorted.
    pub fn of_checks(
        sources: Sources,
        mut diagnostics: Vec<Diagnostic>,
        resources: usize,
    ) -> Outcome {
        diagnostic::sort(&mut diagnostics, &sources);
        Outcome {
            sources,
            diagnostics,
            resources,
            ..Outcome::default()
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Every object, in output order, rendered now; none when there is any error. What
    /// does not render is added to the diagnostics: take the objects before reporting them.
    pub fn take_objects(&mut self) -> Vec<Object> {
        match self.pending.take().map(Pending::collect) {
            Some(Ok(objects)) => objects,
            Some(Err(problems)) => {
                self.diagnostics.extend(problems);
                diagnostic::sort(&mut self.diagnostics, &self.sources);
                Vec::new()
            }
            None => Vec::new(),
        }
    }
}

/// Worker threads get the main thread's stack: deeply nested (but still legal) YAML recurses
/// in the parser and in the serialiser, and rayon's default 2 MiB is less than a main thread
/// has.
pub(crate) fn thread_pool() {
    static POOL: std::sync::Once = std::sync::Once::new();
    POOL.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new()
            .stack_size(16 << 20)
            .build_global();
    });
}

pub fn compile(options: &Options) -> Outcome {
    let (sources, diagnostics) = read(options);
    compile_sources(options, sources, diagnostics)
}

/// The inputs `options` names, read as [`compile_sources`] takes them: for a command that
/// compiles the same inputs more than once without reading them again.
pub fn read(options: &Options) -> (Sources, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut sources = Sources::default();
    load::load(&options.inputs(), &mut sources, &mut diagnostics);
    (sources, diagnostics)
}

/// Compiles one file's bytes: the entry point of the fuzz target and its smoke test.
pub fn compile_bytes(bytes: &[u8]) -> Outcome {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    load::add_bytes(&mut sources, &mut diagnostics, "input.yaml", bytes.to_vec());
    let options = Options {
        render: true,
        allow_empty: true,
        ..Options::default()
    };
    compile_sources(&options, sources, diagnostics)
}

/// Compiles inputs already read: from a git revision, or from a KRM function's items. The
/// stages, each from one typed value to the next; every stage reports into one list of
/// diagnostics and later stages run on whatever is sound.
pub fn compile_sources(
    options: &Options,
    sources: Sources,
    diagnostics: Vec<Diagnostic>,
) -> Outcome {
    thread_pool();
    let mut run = Run {
        options,
        sources,
        diagnostics,
    };
    let parsed = parse(&mut run);
    let resolved = resolve(&mut run, parsed);
    let mut checked = check(&mut run, resolved);
    settle_severities(options, &mut run.diagnostics);
    if options.lean {
        release_inputs(&mut run, &mut checked);
    }
    let rendered = render(&mut run, checked);
    finish(run, rendered)
}

/// What every stage reads and reports into.
struct Run<'a> {
    options: &'a Options,
    sources: Sources,
    diagnostics: Vec<Diagnostic>,
}

impl Run<'_> {
    fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The inputs as typed resources, each with its effective namespace, Swarms lowered to the
/// Peers they stand for.
struct Parsed {
    set: parse::Parsed,
    /// How many Kotal resources the inputs hold, Swarms counted before they are lowered.
    count: usize,
    specs: BTreeMap<String, serde_json::Value>,
}

/// Each resource with its configuration after defaults (none for a Swarm, or a resource whose
/// structure is invalid), and the warnings it allows.
struct Resolved {
    parsed: Parsed,
    configs: Vec<Option<Config>>,
    allowed: Vec<BTreeSet<Code>>,
}

/// Every check done; one object planned for each Secret the resources reference.
struct Checked {
    resolved: Resolved,
    secrets: Vec<Object>,
}

/// The output: the objects in output order, still to be taken.
struct Rendered {
    count: usize,
    specs: BTreeMap<String, serde_json::Value>,
    pending: Option<Pending>,
    /// Said once, and only when policies are written.
    note: Option<Diagnostic>,
}

fn parse(run: &mut Run) -> Parsed {
    let options = run.options;
    if let Some(ns) = &options.namespace
        && let Some(problem) = crate::kube::names::namespace(ns)
    {
        run.diagnostics.push(
            Diagnostic::new(
                Code::InvalidName,
                format!("the default namespace {ns:?} is invalid: {problem}"),
            )
            .help(format!(
                "the namespace given with {} names a directory of the output and a namespace \
                 of the cluster",
                options.front.default_namespace()
            )),
        );
    }
    let (mut set, swarms) = checks::parse(
        &mut run.sources,
        options.passthrough,
        options.front,
        options.namespace.as_deref(),
        &mut run.diagnostics,
    );
    let count = set.resources.len();
    for doc in set.passthrough.iter().chain(&set.sealed) {
        crate::kube::names::check_document(&doc.root, &mut run.diagnostics);
    }
    swarm::lower(&mut set, &mut run.sources, swarms, &mut run.diagnostics);
    let specs = if options.specs {
        specs(&set.resources)
    } else {
        BTreeMap::new()
    };
    Parsed { set, count, specs }
}

fn resolve(run: &mut Run, parsed: Parsed) -> Resolved {
    let mut allowed = Vec::with_capacity(parsed.set.resources.len());
    let configs = parsed
        .set
        .resources
        .iter()
        .map(|resource| {
            allowed.push(annotations::allowed(resource, &mut run.diagnostics));
            let mut config = checks::configure(resource);
            if let Some(config) = &mut config {
                let policy = config.policy_mut();
                if policy.dns.is_none() {
                    policy.dns = Some(
                        run.options
                            .cluster_dns
                            .clone()
                            .unwrap_or_else(crate::model::policy::default_dns),
                    );
                }
                if run.options.monitoring.is_some() {
                    let own = crate::model::parse::annotation(resource, annotations::MONITORING)
                        .and_then(|(_, node)| node.as_str());
                    config.monitor_by_default(own, run.options.monitoring.as_deref());
                }
            }
            config
        })
        .collect();
    Resolved {
        parsed,
        configs,
        allowed,
    }
}

fn check(run: &mut Run, resolved: Resolved) -> Checked {
    let options = run.options;
    let policies = !options.no_network_policies;
    let resources = &resolved.parsed.set.resources;
    let diagnostics = &mut run.diagnostics;
    for ((resource, config), allow) in resources
        .iter()
        .zip(&resolved.configs)
        .zip(&resolved.allowed)
    {
        let Some(config) = config else { continue };
        validate::resource(resource, config, diagnostics);
        crate::check::policy::check(resource, config, policies, diagnostics);
        let mut lints = Vec::new();
        lint::resource(resource, config, &mut lints);
        crate::check::runtime::check(resource, config, diagnostics, &mut lints);
        crate::check::monitoring::check(resource, config, diagnostics);
        crate::check::gateway::check(resource, config, diagnostics);
        diagnostics.extend(lints.into_iter().filter(|d| !allow.contains(&d.code)));
    }
    validate::duplicates(resources, diagnostics);
    if policies {
        crate::check::policy::namespaces(
            resources,
            &resolved.configs,
            &run.sources,
            options.front,
            diagnostics,
        );
    }
    let references = crate::model::references::references(resources, &resolved.configs);
    crate::check::set::check(
        &crate::check::set::Set {
            resources,
            configs: &resolved.configs,
            allowed: &resolved.allowed,
            references: &references,
            sources: &run.sources,
        },
        diagnostics,
    );
    let dirs: Vec<String> = run
        .sources
        .iter()
        .map(|(_, file)| match file.path.rfind('/') {
            Some(at) => file.path[..at].to_string(),
            None => String::new(),
        })
        .collect();
    let secrets = secrets::plan(
        &secrets::Input {
            resources,
            configs: &resolved.configs,
            allowed: &resolved.allowed,
            sealed: &resolved.parsed.set.sealed,
            references: &references,
            dirs: &dirs,
            front: options.front,
        },
        &options.secrets,
        diagnostics,
    );
    collisions(&resolved.parsed.set, policies, diagnostics);
    if resources.is_empty() && !options.allow_empty && !diagnostics.iter().any(Diagnostic::is_error)
    {
        let mut empty =
            Diagnostic::new(Code::EmptyOutput, "the inputs hold no Kotal IPFS resource").help(
                format!(
                    "an empty render makes Argo CD prune everything; {} if that is intended",
                    options.front.set(Setting::AllowEmpty, Some("true"))
                ),
            );
        empty
            .help
            .extend(empty_inputs(&options.paths, &run.sources));
        diagnostics.push(empty);
    }
    Checked { resolved, secrets }
}

/// `--allow` silences warnings and notes; `--deny-warnings` makes the rest errors.
fn settle_severities(options: &Options, diagnostics: &mut Vec<Diagnostic>) {
    if !options.allow.is_empty() {
        diagnostics.retain(|d| d.is_error() || !options.allow.contains(&d.code));
    }
    if options.deny_warnings {
        for d in diagnostics
            .iter_mut()
            .filter(|d| d.severity == Severity::Warning)
        {
            d.severity = Severity::Error;
            let by = options.front.name(Setting::DenyWarnings);
            d.help.push(format!("a warning, made an error by {by}"));
        }
    }
}

/// Every check is done: a build that only writes its output needs neither the documents' node
/// trees (at scale the largest part of the inputs) nor, with the embedded templates, the
/// texts no diagnostic points into.
fn release_inputs(run: &mut Run, checked: &mut Checked) {
    for resource in &mut checked.resolved.parsed.set.resources {
        resource.root = crate::input::yaml::Node::null(resource.root.span);
    }
    if run.options.templates.is_none() {
        let referenced = run
            .diagnostics
            .iter()
            .flat_map(|d| d.span.iter().chain(d.related.iter().map(|(s, _)| s)))
            .map(|s| s.file)
            .collect();
        run.sources.release_unreferenced(&referenced);
    }
}

fn render(run: &mut Run, checked: Checked) -> Rendered {
    let options = run.options;
    let Checked { resolved, secrets } = checked;
    let Resolved {
        parsed,
        mut configs,
        ..
    } = resolved;
    let Parsed {
        set, count, specs, ..
    } = parsed;
    let mut rendered = Rendered {
        count,
        specs,
        pending: None,
        note: None,
    };
    if !options.render || run.has_errors() {
        return rendered;
    }
    let policies = !options.no_network_policies;
    // Each pod's swarm or cluster label, which the policies select members by: on every
    // member, its own policy on or off, as its peers' policies admit it by the label; none
    // where no policy is rendered (`--no-network-policies`, or every resource's own policy
    // off, as `import` writes them), so that such a build renders the operator's pods.
    if policies && configs.iter().flatten().any(|c| c.policy().enabled) {
        let members = crate::render::policy::memberships(&crate::render::policy::Input::new(
            &set.resources,
            &configs,
        ));
        for (config, member) in configs.iter_mut().zip(members) {
            if let Some(config) = config {
                config.policy_mut().membership = member;
            }
        }
    }
    let count = if policies {
        configs
            .iter()
            .flatten()
            .filter(|c| c.policy().enabled)
            .count()
    } else {
        0
    };
    rendered.note = (count > 0).then(|| network_policies_note(count, options.front));
    // Everything else not rendered from a template, merged in where it sorts.
    let mut others = secrets;
    for doc in set.passthrough {
        others.push(Object::from_value(doc.value, doc.root.span));
    }
    others.extend(crate::render::monitoring::pod_monitors(
        &set.resources,
        &configs,
    ));
    others.extend(crate::render::gateway::routes(&set.resources, &configs));
    manifest::sort(&mut others);
    let renderer = match renderer(options.templates.as_deref()) {
        Ok(renderer) => renderer,
        Err(problems) => {
            run.diagnostics.extend(problems);
            return rendered;
        }
    };
    let render = pending::Render {
        renderer,
        resources: set.resources,
        configs,
        policies,
        others,
        lean: options.lean,
    };
    // An override's problems are diagnostics, said before anything is written: its objects
    // are rendered here.
    match Pending::new(render, options.templates.is_some()) {
        Ok(pending) => rendered.pending = Some(pending),
        Err(problems) => run.diagnostics.extend(problems),
    }
    rendered
}

/// The renderer, each embedded template replaced by the file of the same name in `overrides`
/// (`--templates DIR`); what cannot be read is reported before what cannot be parsed.
fn renderer(overrides: Option<&std::path::Path>) -> Result<Renderer, Vec<Diagnostic>> {
    let (texts, mut problems) = match overrides {
        Some(dir) => crate::input::templates::read_overrides(dir, &crate::render::overridable()),
        None => Default::default(),
    };
    match Renderer::new(texts) {
        Ok(renderer) if problems.is_empty() => Ok(renderer),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}

fn finish(run: Run, mut rendered: Rendered) -> Outcome {
    let Run {
        sources,
        mut diagnostics,
        ..
    } = run;
    if diagnostics.iter().any(Diagnostic::is_error) {
        rendered.pending = None;
    } else if let Some(note) = rendered.note {
        diagnostics.push(note);
    }
    diagnostic::sort(&mut diagnostics, &sources);
    Outcome {
        sources,
        diagnostics,
        resources: rendered.count,
        specs: rendered.specs,
        pending: rendered.pending,
    }
}

/// What the webhook rules read of the resources that render, by `Kind namespace/name`: a
/// Swarm is lowered, so its Peers are there and it is not.
fn specs(resources: &[parse::Resource]) -> BTreeMap<String, serde_json::Value> {
    resources
        .iter()
        .filter(|r| r.kind != crate::model::Kind::Swarm)
        .map(|r| {
            let key = Key::new(r.kind.name(), r.namespace.as_deref(), &r.name);
            (
                key.to_string(),
                crate::check::changes::watched(&r.root.to_json()),
            )
        })
        .collect()
}

fn network_policies_note(count: usize, front: Front) -> Diagnostic {
    // The command line's words as they always were; another front end names its setting.
    let off = match front {
        Front::Cli => "Turn them off with --no-network-policies".to_string(),
        _ => format!(
            "Turn them off ({})",
            front.set(Setting::NetworkPolicies, Some("false"))
        ),
    };
    Diagnostic::new(
        Code::NetworkPolicies,
        format!(
            "the output holds {count} NetworkPolic{}, which only a network plugin that \
             enforces them (Calico, Cilium, ...) applies",
            if count == 1 { "y" } else { "ies" }
        ),
    )
    .help(format!(
        "they admit each peer's clients and no one else; without such a plugin every port \
         stays open. {off}, or per resource with the annotation \
         kotalc.io/network-policies: \"false\""
    ))
}

/// What an input without a resource held: the files read, and those the same walk passed
/// over, so that a wrong directory or extension shows at once.
fn empty_inputs(paths: &[PathBuf], sources: &Sources) -> Vec<String> {
    const NAMED: usize = 5;
    let read: Vec<&str> = sources.iter().map(|(_, f)| f.path.as_str()).collect();
    let passed = sources.passed();
    let mut text = Vec::new();
    if read.is_empty() && passed.is_empty() && !paths.is_empty() {
        let named: Vec<String> = paths.iter().map(|p| display(p)).collect();
        text.push(format!("{} holds no file", named.join(", ")));
    } else if read.is_empty() {
        text.push("no *.yaml or *.yml file was read".to_string());
    } else {
        let shown: Vec<&str> = read.iter().take(NAMED).copied().collect();
        text.push(format!(
            "read {}{}: no Peer, ClusterPeer or Swarm in {}",
            shown.join(", "),
            if read.len() > NAMED {
                format!(" and {} more", read.len() - NAMED)
            } else {
                String::new()
            },
            if read.len() == 1 { "it" } else { "them" }
        ));
    }
    if !passed.is_empty() {
        let named: Vec<String> = passed
            .iter()
            .take(NAMED)
            .map(|p| match p.why {
                Skip::Output => format!("{} (kotalc's output)", p.path),
                Skip::Hidden | Skip::Name | Skip::NotRegular => p.path.clone(),
            })
            .collect();
        text.push(format!(
            "skipped {}{} (only *.yaml and *.yml files are read; hidden ones, \
             kustomization files and links are not)",
            named.join(", "),
            if passed.len() > NAMED {
                format!(" and {} more", passed.len() - NAMED)
            } else {
                String::new()
            }
        ));
    }
    text
}

/// Two resources (or a resource and a passthrough document) that would produce an object of
/// the same kind, namespace and name: one would silently overwrite the other in the cluster.
fn collisions(parsed: &parse::Parsed, network_policies: bool, diagnostics: &mut Vec<Diagnostic>) {
    let mut owners: BTreeMap<Key, (Span, String)> = BTreeMap::new();
    let mut reported = std::collections::BTreeSet::new();
    let mut claim = |key: Key, span: Span, who: String, diagnostics: &mut Vec<Diagnostic>| {
        match owners.get(&key) {
            // The same kind and name twice is a duplicate resource, reported on its own.
            Some((first, first_who)) if *first != span && *first_who != who => {
                if reported.insert((*first, span)) {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateObject,
                            format!(
                                "{who} and {first_who} both render {} {:?}{}",
                                key.kind,
                                key.name,
                                match &key.namespace {
                                    Some(ns) if !ns.is_empty() => format!(" in namespace {ns}"),
                                    _ => String::new(),
                                }
                            ),
                        )
                        .at(span)
                        .label("renders the same object")
                        .related(*first, "as this one")
                        .help("rename one of them"),
                    );
                }
            }
            Some(_) => {}
            None => {
                owners.insert(key, (span, who));
            }
        }
    };
    // A pair of resources is named by the first kind they share: a template's before the
    // NetworkPolicy.
    let mut kinds: Vec<&manifest::Kind> = manifest::per_resource(network_policies).collect();
    kinds.sort_by_key(|k| k.source == manifest::Source::Policy);
    for r in &parsed.resources {
        // A Swarm renders nothing itself; its lowered Peers claim their objects.
        if r.name.is_empty() || r.kind == crate::model::Kind::Swarm {
            continue;
        }
        let ns = r.namespace.as_deref().filter(|ns| !ns.is_empty());
        let span = r.root.key_span("metadata.name").unwrap_or(r.root.span);
        for kind in &kinds {
            let who = format!("{} {:?}", r.kind.name(), r.name);
            claim(Key::new(kind.name, ns, &r.name), span, who, diagnostics);
        }
    }
    for doc in &parsed.passthrough {
        let mut key = Key::of(&doc.value);
        key.namespace = key.namespace.filter(|ns| !ns.is_empty());
        let span = doc.root.key_span("metadata.name").unwrap_or(doc.root.span);
        let who = format!("{} {:?}", key.kind, key.name);
        claim(key, span, who, diagnostics);
    }
}
