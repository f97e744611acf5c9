//! The checks: each resource alone (`validate`), the whole set (`set`), warnings (`lint`), the
//! NetworkPolicy annotations (`policy`), a Swarm's checks with its lowering to Peers
//! (`swarm`), and what a change to the objects does to a cluster (`changes`).

pub mod changes;
pub mod gateway;
pub mod lint;
pub mod monitoring;
pub mod policy;
pub mod runtime;
pub mod set;
pub mod swarm;
pub mod validate;
