//! Reading inputs: files and directories on disk, a git revision, template overrides, YAML
//! into spanned node trees. With `output`, the only layer that touches the disk.

pub mod load;
pub mod repository;
pub mod revision;
pub mod templates;
pub mod yaml;
