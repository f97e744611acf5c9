//! kotalc's integration tests, in one binary so that two cores link once.

mod bounded;
mod clear_errors;
mod cli;
mod common;
mod determinism;
mod escape;
mod fuzz_smoke;
mod gitops;
mod golden;
mod hostile;
mod invariants;
mod krm_items;
mod kustomize;
mod leaks;
mod output_dir;
mod plaintext;
mod schema;
mod scripts;
mod seal;
mod spec_fields;
mod swarm;
