//! The streamed render: `build` to stdout writes each object as it is rendered, in output
//! order, and never holds the whole output.

use crate::kube::manifest::Object;
use crate::model::defaults::Config;
use crate::model::parse;
use crate::render::Renderer;
use crate::render::policy;

/// A checked build whose objects are rendered as they are written: one kind at a time, in
/// output order (NetworkPolicies first, then the templates' kinds), a bounded chunk of
/// resources at a time and each chunk in parallel, so that only a chunk's objects are ever
/// held and the bytes are those of a sorted whole.
pub struct Pending {
    pub(super) renderer: Renderer,
    /// Every resource, with its configuration where it renders, as the checks saw them.
    pub(super) resources: Vec<parse::Resource>,
    pub(super) configs: Vec<Option<Config>>,
    /// Whether NetworkPolicies are written.
    pub(super) policies: bool,
    /// The Secrets and passthrough documents, sorted: merged in where they sort.
    pub(super) others: Vec<Object>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pending({} resources)", self.resources.len())
    }
}

impl Pending {
    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.configs.iter().all(Option::is_none) && self.others.is_empty()
    }

    /// Writes the whole output as `emit::write_stream` writes the sorted objects.
    pub fn write(self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.write_each(out, &mut |object, out| {
            crate::output::emit::write_object(object, out)
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
        for kind in crate::kube::manifest::per_resource(plan.is_some()).map(|k| k.name) {
            // The last object written, its text dropped: the next must sort after it.
            let mut last: Option<Object> = None;
            for chunk in order.chunks(CHUNK) {
                let rendered: Result<Vec<Vec<Object>>, String> = chunk
                    .par_iter()
                    .map(|&i| {
                        let mut objects: Vec<Object> = match (&plan, &self.configs[i]) {
                            (Some(plan), _) if kind == "NetworkPolicy" => {
                                let metadata = |i| crate::render::metadata(&resources[i]);
                                policy::one(&input, plan, i, &metadata)
                                    .into_iter()
                                    .collect()
                            }
                            (_, Some(config)) => self
                                .renderer
                                .render_only(&self.resources[i], config, Some(kind))
                                .map_err(|d| d.message)?,
                            (_, None) => Vec::new(),
                        };
                        objects
                            .iter_mut()
                            .for_each(|o| o.value = serde_json::Value::Null);
                        Ok(objects)
                    })
                    .collect();
                // The embedded templates render every valid resource (the tests render every
                // fixture); should one not, nothing more is written.
                let rendered = rendered.map_err(std::io::Error::other)?;
                for mut object in rendered.into_iter().flatten() {
                    if last.as_ref().is_some_and(|l| !l.before(&object)) {
                        return Err(std::io::Error::other(format!(
                            "{kind} {:?} is not named as its resource",
                            object.name
                        )));
                    }
                    while let Some(other) = others.next_if(|o| o.before(&object)) {
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
