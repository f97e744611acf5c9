use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A kotalc invocation, built as a `Command` is: `Kotalc::new().args([..]).current_dir(dir)
/// .stdin(..).run()`. Colour is left to kotalc's own choice (`NO_COLOR` removed), and stdin
/// is empty unless given.
pub struct Kotalc {
    command: Command,
    stdin: Option<Vec<u8>>,
}

impl Kotalc {
    pub fn new() -> Self {
        let mut command = Command::new(Self::bin());
        command.env_remove("NO_COLOR");
        Kotalc {
            command,
            stdin: None,
        }
    }

    /// The binary under test.
    pub fn bin() -> &'static Path {
        Path::new(env!("CARGO_BIN_EXE_kotalc"))
    }

    /// The directory holding the binary under test, to put first on a `PATH`.
    pub fn bin_dir() -> PathBuf {
        Self::bin()
            .parent()
            .expect("kotalc's directory")
            .to_path_buf()
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.command.args(args);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.command.envs(vars);
        self
    }

    pub fn env_clear(mut self) -> Self {
        self.command.env_clear();
        self
    }

    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.stdin = Some(bytes.as_ref().to_vec());
        self
    }

    /// The command itself, for a test that drives the process (spawns, kills) on its own.
    pub fn command(self) -> Command {
        self.command
    }

    /// Runs kotalc to its end (see `finish`).
    pub fn run(self) -> Run {
        let shown = shown(&self.command);
        let Finished {
            output,
            peak_rss_bytes,
        } = finish(self.command, self.stdin);
        Run {
            output,
            peak_rss_bytes,
            shown,
        }
    }
}

/// `kotalc ARGS` run in `dir`: the shorthand for the most common invocation.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    Kotalc::new().current_dir(dir).args(args).run()
}

/// A finished run of kotalc (or of another program, `Run::of`). Its checks chain, and a
/// failing one shows the command, the exit code, and all that the program printed.
pub struct Run {
    pub output: Output,
    /// The peak resident memory of kotalc's process (see `finish`); 0 after `Run::of`.
    pub peak_rss_bytes: u64,
    shown: String,
}

impl std::ops::Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.output
    }
}

impl Run {
    /// Runs another program (git, kpt, kubectl, a shell) to its end, for the same checks;
    /// `runs` says what failed to start, naming what provides the program.
    #[track_caller]
    pub fn of(command: &mut Command, runs: &str) -> Run {
        let shown = shown(command);
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("{runs}: {e}\ncommand: {shown}"));
        Run {
            output,
            peak_rss_bytes: 0,
            shown,
        }
    }

    /// `Run::of`, feeding `stdin` to the program.
    #[track_caller]
    pub fn feeding(command: &mut Command, stdin: &[u8], runs: &str) -> Run {
        use std::io::Write;
        use std::process::Stdio;
        let shown = shown(command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{runs}: {e}\ncommand: {shown}"));
        let mut input = child.stdin.take().expect("stdin");
        let bytes = stdin.to_vec();
        // A thread, so that a program writing before it has read all cannot block on a full pipe.
        let feeder = std::thread::spawn(move || {
            let _ = input.write_all(&bytes);
        });
        let output = child.wait_with_output().expect("the program ends");
        let _ = feeder.join();
        Run {
            output,
            peak_rss_bytes: 0,
            shown,
        }
    }

    pub fn stdout(&self) -> String {
        text(&self.output.stdout)
    }

    pub fn stderr(&self) -> String {
        text(&self.output.stderr)
    }

    /// Fails unless kotalc exited with `code`.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        self.holds(
            self.output.status.code() == Some(code),
            format_args!("expected exit code {code}"),
        )
    }

    /// Fails unless kotalc exited with 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    /// Fails unless the program failed: a non-zero exit, or killed by a signal.
    #[track_caller]
    pub fn fails(&self) -> &Self {
        self.holds(!self.output.status.success(), "expected a failure")
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: impl AsRef<str>) -> &Self {
        let needle = needle.as_ref();
        self.holds(
            self.stdout().contains(needle),
            format_args!("stdout lacks {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: impl AsRef<str>) -> &Self {
        let needle = needle.as_ref();
        self.holds(
            !self.stdout().contains(needle),
            format_args!("stdout has {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: impl AsRef<str>) -> &Self {
        let needle = needle.as_ref();
        self.holds(
            self.stderr().contains(needle),
            format_args!("stderr lacks {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: impl AsRef<str>) -> &Self {
        let needle = needle.as_ref();
        self.holds(
            !self.stderr().contains(needle),
            format_args!("stderr has {needle:?}"),
        )
    }

    /// Fails, saying `what` was expected, unless `condition` holds.
    #[track_caller]
    pub fn holds(&self, condition: bool, what: impl std::fmt::Display) -> &Self {
        assert!(
            condition,
            "{what}\ncommand: {}\nexit code: {:?}\nstdout:\n{}\nstderr:\n{}",
            self.shown,
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// A failing check shows what ran and all it printed, so that no test needs its own message.
#[test]
fn a_failing_check_shows_the_command_its_exit_code_and_all_it_printed() {
    let run = Kotalc::new()
        .args(["build", "--no-such-flag"])
        .current_dir(root())
        .run();
    let failure = std::panic::catch_unwind(|| {
        run.code(0);
    })
    .expect_err("kotalc exits 2 on a usage error");
    let message = failure
        .downcast_ref::<String>()
        .expect("a formatted message");
    for part in [
        "expected exit code 0\n",
        &format!("command: (in {}) ", root().display()),
        "kotalc \"build\" \"--no-such-flag\"\n",
        "exit code: Some(2)\nstdout:\n\nstderr:\n",
        "--no-such-flag",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
}

/// A command as a shell would show it, with its directory and the environment it sets.
fn shown(command: &Command) -> String {
    let mut shown = String::new();
    if let Some(dir) = command.get_current_dir() {
        shown.push_str(&format!("(in {}) ", dir.display()));
    }
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            shown.push_str(&format!(
                "{}={:?} ",
                name.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    let program = Path::new(command.get_program());
    shown.push_str(&program.file_name().unwrap_or_default().to_string_lossy());
    for arg in command.get_args() {
        shown.push_str(&format!(" {:?}", arg.to_string_lossy()));
    }
    shown
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory under the target directory, removed first if a previous run left it.
/// git as a person runs it in `dir`, whatever the machine's configuration: a committer
/// identity, and commits unsigned.
pub fn git(dir: &Path) -> Command {
    let mut git = Command::new("git");
    git.args([
        "-c",
        "user.name=kotalc",
        "-c",
        "user.email=kotalc@example.invalid",
    ])
    .args(["-c", "commit.gpgsign=false"])
    .current_dir(dir);
    git
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target").join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Every YAML file directly in `dir`, parsed, by file name.
pub fn yaml_files(dir: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut objects = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the directory") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            let object = serde_saphyr::from_str(&text).expect("YAML");
            objects.insert(name, object);
        }
    }
    objects
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

/// kubectl (with its built-in kustomize) must be installed: a test needing it fails, naming
/// how to install it, rather than pass by skipping.
pub fn require_kubectl() {
    require(
        "kubectl",
        &["version", "--client"],
        "the `kubectl` package of the Kubernetes apt repository, or the binary from its release",
    );
}

/// kpt must be installed, like kubectl.
pub fn require_kpt() {
    require(
        "kpt",
        &["version"],
        "the `google-cloud-cli-kpt` package of the Google Cloud CLI apt repository, or the \
         binary from kpt's release",
    );
}

/// Fails the test, naming how to install `program`, unless it runs.
fn require(program: &str, args: &[&str], install: &str) {
    let found = std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{program} is missing: install {install}");
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

/// How long a command may run before the test calls it hung: far above any run's normal time
/// on a slow, busy machine, so that it only ever turns a hang into a failure.
pub const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// A finished command: its output, and the peak resident memory of its process.
pub struct Finished {
    pub output: Output,
    pub peak_rss_bytes: u64,
}

/// Runs `command` to its end, feeding `stdin`, and reads its peak resident memory from the
/// kernel's accounting of that one process (`wait4`). Fails the test only on a hang
/// (`HANG_GUARD`) or a panic.
// The child is reaped by wait4 itself, which std's wait cannot report the usage of.
#[allow(clippy::zombie_processes)]
pub fn finish(mut command: Command, stdin: Option<Vec<u8>>) -> Finished {
    use std::io::{Read, Write};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    fn read_all(mut stream: impl Read) -> Vec<u8> {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        bytes
    }
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command runs");
    let feeder = stdin.map(|bytes| {
        let mut input = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            let _ = input.write_all(&bytes);
        })
    });
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let read_out = std::thread::spawn(move || read_all(stdout));
    let read_err = std::thread::spawn(move || read_all(stderr));
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let started = std::time::Instant::now();
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: wait4 writes only into the two locals it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break (std::process::ExitStatus::from_raw(status), usage);
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("hung: still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let output = Output {
        status,
        stdout: read_out.join().expect("stdout"),
        stderr: read_err.join().expect("stderr"),
    };
    assert!(
        !text(&output.stderr).contains("panicked"),
        "{}",
        text(&output.stderr)
    );
    Finished {
        output,
        // Linux counts ru_maxrss in KiB.
        peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    }
}
