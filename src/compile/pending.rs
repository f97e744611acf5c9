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

    /// How many objects there are: every resource renders one of each kind, its policy
    /// perhaps not.
    fn len(&self) -> usize {
        match &self.0 {
            Objects::Render(render) => {
                let rendered = render.configs.iter().flatten().count();
                rendered * manifest::per_resource(render.policies).count() + render.others.len()
            }
            Objects::Held(objects) => objects.len(),
        }
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

    /// Gives each object, in output order, to `each`, which keeps what it needs of it: a
    /// sum, or only the objects that differ. Or what did not render.
    pub fn for_each(self, each: &mut dyn FnMut(Object)) -> Result<(), Vec<Diagnostic>> {
        self.each(&mut |object| {
            each(object);
            Ok(())
        })
        .map_err(Stop::problems)
    }

    /// Every object, in output order; or what did not render.
    pub fn collect(self) -> Result<Vec<Object>, Vec<Diagnostic>> {
        let mut objects = Vec::with_capacity(self.len());
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

/// Resources rendered at once: enough to keep every core busy, few enough that the objects
/// held are a small part of the output.
const CHUNK: usize = 1024;

/// What the render carries from one chunk to the next.
struct Merge<'a> {
    /// The other objects still to give, sorted.
    others: std::iter::Peekable<std::vec::IntoIter<Object>>,
    each: &'a mut dyn FnMut(Object) -> std::io::Result<()>,
    lean: bool,
    /// Whether the objects come in output order, checked as they come.
    ordered: bool,
    /// The last object given, its text and data dropped: the next must sort after it.
    last: Option<Object>,
    /// Every resource that did not render is named; nothing more is given once one did not.
    problems: Vec<Diagnostic>,
    failed: Vec<bool>,
}

impl Merge<'_> {
    /// Renders one kind of a chunk of resources in parallel, and gives its objects, each
    /// after the others that sort before it.
    fn chunk(
        &mut self,
        kind: &str,
        chunk: &[usize],
        render: &(dyn Fn(usize) -> Result<Vec<Object>, Diagnostic> + Sync),
    ) -> Result<(), Stop> {
        use rayon::prelude::*;
        let failed = &self.failed;
        let lean = self.lean;
        // A lean object's data is dropped as each is rendered, in parallel: a chunk's data
        // is several times its text.
        let rendered: Vec<(usize, Result<Vec<Object>, Diagnostic>)> = chunk
            .par_iter()
            .filter(|&&i| !failed[i])
            .map(|&i| {
                let objects = render(i).map(|mut objects| {
                    if lean {
                        objects
                            .iter_mut()
                            .for_each(|o| o.value = serde_json::Value::Null);
                    }
                    objects
                });
                (i, objects)
            })
            .collect();
        for (i, objects) in rendered {
            let objects = match objects {
                Ok(objects) => objects,
                Err(problem) => {
                    self.failed[i] = true;
                    self.problems.push(problem);
                    continue;
                }
            };
            if !self.problems.is_empty() {
                continue;
            }
            for object in objects {
                if self.ordered && self.last.as_ref().is_some_and(|l| !l.before(&object)) {
                    return Err(Stop::Write(std::io::Error::other(format!(
                        "{kind} {:?} is not named as its resource",
                        object.name
                    ))));
                }
                while let Some(other) = self.others.next_if(|o| o.before(&object)) {
                    (self.each)(other).map_err(Stop::Write)?;
                }
                if self.ordered {
                    self.last = Some(Object {
                        api_version: object.api_version.clone(),
                        kind: object.kind.clone(),
                        namespace: object.namespace.clone(),
                        name: object.name.clone(),
                        value: serde_json::Value::Null,
                        yaml: String::new(),
                        origin: object.origin,
                    });
                }
                (self.each)(object).map_err(Stop::Write)?;
            }
        }
        Ok(())
    }
}

impl Render {
    /// Renders kind by kind, each object merged with the others where it sorts. `ordered`:
    /// every rendered object is named as its resource, so that each kind's objects come in
    /// their resources' order; checked as they come. Each resource's data is dropped once its
    /// last object is rendered, so that a collected output reuses the inputs' memory.
    fn each(
        self,
        ordered: bool,
        each: &mut dyn FnMut(Object) -> std::io::Result<()>,
    ) -> Result<(), Stop> {
        let Render {
            renderer,
            mut resources,
            mut configs,
            policies,
            others,
            lean,
        } = self;
        // Every object rendered here has its resource's namespace and name
        // (`render::metadata`), so each kind's objects sort as their resources do.
        let mut order: Vec<usize> = (0..resources.len())
            .filter(|&i| configs[i].is_some())
            .collect();
        order.sort_by(|&a, &b| {
            (&resources[a].namespace, &resources[a].name)
                .cmp(&(&resources[b].namespace, &resources[b].name))
        });
        let mut merge = Merge {
            others: others.into_iter().peekable(),
            each,
            lean,
            ordered,
            last: None,
            problems: Vec::new(),
            failed: vec![false; resources.len()],
        };
        for kind in manifest::per_resource(policies) {
            merge.last = None;
            if kind.source == manifest::Source::Policy {
                let input = policy::Input::new(&resources, &configs);
                let plan = policy::Plan::new(&input);
                let metadata = |i| crate::render::metadata(&resources[i]);
                let render = |i| {
                    policy::one(&input, &plan, i, &metadata)
                        .map(checked_policy)
                        .transpose()
                        .map(Vec::from_iter)
                };
                for chunk in order.chunks(CHUNK) {
                    merge.chunk(kind.name, chunk, &render)?;
                }
                continue;
            }
            let last = manifest::per_resource(policies)
                .last()
                .is_some_and(|l| l.name == kind.name);
            for chunk in order.chunks(CHUNK) {
                let render = |i: usize| match &configs[i] {
                    Some(config) => renderer.render(&resources[i], config, kind.name),
                    None => Ok(Vec::new()),
                };
                merge.chunk(kind.name, chunk, &render)?;
                if last {
                    for &i in chunk {
                        configs[i] = None;
                        resources[i].object = None;
                    }
                }
            }
        }
        if !merge.problems.is_empty() {
            return Err(Stop::Render(merge.problems));
        }
        let Merge { others, each, .. } = merge;
        others.into_iter().try_for_each(each).map_err(Stop::Write)
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
