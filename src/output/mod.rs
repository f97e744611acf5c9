//! Writing the output: a YAML stream or a directory tree (`emit`), one file a user named
//! (`file`), and removing only what kotalc owns (`owned`). With `input`, the only layer that
//! touches the disk.

pub mod emit;
pub mod file;
pub mod owned;
pub mod update;
