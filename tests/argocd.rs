//! Argo CD runs kotalc: the real argocd-cmp-server with `examples/argocd/plugin.yaml`, driven
//! by Argo CD's own repo-server code (`tests/tools/argo-cd-v3.6.2/kotalc-cmp-client`: plugin
//! discovery, the application's files streamed as the repo server streams them, the
//! Application's plugin env and parameters turned into variables by Argo CD's types). Each runs
//! in a network namespace of its own with no interface up; they talk over a unix socket.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value as J;

use crate::apiserver::alive;
use crate::common::{Kotalc, Run, copy_tree, real_program, root, scratch, text};

const RELEASE: &str = "argo-cd-v3.6.2";
const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";

struct Plugin {
    sockets: PathBuf,
    log: PathBuf,
    pid: u32,
}

static PLUGIN: OnceLock<Result<Plugin, String>> = OnceLock::new();

/// The cmp server with the example's plugin configuration, as the sidecar runs it: kotalc on
/// its PATH, its socket in the plugins directory the repo server reads.
fn plugin() -> &'static Plugin {
    match PLUGIN.get_or_init(start) {
        Ok(plugin) => plugin,
        Err(problem) => panic!("{problem}"),
    }
}

fn start() -> Result<Plugin, String> {
    let program = real_program(RELEASE, "argocd-cmp-server");
    let dir = scratch("argocd-cmp-server");
    let (config, sockets, work) = (dir.join("config"), dir.join("plugins"), dir.join("work"));
    for d in [&config, &sockets, &work] {
        fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    fs::copy(
        root().join("examples/argocd/plugin.yaml"),
        config.join("plugin.yaml"),
    )
    .map_err(|e| e.to_string())?;
    let bin = Kotalc::bin_dir().display().to_string();
    let log = dir.join("cmp-server.log");
    let args: Vec<String> = vec![
        format!("PATH={bin}:/usr/local/bin:/usr/bin:/bin"),
        format!("ARGOCD_PLUGINSOCKFILEPATH={}", sockets.display()),
        format!("ARGOCD_CMP_WORKDIR={}", work.display()),
        program.display().to_string(),
        format!("--config-dir-path={}", config.display()),
        "--logformat=text".into(),
    ];
    // The server dies with the thread that started it (PR_SET_PDEATHSIG): a thread that lives
    // as long as the test binary starts it.
    let (tx, rx) = std::sync::mpsc::channel();
    let log_path = log.clone();
    std::thread::spawn(move || {
        let started = fs::File::create(&log_path)
            .and_then(|out| Ok((out.try_clone()?, out)))
            .and_then(|(out, err)| {
                Command::new("setpriv")
                    .args(["--pdeathsig", "KILL", "--", "unshare", "-n", "env"])
                    .args(&args)
                    .stdout(out)
                    .stderr(err)
                    .spawn()
            })
            .map_err(|e| format!("argocd-cmp-server: {e}"));
        let ok = started.is_ok();
        let _ = tx.send(started.map(|child| {
            let pid = child.id();
            std::mem::forget(child);
            pid
        }));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    let pid = rx
        .recv()
        .map_err(|_| "the cmp server's thread ended".to_string())??;
    let plugin = Plugin { sockets, log, pid };
    let start = Instant::now();
    while !plugin.sockets.join("kotalc-v1.sock").exists() {
        if !alive(pid) || start.elapsed() > Duration::from_secs(600) {
            return Err(format!("the cmp server never listened{}", plugin.log()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(plugin)
}

impl Plugin {
    fn log(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "\n--- {} (last lines) ---\n{}",
            self.log.display(),
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    }

    /// The client, as the repo server: `generate`, `parameters` or `discover`.
    fn client(&self, args: &[&str]) -> Run {
        let out = Run::of(
            Command::new("unshare")
                .arg("-n")
                .arg(real_program(RELEASE, "kotalc-cmp-client"))
                .args(args)
                .env("ARGOCD_PLUGINSOCKFILEPATH", &self.sockets),
            "the client runs",
        );
        assert!(alive(self.pid), "the cmp server exited{}", self.log());
        out
    }
}

/// A git repository's files as the repo server checks them out: the examples' inputs at
/// `ipfs/`, the Application's path.
fn example_repository(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    copy_tree(&root().join("examples/ipfs"), &repo.join("ipfs"));
    repo
}

fn application(dir: &Path, edit: impl FnOnce(&str) -> String) -> PathBuf {
    let app = fs::read_to_string(root().join("examples/argocd/application.yaml")).expect("read");
    let file = dir.join("application.yaml");
    fs::write(&file, edit(&app)).expect("write");
    file
}

fn lines(out: &Output) -> Vec<J> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one object per line"))
        .collect()
}

#[test]
fn argo_cd_renders_the_example_application_as_kotalc_build_does() {
    let plugin = plugin();
    let dir = scratch("argocd-generate");
    let repo = example_repository(&dir);
    let app = application(&dir, str::to_string);
    let out = plugin.client(&[
        "generate",
        &app.to_string_lossy(),
        &repo.to_string_lossy(),
        REVISION,
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stderr),
        plugin.log()
    );
    let argocd = lines(&out);
    // The same files, built by hand with the Application's options: the destination
    // namespace as the default, warnings denied.
    let local = Kotalc::new()
        .args(["build", "--deny-warnings", "-n", "ipfs", "ipfs"])
        .current_dir(&repo)
        .run();
    local.success();
    let built: Vec<J> = serde_saphyr::from_multiple(&text(&local.stdout)).expect("YAML");
    assert!(built.len() > 10, "{built:?}");
    assert_eq!(
        argocd, built,
        "Argo CD's manifests are kotalc build's, in order"
    );

    // A parameter set in the Application reaches kotalc through Argo CD's variables.
    let app = application(&dir, |a| {
        a.replace(
            "      env:\n",
            "      parameters:\n        - name: network-policies\n          string: \"false\"\n      env:\n",
        )
    });
    let out = plugin.client(&[
        "generate",
        &app.to_string_lossy(),
        &repo.to_string_lossy(),
        REVISION,
    ]);
    out.success();
    let without = lines(&out);
    let policies = |objects: &[J]| {
        objects
            .iter()
            .filter(|o| o["kind"] == "NetworkPolicy")
            .count()
    };
    assert!(policies(&argocd) > 0);
    assert_eq!(policies(&without), 0);
    assert_eq!(without.len(), argocd.len() - policies(&argocd));
}

#[test]
fn argo_cd_shows_kotalc_s_error_text() {
    let plugin = plugin();
    let dir = scratch("argocd-error");
    let repo = example_repository(&dir);
    fs::write(
        repo.join("ipfs/peers/broken.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: broken\n  \
         namespace: ipfs\nspec:\n  routing: sideways\n",
    )
    .expect("write");
    let app = application(&dir, str::to_string);
    let out = plugin.client(&[
        "generate",
        &app.to_string_lossy(),
        &repo.to_string_lossy(),
        REVISION,
    ]);
    out.code(1);
    assert!(out.stdout.is_empty());
    let shown = text(&out.stderr);
    // What kotalc prints for the same files, run as the plugin runs it.
    let local = Kotalc::new()
        .args(["build", "--argocd", "."])
        .current_dir(repo.join("ipfs"))
        .env("ARGOCD_APP_NAMESPACE", "ipfs")
        .env("ARGOCD_ENV_KOTALC_DENY_WARNINGS", "true")
        .run();
    local.code(1);
    let stderr = text(&local.stderr);
    assert!(
        stderr.contains("peers/broken.yaml:7:12"),
        "the error names file, line and column: {stderr}"
    );
    assert!(
        shown.starts_with("error generating manifests in cmp: ")
            && shown.contains("`kotalc build --argocd .` failed exit status 1: ")
            && shown.contains(stderr.trim()),
        "Argo CD shows kotalc's stderr whole:\n{shown}\nkotalc:\n{stderr}"
    );
}

#[test]
fn argo_cd_discovers_the_plugin_for_kotal_resources_only() {
    let plugin = plugin();
    let dir = scratch("argocd-discover");
    let repo = example_repository(&dir);
    let found = plugin.client(&["discover", &repo.to_string_lossy(), "ipfs"]);
    assert!(
        found.status.success(),
        "the example repository: {}{}",
        text(&found.stderr),
        plugin.log()
    );
    assert_eq!(text(&found.stdout), "found: discovery true\n");

    // Other applications' sources: kotalc's own rendered tree, plain manifests, a Helm
    // chart, a kustomization, Kotal's apiVersion only in a comment or a README.
    let rendered = Kotalc::new()
        .args(["build", "ipfs", "-o", "rendered"])
        .current_dir(&repo)
        .run();
    rendered.success();
    let write = |path: &str, body: &str| {
        let file = repo.join(path);
        fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        fs::write(file, body).expect("write");
    };
    write(
        "plain/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    );
    write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    write(
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    );
    write(
        "kustomize/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../plain\n",
    );
    write(
        "commented/peer.yaml",
        "# apiVersion: ipfs.kotal.io/v1alpha1\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    );
    write("docs/README.md", "apiVersion: ipfs.kotal.io/v1alpha1\n");
    for path in [
        "rendered",
        "plain",
        "chart",
        "kustomize",
        "commented",
        "docs",
    ] {
        let out = plugin.client(&["discover", &repo.to_string_lossy(), path]);
        assert!(
            !out.status.success(),
            "{path} must not use the plugin: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains("could not find plugin supporting the given repository"),
            "{path}: {}{}",
            text(&out.stderr),
            plugin.log()
        );
    }
}

#[test]
fn argo_cd_announces_exactly_the_options_kotalc_reads() {
    let plugin = plugin();
    let dir = scratch("argocd-parameters");
    let repo = example_repository(&dir);
    let app = application(&dir, str::to_string);
    let out = plugin.client(&[
        "parameters",
        &app.to_string_lossy(),
        &repo.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stderr),
        plugin.log()
    );
    let announced: Vec<J> = serde_json::from_slice(&out.stdout).expect("JSON");
    // Argo CD passes parameter NAME as PARAM_<NAME upper-cased, other characters as _>.
    let names: BTreeSet<String> = announced
        .iter()
        .map(|p| {
            p["name"]
                .as_str()
                .expect("name")
                .to_uppercase()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .collect();
    // What kotalc reads, from kotalc itself: an unknown option's error lists them.
    let out = Kotalc::new()
        .args(["build", "--argocd", "."])
        .current_dir(&repo)
        .env("ARGOCD_ENV_KOTALC_NO_SUCH_OPTION", "1")
        .run();
    let stderr = text(&out.stderr);
    let known: BTreeSet<String> = stderr
        .split("kotalc knows ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("the list of options")
        .trim()
        .split(", ")
        .map(|o| o.trim_start_matches("KOTALC_").to_string())
        .collect();
    assert_eq!(names, known, "announced {announced:?}");
    for parameter in &announced {
        assert!(
            parameter["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{parameter}"
        );
    }
}
