//! The memory and storage annotations of one resource (`kotalc.io/go-memory-limit`,
//! `kotalc.io/resource-manager-memory`, `kotalc.io/storage-max`): malformed values are errors,
//! and a value above the limit it is a share of is a warning that names both.

use crate::diagnostic::{Code, Diagnostic};
use crate::kube::quantity::canonical_bytes;
use crate::model::annotations::{GO_MEMORY_LIMIT, RESOURCE_MANAGER_MEMORY, STORAGE_MAX};
use crate::model::defaults::Config;
use crate::model::parse::Resource;
use crate::model::runtime::{Given, given};

/// Malformed values go to `diagnostics`; values above their limit to `lints`, which the
/// resource's `kotalc.io/allow` filters.
pub fn check(
    resource: &Resource,
    config: &Config,
    diagnostics: &mut Vec<Diagnostic>,
    lints: &mut Vec<Diagnostic>,
) {
    let compute = config.compute();
    let memory = (
        "the container's memory limit",
        "spec.resources.memoryLimit",
        compute.memory_limit.value,
        "the daemon plans for memory the container does not have, and the kernel kills it first",
    );
    let storage = (
        "the storage claim",
        "spec.resources.storage",
        compute.storage.value,
        "GC waits for blocks the volume cannot hold, and kubo fails its writes when it is full",
    );
    let keys: &[(&str, _)] = match config {
        Config::Peer(_) => &[
            (GO_MEMORY_LIMIT, memory),
            (RESOURCE_MANAGER_MEMORY, memory),
            (STORAGE_MAX, storage),
        ],
        Config::ClusterPeer(_) => &[(GO_MEMORY_LIMIT, memory)],
    };
    for (key, (limit_name, limit_field, limit, outcome)) in keys {
        let Some((_, node)) = crate::model::parse::annotation(resource, key) else {
            continue;
        };
        // A value of the wrong type is reported by the schema check.
        let Some(text) = node.as_str() else { continue };
        let field = format!("metadata.annotations[{key}]");
        let annotations = std::collections::BTreeMap::from([(key.to_string(), text.to_string())]);
        match given(&annotations, key) {
            Err(problem) => diagnostics.push(
                Diagnostic::new(Code::InvalidAnnotation, problem)
                    .at(node.span)
                    .field(field),
            ),
            Ok(Given::Bytes(bytes)) if limit.is_some_and(|limit| bytes > limit) => {
                let limit = limit.map(canonical_bytes).unwrap_or_default();
                lints.push(
                    Diagnostic::new(
                        Code::ExceedsLimit,
                        format!(
                            "{key} is {}, above {limit_name} ({limit_field}: {limit}): \
                             {outcome}",
                            canonical_bytes(bytes)
                        ),
                    )
                    .at(node.span)
                    .field(field)
                    .help(format!(
                        "lower it under {limit}, raise {limit_field}, or remove the annotation \
                         to have kotalc derive it from {limit_field}"
                    )),
                );
            }
            Ok(_) => {}
        }
    }
}
