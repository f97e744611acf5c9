//! kotalc compiles Kotal IPFS resources into plain Kubernetes manifests. The pipeline reads
//! as its modules: `load` → `parse` → `defaults` → `validate` → `render` → `emit`, driven by
//! `compile` and, from the command line, by `run`.

// A `Diagnostic` carries its spans, help and related places; errors are rare and off the hot
// path, so returning it by value is simpler than boxing it everywhere.
#![allow(clippy::result_large_err)]

pub mod annotations;
pub mod cli;
pub mod compile;
pub mod defaults;
pub mod diagnostic;
pub mod diff;
pub mod emit;
pub mod explain;
pub mod import;
pub mod keys;
pub mod krm;
pub mod kubo;
pub mod lint;
pub mod load;
pub mod model;
pub mod multiaddr;
pub mod names;
pub mod owned;
pub mod parse;
pub mod peer_id;
pub mod policy;
pub mod quantity;
pub mod render;
pub mod run;
pub mod schema;
pub mod seal;
pub mod secrets;
pub mod shell;
pub mod source;
pub mod swarm;
pub mod validate;
pub mod yaml;

pub use run::run;
