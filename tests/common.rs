use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn kotalc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kotalc"))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    kotalc()
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("kotalc runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory under the target directory, removed first if a previous run left it.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target").join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

pub fn run_with_stdin(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = kotalc()
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kotalc runs");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin).expect("stdin");
    }
    child.wait_with_output().expect("kotalc ends")
}

/// Copies a tree, as a user copies an example.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let target = to.join(entry.path().strip_prefix(from).expect("prefix"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Whether kubectl is installed; on CI it must be.
pub fn kubectl_available() -> bool {
    available("kubectl", &["version", "--client"])
}

/// Whether `program` runs; a tool that every machine has must be there in CI, so that a test
/// needing it can never pass by skipping.
pub fn available(program: &str, args: &[&str]) -> bool {
    let found = std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{program} is on every machine, CI's too"
    );
    found
}

/// The cache that `tests/tools/build.sh` builds the real programs into.
pub fn tools_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("KOTALC_TOOLS") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
    cache.join("kotalc-tools")
}

/// A real program built by `tests/tools/build.sh`, e.g. `real_program("kubo-v0.28.0", "ipfs")`.
/// Missing, it fails the test with the command that builds it: a test never passes by skipping.
pub fn real_program(dir: &str, binary: &str) -> PathBuf {
    let path = tools_cache().join(dir).join(binary);
    assert!(
        path.is_file(),
        "{} is missing: build it with `tests/tools/build.sh` (or run the tests with `tests/run`)",
        path.display()
    );
    path
}

/// A program from Debian's packages that a test needs; missing, the test fails naming the
/// package that provides it.
pub fn debian_program(program: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{program} is missing: `apt-get install {package}` (or run the tests with `tests/run`)"
        )
    })
}
