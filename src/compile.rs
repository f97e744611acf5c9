//! The pipeline: load, parse, default, validate, render. Every stage reports into one list of
//! diagnostics and later stages run on whatever is sound, so one run shows every problem.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::annotations;
use crate::defaults;
use crate::diagnostic::{self, Code, Diagnostic, Severity};
use crate::lint;
use crate::load;
use crate::parse::{self, Object as Typed};
use crate::render::{Object, Renderer};
use crate::secrets::{self, SecretOptions};
use crate::source::{Sources, Span};
use crate::swarm;
use crate::validate::{self, Config};

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    /// Namespace for resources that name none.
    pub namespace: Option<String>,
    /// Copy non-Kotal documents to the output instead of refusing them.
    pub passthrough: bool,
    /// Directory of template overrides.
    pub templates: Option<PathBuf>,
    pub deny_warnings: bool,
    /// Warning and note codes silenced for the whole run (`--allow`).
    pub allow: Vec<Code>,
    pub allow_empty: bool,
    /// `false` for `validate`: every check, no objects.
    pub render: bool,
    pub secrets: SecretOptions,
    /// Keep only each object's YAML, not its data: a build that writes the output needs no
    /// more, and at scale the data would be several times the output's size.
    pub lean: bool,
    /// Keep each resource as JSON, Swarms lowered to their Peers: what `diff` compares specs
    /// on.
    pub specs: bool,
    /// Leave the render to [`Pending::write`], which writes each object as it is rendered:
    /// `build` to stdout never holds the whole output. Only with the embedded templates,
    /// whose kinds are known before they render.
    pub stream: bool,
    /// Render no NetworkPolicy, for a cluster whose network plugin enforces none.
    pub no_network_policies: bool,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub sources: Sources,
    /// Sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Sorted in output order; empty when there is any error.
    pub objects: Vec<Object>,
    /// How many Kotal resources the inputs hold, for the summary line.
    pub resources: usize,
    /// With `Options::specs`: each Peer and ClusterPeer (a Swarm's as lowered) as JSON, by
    /// `Kind namespace/name`.
    pub specs: BTreeMap<String, serde_json::Value>,
    /// With `Options::stream` and no error: the render, still to be done.
    pub pending: Option<Pending>,
}

impl Outcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Worker threads get the main thread's stack: deeply nested (but still legal) YAML recurses
/// in the parser, and rayon's default 2 MiB is less than a main thread has.
fn thread_pool() {
    static POOL: std::sync::Once = std::sync::Once::new();
    POOL.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new()
            .stack_size(16 << 20)
            .build_global();
    });
}

pub fn compile(options: &Options) -> Outcome {
    let mut diagnostics = Vec::new();
    let mut sources = Sources::default();
    let paths = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    load::load(&paths, &mut sources, &mut diagnostics);
    compile_sources(options, sources, diagnostics)
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

/// Compiles inputs already read: from a git revision, or from a KRM function's items.
pub fn compile_sources(
    options: &Options,
    mut sources: Sources,
    mut diagnostics: Vec<Diagnostic>,
) -> Outcome {
    thread_pool();
    if let Some(ns) = &options.namespace
        && let Some(problem) = crate::names::namespace(ns)
    {
        diagnostics.push(
            Diagnostic::new(
                Code::InvalidName,
                format!("the default namespace {ns:?} is invalid: {problem}"),
            )
            .help("the namespace given with --namespace, ARGOCD_APP_NAMESPACE or the function's config names a directory of the output and a namespace of the cluster"),
        );
    }
    let mut parsed = parse::parse(&mut sources, options.passthrough, &mut diagnostics);
    // Counted before Swarms are lowered to the Peers they render as.
    let resource_count = parsed.resources.len();
    for doc in parsed.passthrough.iter().chain(&parsed.sealed) {
        crate::names::check_document(&doc.root, &mut diagnostics);
    }
    swarm::lower(
        &mut parsed,
        &mut sources,
        options.namespace.as_deref(),
        &mut diagnostics,
    );
    let namespace = options.namespace.as_deref();
    let specs = if options.specs {
        specs(&parsed.resources, namespace)
    } else {
        BTreeMap::new()
    };

    let mut allowed = Vec::with_capacity(parsed.resources.len());
    let configs: Vec<Option<Config>> = parsed
        .resources
        .iter()
        .map(|resource| {
            let allow = annotations::allowed(resource, &mut diagnostics);
            let config = resource.object.as_ref().and_then(|object| match object {
                Typed::Peer(peer) => Some(Config::Peer(defaults::peer(
                    &peer.spec,
                    &peer.metadata.annotations,
                ))),
                Typed::ClusterPeer(cluster) => Some(Config::ClusterPeer(defaults::cluster_peer(
                    &cluster.spec,
                    &cluster.metadata.annotations,
                ))),
                // Swarms are checked and lowered to Peers by `swarm::lower`.
                Typed::Swarm(_) => None,
            });
            if let Some(config) = &config {
                validate::resource(resource, config, &mut diagnostics);
                crate::policy::check(
                    resource,
                    config,
                    !options.no_network_policies,
                    &mut diagnostics,
                );
                let mut lints = Vec::new();
                lint::resource(resource, config, &mut lints);
                diagnostics.extend(lints.into_iter().filter(|d| !allow.contains(&d.code)));
            }
            allowed.push(allow);
            config
        })
        .collect();
    validate::duplicates(&parsed.resources, namespace, &mut diagnostics);
    let references = secrets::references(&parsed.resources, &configs);
    validate::set::check(
        &validate::set::Set {
            resources: &parsed.resources,
            configs: &configs,
            allowed: &allowed,
            references: &references,
            default_namespace: namespace,
            sources: &sources,
        },
        &mut diagnostics,
    );
    let dirs: Vec<String> = sources
        .iter()
        .map(|(_, file)| match file.path.rfind('/') {
            Some(at) => file.path[..at].to_string(),
            None => String::new(),
        })
        .collect();
    let secret_objects = secrets::plan(
        &secrets::Input {
            resources: &parsed.resources,
            configs: &configs,
            allowed: &allowed,
            sealed: &parsed.sealed,
            references: &references,
            default_namespace: namespace,
            dirs: &dirs,
        },
        &options.secrets,
        &mut diagnostics,
    );
    collisions(
        &parsed,
        namespace,
        !options.no_network_policies,
        &mut diagnostics,
    );

    if parsed.resources.is_empty()
        && !options.allow_empty
        && diagnostics.iter().all(|d| !d.is_error())
    {
        let mut help = String::from(
            "an empty render makes Argo CD prune everything; pass --allow-empty if that is intended",
        );
        help.push_str(&empty_inputs(&options.paths, &sources));
        diagnostics.push(
            Diagnostic::new(Code::EmptyOutput, "the inputs hold no Kotal IPFS resource").help(help),
        );
    }
    if !options.allow.is_empty() {
        diagnostics.retain(|d| d.is_error() || !options.allow.contains(&d.code));
    }
    if options.deny_warnings {
        for d in diagnostics
            .iter_mut()
            .filter(|d| d.severity == Severity::Warning)
        {
            d.severity = Severity::Error;
            let note = "a warning, made an error by --deny-warnings";
            d.help = Some(match d.help.take() {
                Some(help) => format!("{help}\n{note}"),
                None => note.to_string(),
            });
        }
    }

    if options.lean {
        // Every check is done: the documents' node trees are not needed to render, and at
        // scale they are the largest part of the inputs.
        for resource in &mut parsed.resources {
            resource.root = crate::yaml::Node::null(resource.root.span);
        }
    }
    let mut policies = Vec::new();
    let mut note = None;
    if options.render
        && !options.no_network_policies
        && !diagnostics.iter().any(Diagnostic::is_error)
    {
        let input = crate::policy::Input::new(&parsed.resources, &configs, namespace);
        // Each policy's data is checked (in debug builds) and, when lean, dropped as it is
        // made: all of them at once are larger than the output.
        policies = crate::policy::render(
            &input,
            |i| crate::render::metadata(&parsed.resources[i], namespace),
            |mut policy| {
                if cfg!(debug_assertions)
                    && let Err(problem) = crate::render::typed::check(policy.value.clone())
                {
                    diagnostics.push(
                        Diagnostic::new(Code::Template, format!("NetworkPolicy {problem}"))
                            .at(policy.origin),
                    );
                }
                if options.lean {
                    policy.value = serde_json::Value::Null;
                }
                policy
            },
        );
        note = (!policies.is_empty()).then(|| network_policies_note(policies.len()));
    }
    // Rendering with the embedded templates cannot fail (the tests render every fixture);
    // with overrides it can, and its diagnostics show the resource's lines.
    if options.lean && options.templates.is_none() {
        let referenced = diagnostics
            .iter()
            .flat_map(|d| d.span.iter().chain(d.related.iter().map(|(s, _)| s)))
            .map(|s| s.file)
            .collect();
        sources.release_unreferenced(&referenced);
    }
    let mut objects = Vec::new();
    let mut pending = None;
    let streams = options.stream && options.templates.is_none();
    if streams && options.render && !diagnostics.iter().any(Diagnostic::is_error) {
        match Renderer::new(None) {
            Ok(renderer) => {
                // Everything not rendered from a template: written in its place among them.
                let mut others = secret_objects;
                others.append(&mut policies);
                for doc in parsed.passthrough {
                    others.push(Object::from_value(doc.value, doc.root.span));
                }
                crate::emit::sort(&mut others);
                let resources = std::mem::take(&mut parsed.resources)
                    .into_iter()
                    .zip(configs)
                    .filter_map(|(resource, config)| Some((resource, config?)))
                    .collect();
                pending = Some(Pending {
                    renderer,
                    resources,
                    namespace: options.namespace.clone(),
                    others,
                });
            }
            Err(problems) => diagnostics.extend(problems),
        }
    } else if options.render && !diagnostics.iter().any(Diagnostic::is_error) {
        match Renderer::new(options.templates.as_deref()) {
            Ok(renderer) => {
                use rayon::prelude::*;
                // In parallel, collected in resource order. Each resource is dropped once it
                // is rendered, so the inputs' memory is reused for the output's.
                let resources = std::mem::take(&mut parsed.resources);
                let rendered: Vec<Result<Vec<Object>, Diagnostic>> =
                    resources
                        .into_par_iter()
                        .zip(configs.into_par_iter())
                        .filter_map(|(resource, config)| {
                            let config = config?;
                            Some(renderer.render(&resource, &config, namespace).map(
                                |mut objects| {
                                    if options.lean {
                                        objects
                                            .iter_mut()
                                            .for_each(|o| o.value = serde_json::Value::Null);
                                    }
                                    objects
                                },
                            ))
                        })
                        .collect();
                let count: usize = rendered
                    .iter()
                    .map(|r| r.as_ref().map_or(0, Vec::len))
                    .sum();
                objects.reserve_exact(count + parsed.passthrough.len() + secret_objects.len());
                for result in rendered {
                    match result {
                        Ok(rendered) => objects.extend(rendered),
                        Err(d) => diagnostics.push(d),
                    }
                }
            }
            Err(problems) => diagnostics.extend(problems),
        }
        objects.extend(secret_objects);
        objects.append(&mut policies);
        for doc in parsed.passthrough {
            objects.push(Object::from_value(doc.value, doc.root.span));
        }
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        objects.clear();
        pending = None;
    } else if let Some(note) = note {
        // Said once, and only when the policies are written.
        diagnostics.push(note);
    }
    crate::emit::sort(&mut objects);
    diagnostic::sort(&mut diagnostics, &sources);
    Outcome {
        sources,
        diagnostics,
        objects,
        resources: resource_count,
        specs,
        pending,
    }
}

/// A checked build whose objects are rendered as they are written: one kind at a time, in
/// output order, a bounded chunk of resources at a time and each chunk in parallel, so that
/// only a chunk's objects are ever held and the bytes are those of a sorted whole.
pub struct Pending {
    renderer: Renderer,
    resources: Vec<(parse::Resource, Config)>,
    namespace: Option<String>,
    /// The Secrets and passthrough documents, sorted: merged in where they sort.
    others: Vec<Object>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pending({} resources)", self.resources.len())
    }
}

impl Pending {
    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.others.is_empty()
    }

    /// Writes the whole output as `emit::write_stream` writes the sorted objects.
    pub fn write(self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.write_each(out, &mut |object, out| {
            crate::emit::write_object(object, out)
        })?;
        out.flush()
    }

    /// Renders the objects in output order, each given to `each` as it is rendered.
    pub fn write_each(
        self,
        out: &mut dyn std::io::Write,
        each: &mut dyn FnMut(&Object, &mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        use rayon::prelude::*;
        /// Resources rendered at once: enough to keep every core busy, few enough that the
        /// objects held are a small part of the output.
        const CHUNK: usize = 1024;
        let namespace = self.namespace.as_deref();
        let mut others = self.others.into_iter().peekable();
        // Every object an embedded template renders has its resource's namespace and name
        // (`render::metadata`), so each kind's objects sort as their resources do.
        let mut order: Vec<&(parse::Resource, Config)> = self.resources.iter().collect();
        order.sort_by(|(a, _), (b, _)| {
            (a.namespace.as_deref().or(namespace), &a.name)
                .cmp(&(b.namespace.as_deref().or(namespace), &b.name))
        });
        for kind in crate::render::EMBEDDED_KINDS {
            // The last object written, its text dropped: the next must sort after it.
            let mut last: Option<Object> = None;
            for chunk in order.chunks(CHUNK) {
                let rendered: Result<Vec<Vec<Object>>, Diagnostic> = chunk
                    .par_iter()
                    .map(|(resource, config)| {
                        let mut objects =
                            self.renderer
                                .render_only(resource, config, namespace, Some(kind))?;
                        objects
                            .iter_mut()
                            .for_each(|o| o.value = serde_json::Value::Null);
                        Ok(objects)
                    })
                    .collect();
                // The embedded templates render every valid resource (the tests render every
                // fixture); should one not, nothing more is written.
                let rendered = rendered.map_err(|d| std::io::Error::other(d.message))?;
                for mut object in rendered.into_iter().flatten() {
                    if last
                        .as_ref()
                        .is_some_and(|l| !crate::emit::before(l, &object))
                    {
                        return Err(std::io::Error::other(format!(
                            "{kind} {:?} is not named as its resource",
                            object.name
                        )));
                    }
                    while let Some(other) = others.next_if(|o| crate::emit::before(o, &object)) {
                        each(&other, out)?;
                    }
                    each(&object, out)?;
                    object.yaml = String::new();
                    last = Some(object);
                }
            }
        }
        for other in others {
            each(&other, out)?;
        }
        Ok(())
    }
}

/// The resources that render, as JSON by `Kind namespace/name`: a Swarm is lowered, so its
/// Peers are there and it is not.
fn specs(
    resources: &[parse::Resource],
    default_namespace: Option<&str>,
) -> BTreeMap<String, serde_json::Value> {
    resources
        .iter()
        .filter(|r| r.kind != crate::model::Kind::Swarm)
        .map(|r| {
            let value = r.root.to_json();
            (
                format!("{} {}", r.kind.name(), place(&value, default_namespace)),
                value,
            )
        })
        .collect()
}

/// Where a resource's objects are: `namespace/name`, or `name` without a namespace.
pub fn place(value: &serde_json::Value, default_namespace: Option<&str>) -> String {
    let name = value["metadata"]["name"].as_str().unwrap_or_default();
    match value["metadata"]["namespace"]
        .as_str()
        .or(default_namespace)
    {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

fn network_policies_note(count: usize) -> Diagnostic {
    Diagnostic::new(
        Code::NetworkPolicies,
        format!(
            "the output holds {count} NetworkPolic{}, which only a network plugin that \
             enforces them (Calico, Cilium, ...) applies",
            if count == 1 { "y" } else { "ies" }
        ),
    )
    .help(
        "they admit each peer's clients and no one else; without such a plugin every port \
         stays open. Turn them off with --no-network-policies, or per resource with the \
         annotation kotalc.io/network-policies: \"false\"",
    )
}

/// What an input without a resource held: the files read, and those skipped, so that a
/// wrong directory or extension shows at once.
fn empty_inputs(paths: &[PathBuf], sources: &Sources) -> String {
    const NAMED: usize = 5;
    let read: Vec<&str> = sources.iter().map(|(_, f)| f.path.as_str()).collect();
    let mut text = String::new();
    let (skipped, count) = load::skipped(paths, NAMED);
    if read.is_empty() && count == 0 && !paths.is_empty() {
        let named: Vec<String> = paths.iter().map(|p| load::display(p)).collect();
        text.push_str(&format!("\n{} holds no file", named.join(", ")));
    } else if read.is_empty() {
        text.push_str("\nno *.yaml or *.yml file was read");
    } else {
        let shown: Vec<&str> = read.iter().take(NAMED).copied().collect();
        text.push_str(&format!(
            "\nread {}{}: no Peer, ClusterPeer or Swarm in {}",
            shown.join(", "),
            if read.len() > NAMED {
                format!(" and {} more", read.len() - NAMED)
            } else {
                String::new()
            },
            if read.len() == 1 { "it" } else { "them" }
        ));
    }
    if count > 0 {
        text.push_str(&format!(
            "\nskipped {}{} (only *.yaml and *.yml files are read; hidden ones, \
             kustomization files and links are not)",
            skipped.join(", "),
            if count > skipped.len() {
                format!(" and {} more", count - skipped.len())
            } else {
                String::new()
            }
        ));
    }
    text
}

/// Two resources (or a resource and a passthrough document) that would produce an object of
/// the same kind, namespace and name: one would silently overwrite the other in the cluster.
fn collisions(
    parsed: &parse::Parsed,
    namespace: Option<&str>,
    network_policies: bool,
    diagnostics: &mut Vec<Diagnostic>,
) {
    const RENDERED: [&str; 5] = [
        "ConfigMap",
        "PersistentVolumeClaim",
        "Service",
        "StatefulSet",
        "NetworkPolicy",
    ];
    let mut owners: BTreeMap<(String, String, String), (Span, String)> = BTreeMap::new();
    let mut reported = std::collections::BTreeSet::new();
    let mut claim = |key: (String, String, String),
                     span: Span,
                     who: String,
                     diagnostics: &mut Vec<Diagnostic>| {
        match owners.get(&key) {
            // The same kind and name twice is a duplicate resource, reported on its own.
            Some((first, first_who)) if *first != span && *first_who != who => {
                if reported.insert((*first, span)) {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateObject,
                            format!(
                                "{who} and {first_who} both render {} {:?}{}",
                                key.0,
                                key.2,
                                if key.1.is_empty() {
                                    String::new()
                                } else {
                                    format!(" in namespace {}", key.1)
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
    for r in &parsed.resources {
        // A Swarm renders nothing itself; its lowered Peers claim their objects.
        if r.name.is_empty() || r.kind == crate::model::Kind::Swarm {
            continue;
        }
        let ns = r
            .namespace
            .as_deref()
            .or(namespace)
            .unwrap_or_default()
            .to_string();
        let span = r.root.key_span("metadata.name").unwrap_or(r.root.span);
        for kind in RENDERED {
            if kind == "NetworkPolicy" && !network_policies {
                continue;
            }
            let who = format!("{} {:?}", r.kind.name(), r.name);
            claim(
                (kind.into(), ns.clone(), r.name.clone()),
                span,
                who,
                diagnostics,
            );
        }
    }
    for doc in &parsed.passthrough {
        let object = crate::render::Identity::of(&doc.value);
        let span = doc.root.key_span("metadata.name").unwrap_or(doc.root.span);
        let who = format!("{} {:?}", object.kind, object.name);
        let ns = object.namespace.clone().unwrap_or_default();
        claim((object.kind, ns, object.name), span, who, diagnostics);
    }
}
