//! The repository the user means, and git run on it alone. kotalc runs on pull requests: any
//! directory among the inputs may hold a repository's files (a bare repository's `HEAD`,
//! `config`, `objects/`, `refs/`), whose config could make git run a program or supply a
//! forged revision. So the repository is never looked for from the inputs: it is the work
//! tree that holds the current directory, or the one named with `--repo`, and git is given
//! its directories explicitly, with every setting that could run a program switched off.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A work tree and its git directory, both absolute and resolved.
#[derive(Clone, Debug)]
pub struct Repository {
    pub work_tree: PathBuf,
    pub git_dir: PathBuf,
}

/// The work tree that holds `start`: the nearest directory at or above it with a `.git`
/// directory, or a `.git` file naming one (a linked work tree, a submodule). A bare
/// repository is never taken: only a work tree's `.git` is looked for.
pub fn work_tree(start: &Path) -> Option<Repository> {
    let start = fs::canonicalize(start).ok()?;
    for dir in start.ancestors() {
        let dot_git = dir.join(".git");
        let Ok(meta) = fs::symlink_metadata(&dot_git) else {
            continue;
        };
        let git_dir = if meta.is_dir() {
            dot_git
        } else if meta.is_file() {
            let text = fs::read_to_string(&dot_git).ok()?;
            let named = text
                .strip_prefix("gitdir: ")?
                .trim_end_matches(['\n', '\r']);
            fs::canonicalize(dir.join(named)).ok()?
        } else {
            return None;
        };
        return Some(Repository {
            work_tree: dir.to_path_buf(),
            git_dir,
        });
    }
    None
}

impl Repository {
    /// Whether the work tree and its git directory belong to the user kotalc runs as. git
    /// refuses a repository it finds that another user owns ("dubious ownership"): someone
    /// else's `.git` above the current directory must not supply the revision. kotalc gives
    /// git the directories explicitly, which git does not check, so kotalc checks itself; a
    /// repository named with `--repo` is the user's choice.
    pub fn owned_by_caller(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        [&self.work_tree, &self.git_dir]
            .iter()
            .all(|dir| fs::metadata(dir).is_ok_and(|m| m.uid() == me))
    }
}

/// The work tree `--repo` named, once the command has checked it.
static NAMED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes the work tree the user named with `--repo` the [`boundary`] of the run.
pub fn name(work_tree: PathBuf) {
    let _ = NAMED.set(work_tree);
}

/// Where every input root and output directory must resolve, as kustomize's load restrictor
/// keeps a kustomization to its root: the work tree named with `--repo`, else the work tree
/// that holds the current directory, else the current directory. Resolved, so that a link
/// cannot lead out of it.
pub fn boundary() -> io::Result<PathBuf> {
    if let Some(named) = NAMED.get() {
        return Ok(named.clone());
    }
    let cwd = fs::canonicalize(std::env::current_dir()?)?;
    Ok(work_tree(&cwd).map_or(cwd, |r| r.work_tree))
}

/// Whether `dir` looks like a git repository: it holds a `.git`, or it is a bare repository
/// (`HEAD`, `objects/` and `refs/`), as git would take it when run from inside it.
pub fn looks_like_repository(dir: &Path) -> bool {
    let is = |name: &str, dir_wanted: bool| {
        fs::symlink_metadata(dir.join(name))
            .is_ok_and(|m| if dir_wanted { m.is_dir() } else { m.is_file() })
    };
    fs::symlink_metadata(dir.join(".git")).is_ok()
        || is("HEAD", false) && is("objects", true) && is("refs", true)
}

/// The configuration and environment every git command kotalc runs gets. Each `-c` comes
/// after the repository's own config, so it wins; what git reads from the environment is
/// set here, and any other `GIT_*` variable the caller has is removed.
const SETTINGS: &[&str] = &[
    // Only a bare repository named with --git-dir, never one found by searching.
    "safe.bareRepository=explicit",
    // Reading the index can start a monitor program; kotalc never needs the index.
    "core.fsmonitor=false",
    // No hook runs: none of these commands has hooks, and none could be found.
    "core.hooksPath=/dev/null",
    // No transport at all: a fetch of a missing object (a partial clone's promisor remote,
    // whose `uploadpack` or `sshCommand` would run) is refused before anything runs.
    "protocol.allow=never",
    "core.sshCommand=false",
    "credential.helper=",
    // No pager.
    "core.pager=cat",
    // Nothing written in the background.
    "gc.auto=0",
    "maintenance.auto=false",
];

/// Environment variables git reads; set so that neither the machine's nor the user's
/// config, nor a lazy fetch, nor a replacement of objects, plays a part.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("GIT_NO_LAZY_FETCH", "1"),
    ("GIT_NO_REPLACE_OBJECTS", "1"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_TERMINAL_PROMPT", "0"),
    ("GIT_PAGER", "cat"),
    ("PAGER", "cat"),
    ("GIT_OPTIONAL_LOCKS", "0"),
    ("GIT_PROTOCOL_FROM_USER", "0"),
    ("LC_ALL", "C"),
];

impl Repository {
    /// `git` on this repository alone: its directories given explicitly, every setting that
    /// could run a program off, no pager. The caller adds the subcommand.
    pub fn git(&self) -> Command {
        let mut command = Command::new("git");
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GIT_") {
                command.env_remove(name);
            }
        }
        command.envs(ENVIRONMENT.iter().copied());
        command
            .arg("--no-pager")
            .arg("--no-replace-objects")
            .arg(option("--git-dir=", &self.git_dir))
            .arg(option("--work-tree=", &self.work_tree));
        for setting in SETTINGS {
            command.arg("-c").arg(setting);
        }
        command.current_dir(&self.work_tree);
        command
    }
}

/// `--name=PATH`, the path's bytes as they are.
fn option(name: &str, path: &Path) -> std::ffi::OsString {
    let mut option = std::ffi::OsString::from(name);
    option.push(path);
    option
}
