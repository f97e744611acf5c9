//! Writing the output: a YAML stream or a directory tree (`emit`), and removing only what
//! kotalc owns (`owned`).

pub mod emit;
pub mod owned;
pub mod update;
