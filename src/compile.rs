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
    pub allow_empty: bool,
    /// `false` for `validate`: every check, no objects.
    pub render: bool,
    pub secrets: SecretOptions,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub sources: Sources,
    /// Sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Sorted in output order; empty when there is any error.
    pub objects: Vec<Object>,
}

impl Outcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
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

/// Compiles inputs already read: from a git revision, or from a KRM function's items.
pub fn compile_sources(
    options: &Options,
    mut sources: Sources,
    mut diagnostics: Vec<Diagnostic>,
) -> Outcome {
    let mut parsed = parse::parse(&sources, options.passthrough, &mut diagnostics);
    swarm::lower(
        &mut parsed,
        &mut sources,
        options.namespace.as_deref(),
        &mut diagnostics,
    );
    let namespace = options.namespace.as_deref();

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
                Typed::ClusterPeer(cluster) => {
                    Some(Config::ClusterPeer(defaults::cluster_peer(&cluster.spec)))
                }
                // Swarms are checked and lowered to Peers by `swarm::lower`.
                Typed::Swarm(_) => None,
            });
            if let Some(config) = &config {
                validate::resource(resource, config, &mut diagnostics);
                let mut lints = Vec::new();
                lint::resource(resource, config, &mut lints);
                diagnostics.extend(lints.into_iter().filter(|d| !allow.contains(&d.code)));
            }
            allowed.push(allow);
            config
        })
        .collect();
    validate::duplicates(&parsed.resources, namespace, &mut diagnostics);
    validate::set::check(
        &validate::set::Set {
            resources: &parsed.resources,
            configs: &configs,
            allowed: &allowed,
            default_namespace: namespace,
        },
        &mut diagnostics,
    );
    let secret_objects = secrets::plan(
        &secrets::Input {
            resources: &parsed.resources,
            configs: &configs,
            allowed: &allowed,
            sealed: &parsed.sealed,
            default_namespace: namespace,
        },
        &options.secrets,
        &mut diagnostics,
    );
    collisions(&parsed, namespace, &mut diagnostics);

    if parsed.resources.is_empty()
        && !options.allow_empty
        && diagnostics.iter().all(|d| !d.is_error())
    {
        diagnostics.push(
            Diagnostic::new(Code::EmptyOutput, "the inputs hold no Kotal IPFS resource")
                .help("an empty render makes Argo CD prune everything; pass --allow-empty if that is intended"),
        );
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

    let mut objects = Vec::new();
    if options.render && !diagnostics.iter().any(Diagnostic::is_error) {
        match Renderer::new(options.templates.as_deref()) {
            Ok(renderer) => {
                for (resource, config) in parsed.resources.iter().zip(&configs) {
                    let Some(config) = config else { continue };
                    match renderer.render(resource, config, namespace) {
                        Ok(rendered) => objects.extend(rendered),
                        Err(d) => diagnostics.push(d),
                    }
                }
            }
            Err(problems) => diagnostics.extend(problems),
        }
        objects.extend(secret_objects);
        for doc in parsed.passthrough {
            objects.push(Object::from_value(doc.value, doc.root.span));
        }
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        objects.clear();
    }
    crate::emit::sort(&mut objects);
    diagnostic::sort(&mut diagnostics, &sources);
    Outcome {
        sources,
        diagnostics,
        objects,
    }
}

/// Two resources (or a resource and a passthrough document) that would produce an object of
/// the same kind, namespace and name: one would silently overwrite the other in the cluster.
fn collisions(parsed: &parse::Parsed, namespace: Option<&str>, diagnostics: &mut Vec<Diagnostic>) {
    const RENDERED: [&str; 4] = [
        "ConfigMap",
        "PersistentVolumeClaim",
        "Service",
        "StatefulSet",
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
