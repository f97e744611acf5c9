//! Resolved resources to Kubernetes objects. Each object comes from a minijinja template;
//! the result is checked against its k8s-openapi type so that a template can never emit a
//! field Kubernetes does not know, then kept as canonical JSON for emission.

mod context;
pub mod gateway;
pub mod monitoring;
pub mod policy;
pub mod typed;

pub use context::{Port, metadata, ports};

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value as J;

use crate::diagnostic::{Code, Diagnostic};
use crate::kube::manifest::{self, Object};
use crate::model::defaults::Config;
use crate::model::parse::Resource;

/// The embedded object templates, by the name `--templates DIR` overrides them with.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "configmap.yaml",
        include_str!("../../templates/configmap.yaml"),
    ),
    ("service.yaml", include_str!("../../templates/service.yaml")),
    ("pvc.yaml", include_str!("../../templates/pvc.yaml")),
    (
        "peer-statefulset.yaml",
        include_str!("../../templates/peer-statefulset.yaml"),
    ),
    (
        "clusterpeer-statefulset.yaml",
        include_str!("../../templates/clusterpeer-statefulset.yaml"),
    ),
];

/// The embedded container scripts, stored in each resource's ConfigMap without their comment
/// lines (see [`without_comments`]).
pub const SCRIPTS: &[(&str, &str)] = &[
    (
        "scripts/init_ipfs_config.sh",
        include_str!("../../templates/scripts/init_ipfs_config.sh"),
    ),
    (
        "scripts/copy_swarm_key.sh",
        include_str!("../../templates/scripts/copy_swarm_key.sh"),
    ),
    (
        "scripts/config_ipfs.sh",
        include_str!("../../templates/scripts/config_ipfs.sh"),
    ),
    (
        "scripts/init_ipfs_identity.sh",
        include_str!("../../templates/scripts/init_ipfs_identity.sh"),
    ),
    (
        "scripts/config_peering.sh",
        include_str!("../../templates/scripts/config_peering.sh"),
    ),
    (
        "scripts/init_ipfs_cluster_config.sh",
        include_str!("../../templates/scripts/init_ipfs_cluster_config.sh"),
    ),
    (
        "scripts/start_ipfs_cluster.sh",
        include_str!("../../templates/scripts/start_ipfs_cluster.sh"),
    ),
];

pub struct Renderer {
    env: Environment<'static>,
    scripts: BTreeMap<&'static str, String>,
    /// Templates replaced by `--templates`, whose output is checked against the Kubernetes
    /// types on every render.
    overridden: std::collections::BTreeSet<&'static str>,
}

/// The names `--templates DIR` overrides the embedded templates and scripts by.
pub fn overridable() -> Vec<&'static str> {
    TEMPLATES
        .iter()
        .chain(SCRIPTS)
        .map(|(name, _)| *name)
        .collect()
}

impl Renderer {
    /// The embedded templates, each replaced by the text of the same name in `overrides` (see
    /// [`overridable`]).
    pub fn new(overrides: BTreeMap<&str, String>) -> Result<Renderer, Vec<Diagnostic>> {
        let mut sources: BTreeMap<&'static str, String> = TEMPLATES
            .iter()
            .chain(SCRIPTS)
            .map(|(name, text)| (*name, (*text).to_string()))
            .collect();
        for (name, text) in overrides {
            if let Some(source) = sources.get_mut(name) {
                *source = text;
            }
        }
        let mut problems = Vec::new();
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.add_filter("with_annotations", with_annotations);
        let overridden = sources
            .iter()
            .filter(|(name, text)| {
                TEMPLATES
                    .iter()
                    .chain(SCRIPTS)
                    .any(|(n, t)| n == *name && t != text)
            })
            .map(|(name, _)| *name)
            .collect();
        let mut scripts = BTreeMap::new();
        for (name, text) in sources {
            if let Some(script) = name.strip_prefix("scripts/") {
                scripts.insert(script, without_comments(&text));
            } else if let Err(e) = env.add_template_owned(name, text) {
                problems.push(template_error(name, &e));
            }
        }
        if problems.is_empty() {
            Ok(Renderer {
                env,
                scripts,
                overridden,
            })
        } else {
            Err(problems)
        }
    }

    /// Renders one resource's objects of one kind: each template renders one kind (see
    /// [`manifest::KINDS`]).
    pub fn render(
        &self,
        resource: &Resource,
        config: &Config,
        kind: &str,
    ) -> Result<Vec<Object>, Diagnostic> {
        let plan = context::plan(resource, config, &self.scripts);
        let origin = resource.origin;
        let mut objects = Vec::with_capacity(plan.templates.len());
        for name in plan.templates {
            if manifest::template_kind(name) != Some(kind) {
                continue;
            }
            let text = self
                .env
                .get_template(name)
                .and_then(|t| t.render(&plan.context))
                .map_err(|e| template_error(name, &e).at(origin))?;
            // The embedded templates print JSON, which parses many times faster than YAML;
            // an override may print either.
            let parsed = if text.trim_start().starts_with('{') {
                serde_json::from_str::<J>(&text).map_err(|e| e.to_string())
            } else {
                serde_saphyr::from_str_with_options(&text, crate::input::yaml::options())
                    .map_err(|e| e.without_snippet().to_string())
            };
            let mut value = parsed.map_err(|e| {
                Diagnostic::new(
                    Code::Template,
                    format!("template `{name}` rendered invalid YAML: {e}"),
                )
                .at(origin)
            })?;
            drop_nulls(&mut value);
            // The embedded templates are checked on every fixture by the test suite (debug
            // builds check every render); an override is checked on every render.
            if cfg!(debug_assertions) || self.overridden.contains(name) {
                value = typed::check(value).map_err(|problem| {
                    Diagnostic::new(Code::Template, format!("template `{name}` {problem}"))
                        .at(origin)
                })?;
            }
            keep_from_substitution(&mut value);
            objects.push(Object::from_value(value, origin));
        }
        Ok(objects)
    }
}

/// A script as it ships: without its comment lines, which explain it to its maintainers in
/// `templates/` and were a third of every ConfigMap. The `#!` line stays, and so does every
/// line of a here-document, where `#` is data.
pub fn without_comments(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    let mut here_end: Option<String> = None;
    for (i, line) in script.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if let Some(end) = &here_end {
            if trimmed == end {
                here_end = None;
            }
            out.push_str(line);
            continue;
        }
        if trimmed.starts_with('#') && !(i == 0 && line.starts_with("#!")) {
            continue;
        }
        here_end = here_document(line);
        out.push_str(line);
    }
    out
}

/// The word that ends the here-document a line opens (`<<EOF`, `<<-'EOF'`), if it opens one.
fn here_document(line: &str) -> Option<String> {
    let at = line.find("<<")?;
    let rest = line[at + 2..].trim_start_matches('-').trim_start();
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '&' | '|' | ')' | '<' | '>'))
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The annotation by which Flux's kustomize-controller leaves one object out of its post-build
/// variable substitution.
pub const FLUX_SUBSTITUTE: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Marks an object that Flux's post-build substitution (`spec.postBuild.substitute` or
/// `substituteFrom`) would rewrite, so that it reaches the cluster as kotalc wrote it. That
/// substitution is bash-like envsubst over every string of every object: it empties the
/// scripts' `${kubo_release%%.*}` and turns the `$$(VAR)` that keeps a kubelet from expanding
/// a user's argument back into `$(VAR)`. `$NAME` without braces and a lone `$` are left alone,
/// so only objects holding `${` or `$$` are marked; every other object stays open to a
/// user's own substitution.
fn keep_from_substitution(value: &mut J) {
    fn substituted(text: &str) -> bool {
        text.contains("${") || text.contains("$$")
    }
    fn rewritten(value: &J) -> bool {
        match value {
            J::String(text) => substituted(text),
            J::Array(items) => items.iter().any(rewritten),
            J::Object(map) => map.iter().any(|(k, v)| substituted(k) || rewritten(v)),
            _ => false,
        }
    }
    if !rewritten(value) {
        return;
    }
    if let Some(J::Object(meta)) = value.get_mut("metadata") {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| J::Object(serde_json::Map::new()));
        if let J::Object(map) = annotations {
            map.insert(
                FLUX_SUBSTITUTE.to_string(),
                J::String("disabled".to_string()),
            );
        }
    }
}

/// A template states an optional field as `null` when it has no value (a map literal cannot
/// leave a key out); such fields are omitted, as Kubernetes omits them.
fn drop_nulls(value: &mut J) {
    match value {
        J::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        J::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn template_error(name: &str, e: &minijinja::Error) -> Diagnostic {
    let mut message = format!("template `{name}`: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Diagnostic::new(Code::Template, message)
}

/// `metadata | with_annotations({...})`: the metadata with extra annotations merged in.
fn with_annotations(
    metadata: minijinja::Value,
    extra: minijinja::Value,
) -> Result<minijinja::Value, minijinja::Error> {
    let invalid = |e: serde_json::Error| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
    };
    let mut meta: serde_json::Map<String, J> =
        serde_json::from_value(serde_json::to_value(&metadata).map_err(invalid)?)
            .map_err(invalid)?;
    let extra: BTreeMap<String, String> =
        serde_json::from_value(serde_json::to_value(&extra).map_err(invalid)?).map_err(invalid)?;
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| J::Object(serde_json::Map::new()));
    if let J::Object(map) = annotations {
        for (k, v) in extra {
            map.insert(k, J::String(v));
        }
    }
    Ok(minijinja::Value::from_serialize(&meta))
}

#[cfg(test)]
mod tests {
    use super::without_comments;

    #[test]
    fn comment_lines_are_dropped_and_code_and_data_kept() {
        let script = "#!/bin/sh\n# why\nset -e\n  # indented why\necho a # kept\ncat <<-'EOF' > f\n# data\n\tEOF\n# gone\n";
        assert_eq!(
            without_comments(script),
            "#!/bin/sh\nset -e\necho a # kept\ncat <<-'EOF' > f\n# data\n\tEOF\n"
        );
    }

    #[test]
    fn every_template_of_the_kind_table_is_embedded() {
        use std::collections::BTreeSet;
        let embedded: BTreeSet<&str> = super::TEMPLATES.iter().map(|(name, _)| *name).collect();
        let tabled: BTreeSet<&str> = crate::kube::manifest::templates(false)
            .chain(crate::kube::manifest::templates(true))
            .collect();
        assert_eq!(embedded, tabled);
    }

    #[test]
    fn every_embedded_script_keeps_its_code() {
        for (name, text) in super::SCRIPTS {
            let code = |t: &str| -> Vec<String> {
                t.lines()
                    .filter(|l| !l.trim().starts_with('#'))
                    .map(String::from)
                    .collect()
            };
            let shipped = without_comments(text);
            assert!(shipped.starts_with("#!/bin/sh\n"), "{name}");
            assert_eq!(code(&shipped), code(text), "{name}");
        }
    }
}
