//! Reading inputs: files and directories on disk, a git revision, YAML into spanned node trees.

pub mod load;
pub mod repository;
pub mod revision;
pub mod yaml;
