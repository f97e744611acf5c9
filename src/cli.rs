//! The command line, as clap definitions only; `run` interprets them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::diagnostic::Format;

#[derive(Debug, Parser)]
#[command(
    name = "kotalc",
    version,
    about = "Compile Kotal IPFS resources (Peer, ClusterPeer) into plain Kubernetes manifests",
    long_about = "kotalc reads Kotal IPFS resources (ipfs.kotal.io/v1alpha1) and writes the \
                  StatefulSets, Services, ConfigMaps and PersistentVolumeClaims the Kotal \
                  operator would create, as deterministic manifests for Argo CD, Flux or \
                  kustomize. No operator runs in the cluster."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render resources to Kubernetes manifests.
    #[command(after_help = "Example:\n  kotalc build peers/ -o rendered/")]
    Build(BuildArgs),
    /// Check resources without rendering anything.
    #[command(after_help = "Example:\n  kotalc validate peers/")]
    Validate(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to read (`-` for standard input); the current directory when
    /// none is given.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Namespace for resources that set none.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Copy documents that are not Kotal resources to the output unchanged.
    #[arg(long)]
    pub passthrough: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Succeed even when the inputs hold no Kotal resource.
    #[arg(long)]
    pub allow_empty: bool,
    /// How diagnostics are printed on stderr.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Write one file per object into DIR (with a kustomization.yaml) instead of stdout.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Replace files in DIR even if they were edited by hand.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Directory of templates that override the embedded ones by file name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}
