//! kotalc compiles Kotal IPFS resources into plain Kubernetes manifests.
//!
//! The folders are the layers, each importing only those listed before it:
//! `diagnostic` (sources, spans, messages) → `input` (reading files, git revisions and YAML) and
//! `ipfs` (peer IDs, multiaddrs, keys, kubo releases) → `kube` (Kubernetes names and quantities,
//! and the manifest vocabulary: objects, their keys, kinds and files)
//! → `model` (the Kotal resources, their annotations and defaults, and parsing into them) →
//! `check` (validation, whole-set checks, lints, Swarm lowering) → `render` → `secrets` →
//! `output` → `compile` (the pipeline) → `commands` (the command line and the GitOps front
//! ends). `tests/layers.rs` holds the order.

// A `Diagnostic` carries its spans, help and related places; errors are rare and off the hot
// path, so returning it by value is simpler than boxing it everywhere.
#![allow(clippy::result_large_err)]

pub mod diagnostic;

pub mod input;
pub mod ipfs;

pub mod kube;

pub mod model;

pub mod check;

pub mod render;

pub mod secrets;

pub mod output;

pub mod compile;

pub mod commands;

pub use commands::run;
