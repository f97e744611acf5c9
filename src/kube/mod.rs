//! Kubernetes' own rules: object names, labels and resource quantities; and the manifest
//! vocabulary every layer shares (objects, their keys, kinds and files).

pub mod manifest;
pub mod names;
pub mod quantity;
