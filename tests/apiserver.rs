//! A real Kubernetes API server for the tests: etcd and kube-apiserver (and, for the tests
//! that orphan objects, the garbage collector of kube-controller-manager), in a network
//! namespace of their own with only loopback up. One server per run of the test binary,
//! started by the first test that asks for it; each test works in namespaces of its own.
//! kubectl reaches it from inside the same network namespace.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{Kotalc, Run, debian_program, real_program, root, text};

const VERSION: &str = "v1.33.13";
const TOKEN: &str = "kotalc-test-admin-token";
/// A hang guard, far above the few seconds the server takes.
const READY_BOUND: Duration = Duration::from_secs(600);

pub struct Server {
    /// The process that holds the network namespace; every program runs inside it.
    holder: u32,
    /// The programs' pids, by name, to notice one that exited.
    programs: Vec<(&'static str, u32)>,
    dir: PathBuf,
    garbage_collector: OnceLock<Result<(), String>>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The shared server, started on first use. Missing programs fail the test with the command
/// that provides them; a server that does not come up fails it with both logs.
pub fn server() -> &'static Server {
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(problem) => panic!("{problem}"),
    }
}

struct Programs {
    apiserver: PathBuf,
    etcd: PathBuf,
}

fn start() -> Result<Server, String> {
    let programs = Programs {
        apiserver: real_program(&format!("kube-apiserver-{VERSION}"), "kube-apiserver"),
        etcd: debian_program("etcd", "etcd-server"),
    };
    debian_program("openssl", "openssl");
    debian_program("setpriv", "util-linux");
    debian_program("nsenter", "util-linux");
    let dir = root().join("target").join("test-scratch").join("apiserver");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    certificates(&dir)?;
    // The children die with the thread that started them (PR_SET_PDEATHSIG): a thread that
    // lives as long as the test binary starts them, so that nothing outlives the run.
    let (tx, rx) = std::sync::mpsc::channel();
    let spawn_dir = dir.clone();
    std::thread::spawn(move || {
        let started = spawn_all(&spawn_dir, &programs);
        let failed = started.is_err();
        let _ = tx.send(started);
        if !failed {
            loop {
                std::thread::park();
            }
        }
    });
    let (holder, programs) = rx
        .recv()
        .map_err(|_| "the server's thread ended".to_string())??;
    let server = Server {
        holder,
        programs,
        dir,
        garbage_collector: OnceLock::new(),
    };
    server.wait_ready()?;
    // The Kotal, sealed-secrets and external-secrets CRDs, and those of the opt-in objects
    // (PodMonitor, HTTPRoute) from their Go modules.
    let opt_in = crate::common::tools_cache().join("crds-v1");
    if !opt_in.join("done").is_file() {
        return Err(format!(
            "{} is missing: build it with `tests/tools/build.sh` (or run the tests with `tests/run`)",
            opt_in.display()
        ));
    }
    for crds in [root().join("tests/data/crds"), opt_in] {
        let out = server.kubectl(&["apply", "--server-side", "-f", &crds.to_string_lossy()]);
        if !out.status.success() {
            return Err(format!(
                "the CRDs of {} are refused:\n{}{}",
                crds.display(),
                text(&out.stdout),
                text(&out.stderr)
            ));
        }
    }
    let out = server.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
        "--timeout=600s",
    ]);
    if !out.status.success() {
        return Err(format!(
            "the CRDs never became established:\n{}",
            text(&out.stderr)
        ));
    }
    Ok(server)
}

/// A CA, the API server's certificate for 127.0.0.1, the service-account key, a static token
/// for an administrator, and a kubeconfig that uses them.
fn certificates(dir: &Path) -> Result<(), String> {
    let openssl = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("openssl {}: {}", args.join(" "), text(&out.stderr)))
        }
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "3650",
        "-subj",
        "/CN=kotalc-test-ca",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=kube-apiserver",
    ])?;
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "3650",
        "-extfile",
        "san.ext",
    ])?;
    openssl(&["genrsa", "-out", "sa.key", "2048"])?;
    openssl(&["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"])?;
    let write = |name: &str, content: String| {
        std::fs::write(dir.join(name), content).map_err(|e| format!("{name}: {e}"))
    };
    write(
        "tokens.csv",
        format!("{TOKEN},admin,admin,system:masters\n"),
    )?;
    write(
        "kubeconfig",
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    \
             server: https://127.0.0.1:6443\n    certificate-authority: {ca}\n\
             users:\n- name: admin\n  user:\n    token: {TOKEN}\n\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n\
             current-context: test\n",
            ca = dir.join("ca.crt").display()
        ),
    )
}

/// A command that runs inside the network namespace and dies with the thread that spawns it.
fn inside(holder: u32, program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--pdeathsig", "KILL", "--", "nsenter", "-t"])
        .arg(holder.to_string())
        .arg("-n")
        .arg(program);
    command
}

fn log_file(dir: &Path, name: &str) -> Result<Stdio, String> {
    std::fs::File::create(dir.join(name))
        .map(Stdio::from)
        .map_err(|e| format!("{name}: {e}"))
}

type Pids = (u32, Vec<(&'static str, u32)>);

/// Starts the namespace holder, etcd and kube-apiserver; returns their pids. Run on the
/// thread that outlives them.
fn spawn_all(dir: &Path, programs: &Programs) -> Result<Pids, String> {
    // `unshare -n` execs the shell, which execs sleep: the child's pid is in the namespace.
    let mut holder = Command::new("setpriv")
        .args([
            "--pdeathsig",
            "KILL",
            "--",
            "unshare",
            "-n",
            "sh",
            "-c",
            "ip link set lo up && echo up && exec sleep infinity",
        ])
        .stdout(Stdio::piped())
        .stderr(log_file(dir, "netns.log")?)
        .spawn()
        .map_err(|e| format!("unshare -n: {e}"))?;
    let mut line = String::new();
    if let Some(out) = holder.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    if line.trim() != "up" {
        let _ = holder.kill();
        return Err(format!(
            "cannot make a network namespace with loopback up (`unshare -n`, root needed): {}",
            std::fs::read_to_string(dir.join("netns.log")).unwrap_or_default()
        ));
    }
    let pid = holder.id();
    std::mem::forget(holder);
    let etcd_data = dir.join("etcd");
    let etcd = inside(pid, &programs.etcd)
        .arg("--name=test")
        .arg(format!("--data-dir={}", etcd_data.display()))
        .args([
            "--listen-client-urls=http://127.0.0.1:2379",
            "--advertise-client-urls=http://127.0.0.1:2379",
            "--listen-peer-urls=http://127.0.0.1:2380",
            "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            "--initial-cluster=test=http://127.0.0.1:2380",
            "--listen-metrics-urls=http://127.0.0.1:2381",
            "--quota-backend-bytes=1073741824",
        ])
        .stdout(log_file(dir, "etcd.log")?)
        .stderr(log_file(dir, "etcd.log.err")?)
        .spawn()
        .map_err(|e| format!("etcd: {e}"))?;
    let etcd_pid = etcd.id();
    std::mem::forget(etcd);
    let path = |name: &str| dir.join(name).display().to_string();
    let apiserver = inside(pid, &programs.apiserver)
        .args([
            "--etcd-servers=http://127.0.0.1:2379",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--secure-port=6443",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--service-account-issuer=https://kubernetes.default.svc",
        ])
        .arg(format!("--cert-dir={}", path("certs")))
        .arg(format!("--tls-cert-file={}", path("server.crt")))
        .arg(format!("--tls-private-key-file={}", path("server.key")))
        .arg(format!("--client-ca-file={}", path("ca.crt")))
        .arg(format!("--token-auth-file={}", path("tokens.csv")))
        .arg(format!("--service-account-key-file={}", path("sa.pub")))
        .arg(format!(
            "--service-account-signing-key-file={}",
            path("sa.key")
        ))
        .stdout(log_file(dir, "kube-apiserver.log.out")?)
        .stderr(log_file(dir, "kube-apiserver.log")?)
        .spawn()
        .map_err(|e| format!("kube-apiserver: {e}"))?;
    let apiserver_pid = apiserver.id();
    std::mem::forget(apiserver);
    Ok((
        pid,
        vec![("etcd", etcd_pid), ("kube-apiserver", apiserver_pid)],
    ))
}

impl Server {
    /// kubectl against this server, from inside its network namespace.
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg("-t")
            .arg(self.holder.to_string())
            .args(["-n", "kubectl"])
            .args(args)
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .env("KUBECACHEDIR", self.dir.join("kube-cache"))
            .env_remove("KUBECTL_EXTERNAL_DIFF");
        command
    }

    /// A shell command line, as a user types it, inside the network namespace: kubectl
    /// reaches this server, and `kotalc` is the binary under test.
    pub fn shell(&self, command: &str, cwd: &Path) -> Run {
        let bin = Kotalc::bin_dir();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path));
        Run::of(
            Command::new("nsenter")
                .arg("-t")
                .arg(self.holder.to_string())
                .args(["-n", "sh", "-c", command])
                .current_dir(cwd)
                .env("PATH", std::env::join_paths(paths).expect("PATH"))
                .env("KUBECONFIG", self.dir.join("kubeconfig"))
                .env("KUBECACHEDIR", self.dir.join("kube-cache")),
            "sh runs",
        )
    }

    /// Any program inside the network namespace, with the kubeconfig that reaches this server.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg("-t")
            .arg(self.holder.to_string())
            .arg("-n")
            .arg(program)
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .env("KUBECACHEDIR", self.dir.join("kube-cache"));
        command
    }

    /// The kubeconfig of an administrator of this server.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// Starts a long-running program inside the network namespace, which dies with the test
    /// binary; stdout and stderr go to `log`. Returns its pid.
    pub fn spawn(&self, program: &Path, args: &[String], log: &Path) -> Result<u32, String> {
        let holder = self.holder;
        let (program, args, log) = (program.to_path_buf(), args.to_vec(), log.to_path_buf());
        let kubeconfig = self.kubeconfig();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let started = std::fs::File::create(&log)
                .and_then(|out| Ok((out.try_clone()?, out)))
                .map_err(|e| format!("{}: {e}", log.display()))
                .and_then(|(out, err)| {
                    inside(holder, &program)
                        .args(&args)
                        .env("KUBECONFIG", &kubeconfig)
                        .stdout(out)
                        .stderr(err)
                        .spawn()
                        .map_err(|e| format!("{}: {e}", program.display()))
                });
            let pid = started.as_ref().map(Child::id).ok();
            let _ = tx.send(started.map(|child| {
                let pid = child.id();
                std::mem::forget(child);
                pid
            }));
            if pid.is_some() {
                loop {
                    std::thread::park();
                }
            }
        });
        rx.recv()
            .map_err(|_| "the spawning thread ended".to_string())?
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_command(args).output().expect("kubectl runs")
    }

    pub fn kubectl_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        Run::feeding(&mut self.kubectl_command(args), input, "kubectl runs")
    }

    /// kubectl that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {} failed:\n{}{}{}",
            args.join(" "),
            text(&out.stdout),
            text(&out.stderr),
            self.logs()
        );
        text(&out.stdout)
    }

    /// A namespace for one test; each test names its own, so tests never share objects.
    pub fn namespace(&self, name: &str) -> String {
        let out = self.kubectl(&["create", "namespace", name]);
        assert!(
            out.status.success(),
            "namespace {name}: {}{}",
            text(&out.stderr),
            self.logs()
        );
        name.to_string()
    }

    /// The last lines of every program's log, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in [
            "etcd.log.err",
            "kube-apiserver.log",
            "kube-controller-manager.log",
        ] {
            let log = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            out.push_str(&format!(
                "\n--- {} (last {} lines) ---\n{}\n",
                self.dir.join(name).display(),
                tail.len(),
                tail.join("\n")
            ));
        }
        out
    }

    /// Waits for `/readyz`, failing early with the logs if a program has exited.
    fn wait_ready(&self) -> Result<(), String> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < READY_BOUND {
            let out = self.kubectl(&["get", "--raw", "/readyz"]);
            if out.status.success() {
                return Ok(());
            }
            last = text(&out.stderr);
            if let Some((name, _)) = self.programs.iter().find(|(_, pid)| !alive(*pid)) {
                last = format!("{name} exited. {last}");
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "kube-apiserver never became ready ({} s): {last}{}",
            start.elapsed().as_secs(),
            self.logs()
        ))
    }

    /// Starts kube-controller-manager's garbage collector, once: what orphans the objects of a
    /// resource deleted with `--cascade=orphan`. It discovers the custom resources when it
    /// starts, after the CRDs are established.
    pub fn garbage_collector(&self) {
        let started = self.garbage_collector.get_or_init(|| {
            let program = real_program(
                &format!("kube-controller-manager-{VERSION}"),
                "kube-controller-manager",
            );
            self.spawn_controller_manager(program)
        });
        if let Err(problem) = started {
            panic!("{problem}{}", self.logs());
        }
    }

    fn spawn_controller_manager(&self, program: PathBuf) -> Result<(), String> {
        let kubeconfig = self.dir.join("kubeconfig").display().to_string();
        let holder = self.holder;
        let dir = self.dir.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let started = log_file(&dir, "kube-controller-manager.log").and_then(|log| {
                inside(holder, &program)
                    .arg(format!("--kubeconfig={kubeconfig}"))
                    .args([
                        "--controllers=garbagecollector",
                        "--leader-elect=false",
                        "--secure-port=0",
                        "--use-service-account-credentials=false",
                    ])
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .map_err(|e| format!("kube-controller-manager: {e}"))
            });
            let ok = started.is_ok();
            let _ = tx.send(started.map(|child: Child| std::mem::forget(child)));
            if ok {
                loop {
                    std::thread::park();
                }
            }
        });
        rx.recv()
            .map_err(|_| "the controller manager's thread ended".to_string())?
    }
}

/// Whether a process still runs (an exited child stays a zombie: state Z).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}
