//! kotalc's integration tests, in one binary so that two cores link once.

mod cli;
mod cluster_runtime;
mod common;
mod determinism;
mod examples;
mod fuzz_smoke;
mod gitops;
mod golden;
mod hostile;
mod import;
mod invariants;
mod kpt;
mod kustomize;
mod output_dir;
mod peer_runtime;
mod plaintext;
mod real_kubo;
mod reporting;
mod schema;
mod scripts;
mod seal;
mod spec_fields;
mod swarm;
