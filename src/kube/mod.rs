//! Kubernetes' own rules: object names, labels and resource quantities.

pub mod names;
pub mod quantity;
