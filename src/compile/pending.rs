//! The render: every object of a checked build, in output order, one at a time. `build` to
//! stdout writes each as it comes and never holds the whole output; `build -o`, `diff` and
//! `--templates` collect the same sequence.

use crate::diagnostic::{Code, Diagnostic};
use crate::kube::manifest::{self, Object};
use crate::model::defaults::Config;
use crate::model::parse;
use crate::render::Renderer;
use crate::render::policy;

/// The objects of a checked build, in output order, taken once: by [`Pending::write`] as
/// they are rendered, or all at once by [`Pending::collect`].
pub struct Pending(Objects);

enum Objects {
    Render(Box<Render>),
    /// Rendered and sorted already: with `--templates`, whose problems are the compile's.
    Held(Vec<Object>),
}

/// A render still to do: one kind at a time, in output order (NetworkPolicies first, then
/// the templates' kinds), a bounded chunk of resources at a time and each chunk in parallel,
/// so that only a chunk's objects are ever held and the bytes are those of a sorted whole.
pub(super) struct Render {
    pub(super) renderer: Renderer,
    /// Every resource, with its configuration where it renders, as the checks saw them.
    pub(super) resources: Vec<parse::Resource>,
    pub(super) configs: Vec<Option<Config>>,
    /// Whether NetworkPolicies are written.
    pub(super) policies: bool,
    /// The Secrets, passthrough documents, PodMonitors and HTTPRoutes, sorted: merged in
    /// where they sort.
    pub(super) others: Vec<Object>,
    /// Keep only each rendered object's YAML, not its data.
    pub(super) lean: bool,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Objects::Render(render) => {
                write!(f, "Pending({} resources)", render.resources.len())
            }
            Objects::Held(objects) => write!(f, "Pending({} objects)", objects.len()),
        }
    }
}

/// Why the sequence stopped.
enum Stop {
    /// A resource did not render (with `--templates`); every such resource is named.
    Render(Vec<Diagnostic>),
    Write(std::io::Error),
}

impl Pending {
    /// Renders now if `render` holds overridden templates, whose objects may be of any kind
    /// and name: they are held and sorted, and their problems returned.
    pub(super) fn new(render: Render, overridden: bool) -> Result<Pending, Vec<Diagnostic>> {
        if !overridden {
            return Ok(Pending(Objects::Render(Box::new(render))));
        }
        let mut objects = Vec::new();
        render
            .each(false, &mut |object| {
                objects.push(object);
                Ok(())
            })
            .map_err(Stop::problems)?;
        manifest::sort(&mut objects);
        Ok(Pending(Objects::Held(objects)))
    }

    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Objects::Render(render) => {
                render.configs.iter().all(Option::is_none) && render.others.is_empty()
            }
            Objects::Held(objects) => objects.is_empty(),
        }
    }

    /// Writes the whole output: each object a document of a YAML stream.
    pub fn write(self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.write_each(out, &mut |object, out| {
            crate::output::emit::write_object(object, out)
        })?;
        out.flush()
    }

    /// Gives the objects in output order to `each` as they are rendered.
    pub fn write_each(
        self,
        out: &mut dyn std::io::Write,
        each: &mut dyn FnMut(&Object, &mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.each(&mut |object| each(&object, out))
            .map_err(|stop| match stop {
                Stop::Write(e) => e,
                Stop::Render(problems) => std::io::Error::other(
                    problems
                        .into_iter()
                        .map(|d| d.message)
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            })
    }

    /// Every object, in output order; or what did not render.
    pub fn collect(self) -> Result<Vec<Object>, Vec<Diagnostic>> {
        let mut objects = Vec::new();
        self.each(&mut |object| {
            objects.push(object);
            Ok(())
        })
        .map_err(Stop::problems)?;
        Ok(objects)
    }

    fn each(self, each: &mut dyn FnMut(Object) -> std::io::Result<()>) -> Result<(), Stop> {
        match self.0 {
            Objects::Render(render) => render.each(true, each),
            Objects::Held(objects) => objects.into_iter().try_for_each(each).map_err(Stop::Write),
        }
    }
}

impl Stop {
    fn problems(self) -> Vec<Diagnostic> {
        match self {
            Stop::Render(problems) => problems,
            Stop::Write(e) => vec![Diagnostic::new(Code::Io, e.to_string())],
        }
    }
}

impl Render {
    /// Renders kind by kind, each object merged with the others where it sorts. `ordered`:
    /// every rendered object is named as its resource, so that each kind's objects come in
    /// their resources' order; checked as they come.
    fn each(
        self,
        ordered: bool,
        each: &mut dyn FnMut(Object) -> std::io::Result<()>,
    ) -> Result<(), Stop> {
        use rayon::prelude::*;
        /// Resources rendered at once: enough to keep every core busy, few enough that the
        /// objects held are a small part of the output.
        const CHUNK: usize = 1024;
        let mut others = self.others.into_iter().peekable();
        // Every object rendered here has its resource's namespace and name
        // (`render::metadata`), so each kind's objects sort as their resources do.
        let mut order: Vec<usize> = (0..self.resources.len())
            .filter(|&i| self.configs[i].is_some())
            .collect();
        let resources = &self.resources;
        order.sort_by(|&a, &b| {
            (&resources[a].namespace, &resources[a].name)
                .cmp(&(&resources[b].namespace, &resources[b].name))
        });
        let input = policy::Input::new(&self.resources, &self.configs);
        let plan = self.policies.then(|| policy::Plan::new(&input));
        let lean = self.lean;
        // Every resource that did not render is named; nothing more is given once one did not.
        let mut problems = Vec::new();
        let mut failed = vec![false; self.resources.len()];
        for kind in manifest::per_resource(plan.is_some()).map(|k| k.name) {
            // The last object given, its text dropped: the next must sort after it.
            let mut last: Option<Object> = None;
            for chunk in order.chunks(CHUNK) {
                let rendered: Vec<(usize, Result<Vec<Object>, Diagnostic>)> = chunk
                    .par_iter()
                    .filter(|&&i| !failed[i])
                    .map(|&i| {
                        let objects = match (&plan, &self.configs[i]) {
                            (Some(plan), _) if kind == "NetworkPolicy" => {
                                let metadata = |i| crate::render::metadata(&resources[i]);
                                policy::one(&input, plan, i, &metadata)
                                    .map(checked_policy)
                                    .transpose()
                                    .map(Vec::from_iter)
                            }
                            (_, Some(config)) => {
                                self.renderer.render(&self.resources[i], config, kind)
                            }
                            (_, None) => Ok(Vec::new()),
                        };
                        (i, objects)
                    })
                    .collect();
                for (i, objects) in rendered {
                    let objects = match objects {
                        Ok(objects) => objects,
                        Err(problem) => {
                            failed[i] = true;
                            problems.push(problem);
                            continue;
                        }
                    };
                    if !problems.is_empty() {
                        continue;
                    }
                    for mut object in objects {
                        if lean {
                            object.value = serde_json::Value::Null;
                        }
                        if ordered && last.as_ref().is_some_and(|l| !l.before(&object)) {
                            return Err(Stop::Write(std::io::Error::other(format!(
                                "{kind} {:?} is not named as its resource",
                                object.name
                            ))));
                        }
                        while let Some(other) = others.next_if(|o| o.before(&object)) {
                            each(other).map_err(Stop::Write)?;
                        }
                        if ordered {
                            last = Some(Object {
                                api_version: object.api_version.clone(),
                                kind: object.kind.clone(),
                                namespace: object.namespace.clone(),
                                name: object.name.clone(),
                                value: serde_json::Value::Null,
                                yaml: String::new(),
                                origin: object.origin,
                            });
                        }
                        each(object).map_err(Stop::Write)?;
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(Stop::Render(problems));
        }
        others.try_for_each(each).map_err(Stop::Write)
    }
}

/// A NetworkPolicy; in a debug build, checked against its k8s-openapi type as the templates'
/// objects are.
fn checked_policy(policy: Object) -> Result<Object, Diagnostic> {
    if cfg!(debug_assertions)
        && let Err(problem) = crate::render::typed::check(policy.value.clone())
    {
        return Err(
            Diagnostic::new(Code::Template, format!("NetworkPolicy {problem}")).at(policy.origin),
        );
    }
    Ok(policy)
}
