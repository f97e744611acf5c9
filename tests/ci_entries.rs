//! The CI entries, with the real tools: SARIF logs validated against the SARIF 2.1.0 schema,
//! Markdown read by GitHub's renderer (cmark-gfm), commits made through pre-commit with the
//! hooks, the Action's script run as a runner runs it and its action.yml validated against
//! SchemaStore's schema. The tools come from `tests/tools/ci-tools.sh` (PyPI and npm) and
//! Debian; a missing one fails the test, naming what provides it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as J;

use crate::common::{Kotalc, Run, root, run, scratch, text, tools_cache};
use crate::docs::{blocks, page};

/// A tool that `tests/tools/ci-tools.sh` installs.
fn ci_tool(dir: &str, file: &str) -> PathBuf {
    let path = tools_cache().join(dir).join(file);
    assert!(
        tools_cache().join(dir).join(".installed").is_file() && path.exists(),
        "{} is missing: install it with `tests/tools/ci-tools.sh` (or run the tests with \
         `tests/run`)",
        path.display()
    );
    path
}

fn sarif_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let path = ci_tool("sarif-2.1.0", "sarif-2.1.0.json");
    let schema: J = serde_json::from_slice(&fs::read(path).expect("the schema")).expect("JSON");
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler.enable_format_assertions();
    compiler
        .add_resource("sarif-2.1.0.json", schema)
        .expect("the schema loads");
    let index = compiler
        .compile("sarif-2.1.0.json", &mut schemas)
        .expect("the schema compiles");
    (schemas, index)
}

/// The fixture's command line with `--format FORMAT` in place of any format it has.
fn with_format(args: &[String], format: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for arg in args {
        if skip {
            skip = false;
            continue;
        }
        if arg == "--format" {
            skip = true;
            continue;
        }
        out.push(arg.clone());
    }
    out.push("--format".into());
    out.push(format.into());
    out
}

fn run_case(case: &Path, args: &[String]) -> Run {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    match fs::read(case.join("stdin.yaml")) {
        Ok(stdin) => Kotalc::new()
            .current_dir(case)
            .args(&argv)
            .stdin(&stdin)
            .run(),
        Err(_) => run(case, &argv),
    }
}

/// Every fixture with diagnostics, run with `--format sarif`: one log that the SARIF 2.1.0
/// schema accepts, holding as results exactly the diagnostics `--format json` prints, each
/// with its code's rule and that rule's help, the same bytes on a second run.
#[test]
fn sarif_logs_of_every_fixture_with_diagnostics_validate() {
    let (schemas, index) = sarif_schema();
    let mut validated = 0;
    for case in crate::golden::cases() {
        let args = crate::golden::args_of(&case);
        if !["build", "validate", "diff"].contains(&args[0].as_str()) {
            continue;
        }
        let json = run_case(&case, &with_format(&args, "json"));
        let diagnostics: Vec<J> = text(&json.stderr)
            .lines()
            .filter_map(|l| serde_json::from_str::<J>(l).ok())
            .filter(|d| d.get("code").is_some() && d["code"] != "diagnostics-capped")
            .collect();
        if diagnostics.is_empty() {
            continue;
        }
        let name = case.display().to_string();
        let sarif = run_case(&case, &with_format(&args, "sarif"));
        assert_eq!(json.status.code(), sarif.status.code(), "{name}");
        let log: J = serde_json::from_slice(&sarif.stderr).unwrap_or_else(|e| {
            panic!(
                "{name}: stderr is not one JSON log ({e}):\n{}",
                text(&sarif.stderr)
            )
        });
        if let Err(e) = schemas.validate(&log, index) {
            panic!("{name}: the log does not validate: {e:#}\n{log:#}");
        }
        let run = &log["runs"][0];
        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), diagnostics.len(), "{name}:\n{log:#}");
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        for (result, d) in results.iter().zip(&diagnostics) {
            assert_eq!(result["ruleId"], d["code"], "{name}");
            assert_eq!(result["level"], d["severity"], "{name}");
            let rule = &rules[result["ruleIndex"].as_u64().expect("ruleIndex") as usize];
            assert_eq!(rule["id"], d["code"], "{name}");
            assert!(
                !rule["help"]["text"].as_str().unwrap_or_default().is_empty(),
                "{name}: {rule}"
            );
            let location = &result["locations"][0]["physicalLocation"];
            if let Some(line) = d["line"].as_u64() {
                assert_eq!(location["region"]["startLine"], line, "{name}");
                assert_eq!(location["region"]["startColumn"], d["column"], "{name}");
            }
            // GitHub's code scanning refuses a whole log if one result has no file: one of the
            // run as a whole is located at the first input path.
            assert!(
                location["artifactLocation"]["uri"].is_string(),
                "{name}: {result}"
            );
        }
        let again = run_case(&case, &with_format(&args, "sarif"));
        assert_eq!(again.stderr, sarif.stderr, "{name}: not deterministic");
        validated += 1;
    }
    assert!(validated > 40, "only {validated} fixtures have diagnostics");
}

/// A field name written as a Markdown link, and a file name a URI must encode: the log still
/// validates, no message holds a link, and the path is percent-encoded.
#[test]
fn sarif_escapes_what_the_inputs_name() {
    let (schemas, index) = sarif_schema();
    let dir = scratch("ci-sarif-hostile");
    fs::create_dir_all(dir.join("in dir")).expect("mkdir");
    fs::write(
        dir.join("in dir/peer #1.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n  \
         \"[click](https://evil.example)\": 1\n",
    )
    .expect("write");
    let out = run(&dir, &["validate", "in dir", "--format", "sarif"]);
    out.code(1);
    let log: J = serde_json::from_slice(&out.stderr).expect("one JSON log");
    if let Err(e) = schemas.validate(&log, index) {
        panic!("{e:#}\n{log:#}");
    }
    let result = &log["runs"][0]["results"][0];
    let message = result["message"]["text"].as_str().expect("text");
    assert!(message.contains("\\[click\\](https"), "{message}");
    assert!(!message.contains("[click]"), "{message}");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "in%20dir/peer%20%231.yaml"
    );
}

const PEER: &str = "apiVersion: ipfs.kotal.io/v1alpha1
kind: Peer
metadata:
  name: gateway
  namespace: ipfs
spec:
  swarmKeySecretName: swarm-key
  resources:
    cpu: 500m
    storage: 50Gi
";

/// GitHub's Markdown (cmark-gfm, with HTML as GitHub passes `<details>`) of `markdown`.
fn github_html(markdown: &str) -> String {
    let cmark = crate::common::debian_program("cmark-gfm", "cmark-gfm");
    let out = Run::feeding(
        Command::new(cmark).args([
            "--unsafe",
            "-e",
            "autolink",
            "-e",
            "table",
            "-e",
            "strikethrough",
        ]),
        markdown.as_bytes(),
        "cmark-gfm runs",
    );
    out.success();
    text(&out.stdout)
}

/// The HTML less its `<code>` and `<pre>` elements, where GitHub links and mentions nothing.
fn outside_code(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<code") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("</code>") else {
            break;
        };
        rest = &rest[start + end + "</code>".len()..];
    }
    out.push_str(rest);
    out
}

/// Objects of a tree that a change to an export could hold: a name that is HTML, a link,
/// a mention and a code fence, and a changed object whose new lines close a fence and a
/// `<details>` and open tags. Rendered as GitHub renders it, the summary has one
/// `<details>` per changed object, no tag, link or mention from the inputs, and the payloads
/// as text.
#[test]
fn markdown_summary_renders_names_and_diffs_as_text() {
    let dir = scratch("ci-markdown-hostile");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(dir.join("ipfs/gateway.yaml"), PEER).expect("write");
    let built = run(&dir, &["build", "ipfs", "-o", "rendered"]);
    built.success();
    let cm = dir.join("rendered/ipfs/configmap-gateway.yaml");
    let hostile = "```\n</details>\n<img src=x onerror=alert(1)>\n[a](https://evil.example) @octo-org/team $x$";
    let mut config: J =
        serde_saphyr::from_str(&fs::read_to_string(&cm).expect("read")).expect("YAML");
    config["data"]["extra"] = J::from(hostile);
    fs::write(&cm, serde_saphyr::to_string(&config).expect("YAML")).expect("write");
    let name = "x</details><img src=x>`` ```[a](https://evil.example)@octo-org/team";
    fs::write(
        dir.join("rendered/ipfs/extra.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n  namespace: ipfs\n",
            serde_json::to_string(name).expect("JSON")
        ),
    )
    .expect("write");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against",
            "rendered",
            "--format",
            "markdown",
        ],
    );
    out.code(0);
    let markdown = text(&out.stdout);
    let html = github_html(&markdown);
    assert_eq!(html.matches("<details>").count(), 1, "{markdown}\n{html}");
    assert_eq!(html.matches("</details>").count(), 1, "{markdown}\n{html}");
    for forbidden in ["<img", "<a ", "<script"] {
        assert!(!html.contains(forbidden), "{forbidden} in:\n{html}");
    }
    // A mention outside code is broken by a zero-width space; code is never a mention.
    let prose = outside_code(&html);
    assert!(!prose.contains("@octo-org"), "{prose}");
    // The payloads are there, as text: the diff line inside the code block, the name too.
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(
        html.contains("x&lt;/details&gt;&lt;img src=x&gt;"),
        "{html}"
    );
    let block = &html[html.find("<pre>").expect("the diff")..html.find("</pre>").expect("end")];
    assert!(
        block.contains("-  extra: |-\n-    ```\n-    &lt;/details&gt;"),
        "{block}"
    );
}

/// Diagnostics as Markdown, of a field named as a link, an image, a mention and a code span,
/// in a file named as HTML: rendered as GitHub renders them, all of it is text.
#[test]
fn markdown_diagnostics_render_names_as_text() {
    let dir = scratch("ci-markdown-diagnostics");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(
        dir.join("ipfs/<b>x<i>.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n  \
         \"[a](https://evil.example) ![i](https://evil.example/i.png) <img src=x> @octo-org/team \
         `x` *b* $m$\": 1\n",
    )
    .expect("write");
    let out = run(&dir, &["validate", "ipfs", "--format", "markdown"]);
    out.code(1);
    let markdown = text(&out.stderr);
    out.stderr_has("- **error** `unknown-field` at ");
    let html = github_html(&markdown);
    for forbidden in ["<a ", "<img", "<b>", "<i>", "<em>", "<strong>b"] {
        assert!(!html.contains(forbidden), "{forbidden} in:\n{html}");
    }
    let prose = outside_code(&html);
    assert!(!prose.contains("@octo-org"), "{prose}");
    assert!(prose.contains("[a](https://evil.example)"), "{prose}");
    assert!(prose.contains("&lt;img src=x&gt;"), "{prose}");
}

/// No secret value of an export or of a rendered tree reaches the summary: not a Secret's
/// data, not a SealedSecret template's plaintext, not the copy in a last-applied annotation.
#[test]
fn markdown_summary_holds_no_secret_value() {
    let dir = scratch("ci-markdown-secrets");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(dir.join("ipfs/gateway.yaml"), PEER).expect("write");
    let built = run(&dir, &["build", "ipfs", "-o", "rendered"]);
    built.success();
    let plain = "s3cr3t-swarm-key-value";
    let encoded = "czNjcjN0LXN3YXJtLWtleS12YWx1ZQ==";
    let last_applied = format!("{{\"data\":{{\"token\":\"{encoded}\"}}}}");
    fs::write(
        dir.join("rendered/ipfs/secret-token.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: ipfs\n  \
             uid: 1\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: \
             {}\ndata:\n  token: {encoded}\nstringData:\n  plain: {plain}\n",
            serde_json::to_string(&last_applied).expect("JSON")
        ),
    )
    .expect("write");
    let sealed = dir.join("rendered/ipfs/sealedsecret-swarm-key.yaml");
    let mut object: J =
        serde_saphyr::from_str(&fs::read_to_string(&sealed).expect("a SealedSecret"))
            .expect("YAML");
    object["spec"]["template"]["stringData"] = serde_json::json!({ "swarm.key": plain });
    object["spec"]["template"]["data"] = serde_json::json!({ "other": encoded });
    fs::write(&sealed, serde_saphyr::to_string(&object).expect("YAML")).expect("write");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against",
            "rendered",
            "--format",
            "markdown",
        ],
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("`Secret ipfs/token`"), "{all}");
    assert!(all.contains("SealedSecret ipfs/swarm-key"), "{all}");
    assert!(
        all.contains("&lt;redacted&gt;") || all.contains("<redacted>"),
        "{all}"
    );
    for value in [plain, encoded, "czNjcjN0"] {
        assert!(!all.contains(value), "{value} in:\n{all}");
    }
}

/// A change too large for a comment: the summary stays within its limit, every object that
/// changed is shown or named, and the note says what was left out.
#[test]
fn markdown_summary_fits_a_comment_and_names_what_it_leaves_out() {
    let dir = scratch("ci-markdown-large");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    let peers = 150;
    let write = |cpu: &str| {
        for i in 0..peers {
            fs::write(
                dir.join(format!("ipfs/peer-{i:03}.yaml")),
                PEER.replace("gateway", &format!("peer-{i:03}"))
                    .replace("500m", cpu)
                    .replace("  swarmKeySecretName: swarm-key\n", ""),
            )
            .expect("write");
        }
    };
    write("500m");
    let args = ["--secret-mode", "none", "--no-network-policies"];
    let built = run(
        &dir,
        &["build", "ipfs", "-o", "rendered", args[0], args[1], args[2]],
    );
    built.success();
    write("600m");
    let out = run(
        &dir,
        &[
            "diff",
            "ipfs",
            "--against",
            "rendered",
            "--format",
            "markdown",
            args[0],
            args[1],
            args[2],
        ],
    );
    out.code(0);
    let markdown = text(&out.stdout);
    assert!(markdown.len() <= 60_000, "{} characters", markdown.len());
    let shown = markdown.matches("<details>").count();
    assert!(shown > 10 && shown < peers, "{shown} diffs shown");
    let note = &markdown[markdown
        .find("Left out to fit a comment")
        .expect("the note")..];
    assert!(
        note.contains(&format!("- {} objects' diffs: ", peers - shown)),
        "{note}"
    );
    assert!(
        note.contains(&format!("and {} more", peers - shown - 30)),
        "{note}"
    );
    for i in 0..peers {
        assert!(
            markdown.contains(&format!("`StatefulSet ipfs/peer-{i:03}`")),
            "peer-{i:03} is neither shown nor named"
        );
    }
    // The Markdown is well formed where it was cut: every <details> is closed.
    let html = github_html(&markdown);
    assert_eq!(html.matches("<details>").count(), shown);
    assert_eq!(html.matches("</details>").count(), shown);
}

fn git(dir: &Path, args: &[&str]) -> Run {
    Run::of(crate::common::git(dir).args(args), "git runs")
}

#[track_caller]
fn git_ok(dir: &Path, args: &[&str]) {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `PATH` with the kotalc under test first.
fn path_with_kotalc(more: &[&Path]) -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = vec![Kotalc::bin_dir()];
    dirs.extend(more.iter().map(|p| p.to_path_buf()));
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).expect("PATH")
}

/// The block of `lang` in docs/ci.md that holds `marker`.
fn docs_block(lang: &str, marker: &str) -> String {
    blocks(&page("ci.md"), lang)
        .into_iter()
        .find(|block| block.contains(marker))
        .unwrap_or_else(|| panic!("no {lang} block with {marker} in docs/ci.md"))
}

/// Commits through pre-commit with the hooks of `.pre-commit-hooks.yaml`, configured as the
/// docs/ci.md shows: a bad Peer fails the commit with kotalc's diagnostic, a good one passes, and
/// a rendered tree left stale fails until it is rebuilt. pre-commit would build kotalc with
/// cargo (`language: rust`); here the hooks run the kotalc under test from PATH
/// (`language: system`), everything else of them as shipped.
#[test]
fn pre_commit_hooks_fail_a_bad_commit_and_pass_a_good_one() {
    let pre_commit = ci_tool("pre-commit-4.7.0", "bin/pre-commit");
    let base = scratch("ci-pre-commit");
    let hooks = base.join("hooks");
    fs::create_dir_all(&hooks).expect("mkdir");
    // The hooks as shipped, by pre-commit's own check of a hooks repository's manifest.
    let manifest = Run::of(
        Command::new(&pre_commit)
            .arg("validate-manifest")
            .arg(root().join(".pre-commit-hooks.yaml")),
        "pre-commit runs",
    );
    manifest.success();
    let shipped = fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("the hooks");
    assert_eq!(
        shipped.matches("\n  language: rust\n").count(),
        2,
        "{shipped}"
    );
    fs::write(
        hooks.join(".pre-commit-hooks.yaml"),
        shipped.replace("\n  language: rust\n", "\n  language: system\n"),
    )
    .expect("write");
    git_ok(&hooks, &["init", "-q", "-b", "main"]);
    git_ok(&hooks, &["add", "."]);
    git_ok(&hooks, &["commit", "-q", "-m", "hooks"]);
    let rev = text(&git(&hooks, &["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_string();

    let repo = base.join("repo");
    fs::create_dir_all(repo.join("ipfs")).expect("mkdir");
    let config = docs_block("yaml", "kotalc-validate")
        .replace(
            "https://github.com/<owner>/kotalc",
            &hooks.display().to_string(),
        )
        .replace("v0.1.0", &rev);
    fs::write(repo.join(".pre-commit-config.yaml"), &config).expect("write");
    let valid = Run::of(
        Command::new(&pre_commit)
            .arg("validate-config")
            .arg(repo.join(".pre-commit-config.yaml")),
        "pre-commit runs",
    );
    valid.success();
    git_ok(&repo, &["init", "-q", "-b", "main"]);
    let path = path_with_kotalc(&[pre_commit.parent().expect("bin")]);
    // No network: the hooks' repository is a local one.
    let commit = |message: &str| -> Run {
        Run::of(
            Command::new("unshare")
                .args(["-n", "git", "commit", "-q", "-m", message])
                .current_dir(&repo)
                .env("PATH", &path)
                .env("PRE_COMMIT_HOME", base.join("cache"))
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com"),
            "git commit runs",
        )
    };
    let installed = Run::of(
        Command::new(&pre_commit)
            .arg("install")
            .current_dir(&repo)
            .env("PRE_COMMIT_HOME", base.join("cache")),
        "pre-commit runs",
    );
    installed.success();

    let peer = PEER.replace("  swarmKeySecretName: swarm-key\n", "");
    fs::write(repo.join("ipfs/gateway.yaml"), &peer).expect("write");
    let built = run(
        &repo,
        &["build", "ipfs/", "-o", "rendered/", "--deny-warnings"],
    );
    built.success();
    git_ok(&repo, &["add", "."]);
    let good = commit("good");
    assert!(
        good.status.success(),
        "a good Peer was refused:\n{}{}",
        text(&good.stdout),
        text(&good.stderr)
    );

    fs::write(
        repo.join("ipfs/bad.yaml"),
        peer.replace("gateway", "bad").replace("cpu:", "cpus:"),
    )
    .expect("write");
    git_ok(&repo, &["add", "ipfs/bad.yaml"]);
    let bad = commit("bad");
    let said = format!("{}{}", text(&bad.stdout), text(&bad.stderr));
    assert!(!bad.status.success(), "a bad Peer was committed:\n{said}");
    assert!(
        said.contains("error[unknown-field]: spec.resources.cpus"),
        "{said}"
    );
    assert!(said.contains("--> ipfs/bad.yaml:8:5"), "{said}");
    assert_eq!(
        text(&git(&repo, &["log", "--format=%s"]).stdout),
        "good\n",
        "the bad commit was made"
    );

    // Fixed, but the rendered tree not rebuilt: the build check fails, naming the file.
    fs::write(repo.join("ipfs/bad.yaml"), peer.replace("gateway", "bad")).expect("write");
    git_ok(&repo, &["add", "ipfs/bad.yaml"]);
    let stale = commit("stale");
    let said = format!("{}{}", text(&stale.stdout), text(&stale.stderr));
    assert!(
        !stale.status.success(),
        "a stale tree was committed:\n{said}"
    );
    assert!(
        said.contains("kotalc validate") && said.contains("Passed"),
        "{said}"
    );
    assert!(said.contains("error[stale-output]"), "{said}");
    assert!(
        said.contains("rendered/ipfs/statefulset-bad.yaml"),
        "{said}"
    );

    let built = run(&repo, &["build", "ipfs/", "-o", "rendered/"]);
    built.success();
    git_ok(&repo, &["add", "."]);
    let fixed = commit("fixed");
    fixed.success();
}

/// action.yml against SchemaStore's github-action schema, by action-validator; every input
/// documented, passed to the scripts, and in docs/ci.md's table.
#[test]
fn action_yml_validates_and_documents_every_input() {
    let validator = ci_tool(
        "action-validator-0.6.0",
        "node_modules/.bin/action-validator",
    );
    let out = Run::of(
        Command::new(&validator).arg(root().join("action.yml")),
        "action-validator runs",
    );
    out.success();
    // The workflow of docs/ci.md, as a workflow.
    let scratch = scratch("ci-action-workflow");
    let workflow = scratch.join(".github/workflows/kotalc.yaml");
    fs::create_dir_all(workflow.parent().expect("dir")).expect("mkdir");
    fs::write(&workflow, docs_block("yaml", "uses: <owner>/kotalc@v0.1.0")).expect("write");
    let out = Run::of(
        Command::new(&validator).arg(&workflow),
        "action-validator runs",
    );
    assert!(
        out.status.success(),
        "the workflow of docs/ci.md: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // A broken action is refused: the validator validates.
    let broken = scratch.join("broken/action.yml");
    fs::create_dir_all(broken.parent().expect("dir")).expect("mkdir");
    let action = fs::read_to_string(root().join("action.yml")).expect("action.yml");
    fs::write(
        &broken,
        action.replace("using: composite", "using: compose"),
    )
    .expect("write");
    let out = Run::of(Command::new(&validator).arg(&broken), "runs");
    assert!(!out.status.success(), "a broken action.yml passed");

    let parsed: J = serde_saphyr::from_str(&action).expect("YAML");
    let docs = page("ci.md");
    let inputs = parsed["inputs"].as_object().expect("inputs");
    assert!(inputs.len() >= 9, "{inputs:?}");
    for (name, input) in inputs {
        let description = input["description"].as_str().unwrap_or_default();
        assert!(description.len() > 20, "input {name} is not documented");
        assert!(
            action.contains(&format!("${{{{ inputs.{name} }}}}")),
            "input {name} is not used"
        );
        assert!(
            docs.contains(&format!("| `{name}` |")),
            "input {name} is not in docs/ci.md's table"
        );
    }
}

/// The Action's run step, run as a runner runs it: the environment it sets, a pull request's
/// repository with its base branch.
struct Runner {
    dir: PathBuf,
    summary: PathBuf,
    output: PathBuf,
}

impl Runner {
    fn new(name: &str) -> Runner {
        let dir = scratch(name);
        let repo = dir.join("repo");
        fs::create_dir_all(repo.join("ipfs")).expect("mkdir");
        fs::create_dir_all(dir.join("temp")).expect("mkdir");
        Runner {
            summary: dir.join("step_summary.md"),
            output: dir.join("output"),
            dir,
        }
    }

    fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }

    /// Runs action/run.sh with the inputs given as action.yml passes them.
    fn run(&self, inputs: &[(&str, &str)]) -> (Option<i32>, String) {
        let _ = fs::remove_file(&self.summary);
        let _ = fs::remove_file(&self.output);
        let mut command = Command::new("unshare");
        command
            // Run as the runner runs it: the file itself, by its mode and its #! line.
            .arg("-n")
            .arg(root().join("action/run.sh"))
            .current_dir(self.repo())
            .env("KOTALC", Kotalc::bin())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env("GITHUB_OUTPUT", &self.output)
            .env("GITHUB_BASE_REF", "main")
            .env("GITHUB_HEAD_REF", "change")
            .env("RUNNER_TEMP", self.dir.join("temp"));
        for (name, value) in inputs {
            command.env(name, value);
        }
        let out = command.output().expect("run.sh runs");
        (
            out.status.code(),
            format!("{}{}", text(&out.stdout), text(&out.stderr)),
        )
    }

    fn summary(&self) -> String {
        fs::read_to_string(&self.summary).unwrap_or_default()
    }

    fn outputs(&self) -> String {
        fs::read_to_string(&self.output).unwrap_or_default()
    }
}

#[test]
fn action_script_runs_check_diff_and_build_as_a_runner_would() {
    let runner = Runner::new("ci-action-run");
    let repo = runner.repo();
    let peer = PEER.replace("  swarmKeySecretName: swarm-key\n", "");
    fs::write(repo.join("ipfs/gateway.yaml"), &peer).expect("write");
    git_ok(&repo, &["init", "-q", "-b", "main"]);
    git_ok(&repo, &["add", "."]);
    git_ok(&repo, &["commit", "-q", "-m", "base"]);
    git_ok(&repo, &["checkout", "-q", "-b", "change"]);

    // check, clean.
    let (code, log) = runner.run(&[("KOTALC_COMMAND", "check"), ("KOTALC_PATHS", "ipfs/")]);
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("::notice title=kotalc::1 resource, 0 errors"),
        "{log}"
    );
    assert!(
        runner.summary().starts_with("### kotalc validate\n"),
        "{}",
        runner.summary()
    );
    assert!(
        runner.outputs().contains("exit-code=0\n"),
        "{}",
        runner.outputs()
    );

    // check, a bad Peer: annotations, the summary, exit 1.
    fs::write(
        repo.join("ipfs/bad.yaml"),
        peer.replace("gateway", "bad").replace("cpu:", "cpus:"),
    )
    .expect("write");
    let (code, log) = runner.run(&[
        ("KOTALC_COMMAND", "check"),
        ("KOTALC_PATHS", "ipfs/"),
        ("KOTALC_ARGS", "--deny-warnings"),
    ]);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("::error file=ipfs/bad.yaml,line=8,col=5,title=unknown-field::"),
        "{log}"
    );
    let summary = runner.summary();
    assert!(
        summary.contains("- **error** `unknown-field` at `ipfs/bad.yaml:8:5`"),
        "{summary}"
    );
    assert!(
        runner.outputs().contains("exit-code=1\n"),
        "{}",
        runner.outputs()
    );
    let markdown = runner
        .outputs()
        .lines()
        .find_map(|l| l.strip_prefix("markdown=").map(String::from))
        .expect("the markdown output");
    assert_eq!(fs::read_to_string(markdown).expect("the file"), summary);
    fs::remove_file(repo.join("ipfs/bad.yaml")).expect("rm");

    // diff against the base branch: the pod rolls, nothing refused, exit 0.
    fs::write(repo.join("ipfs/gateway.yaml"), peer.replace("500m", "700m")).expect("write");
    git_ok(&repo, &["commit", "-q", "-am", "more cpu"]);
    let (code, log) = runner.run(&[("KOTALC_COMMAND", "diff"), ("KOTALC_PATHS", "ipfs/")]);
    assert_eq!(code, Some(0), "{log}");
    let summary = runner.summary();
    assert!(summary.starts_with("### kotalc diff\n"), "{summary}");
    assert!(
        summary.contains("**changed** `StatefulSet ipfs/gateway` · **rolls pods**"),
        "{summary}"
    );
    assert!(summary.contains("+            cpu: 700m"), "{summary}");
    assert!(
        summary.contains("**kotalc:** 1 resource, 0 errors"),
        "{summary}"
    );

    // A claim that shrinks is refused: exit 1 by default, 0 when told not to fail.
    fs::write(
        repo.join("ipfs/gateway.yaml"),
        peer.replace("500m", "700m").replace("50Gi", "20Gi"),
    )
    .expect("write");
    git_ok(&repo, &["commit", "-q", "-am", "less storage"]);
    let (code, log) = runner.run(&[("KOTALC_COMMAND", "diff"), ("KOTALC_PATHS", "ipfs/")]);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        runner
            .summary()
            .contains("**changed** `PersistentVolumeClaim ipfs/gateway` · **refused**"),
        "{}",
        runner.summary()
    );
    assert!(runner.outputs().contains("exit-code=1\n"));
    let (code, log) = runner.run(&[
        ("KOTALC_COMMAND", "diff"),
        ("KOTALC_PATHS", "ipfs/"),
        ("KOTALC_FAIL_ON_DESTRUCTIVE", "false"),
    ]);
    assert_eq!(code, Some(0), "{log}");
    // An explicit base: the same commit as the pull request's, so nothing changes.
    let (code, log) = runner.run(&[
        ("KOTALC_COMMAND", "diff"),
        ("KOTALC_PATHS", "ipfs/"),
        ("KOTALC_BASE_REF", "HEAD"),
    ]);
    assert_eq!(code, Some(0), "{log}");
    assert!(
        runner.summary().contains("**0 added, 0 removed, 0 changed"),
        "{}",
        runner.summary()
    );

    // build writes the tree; a usage error is exit 2.
    let (code, log) = runner.run(&[
        ("KOTALC_COMMAND", "build"),
        ("KOTALC_PATHS", "ipfs/"),
        ("KOTALC_OUTPUT", "out"),
    ]);
    assert_eq!(code, Some(0), "{log}");
    assert!(
        repo.join("out/ipfs/statefulset-gateway.yaml").is_file(),
        "{log}"
    );
    assert!(
        runner.summary().contains("**kotalc:** 1 resource"),
        "{}",
        runner.summary()
    );
    let (code, log) = runner.run(&[
        ("KOTALC_COMMAND", "check"),
        ("KOTALC_PATHS", "ipfs/"),
        ("KOTALC_SUMMARY", "false"),
    ]);
    assert_eq!(code, Some(0), "{log}");
    assert!(!runner.summary.exists(), "a summary was written");
    assert_eq!(runner.outputs(), "exit-code=0\n");
    let (code, log) = runner.run(&[("KOTALC_COMMAND", "apply")]);
    assert_eq!(code, Some(2), "{log}");
    let (code, log) = runner.run(&[
        ("KOTALC_COMMAND", "check"),
        ("KOTALC_ARGS", "--no-such-option"),
    ]);
    assert_eq!(code, Some(2), "{log}");
    assert!(runner.outputs().contains("exit-code=2\n"));
}

/// The install step as a runner runs it: the version is the action's own, a kotalc already
/// in its root (restored from the cache) is used as it is, and its directory goes on the
/// job's PATH; without one, and without a release to download, the step says it is not found
/// (so that the cache is restored and cargo builds it).
#[test]
fn action_install_finds_the_pinned_kotalc() {
    let dir = scratch("ci-action-install");
    let root_dir = dir.join("root");
    let install = |step: &str, with_binary: bool| -> (Option<i32>, String, String) {
        let output = dir.join(format!("output-{step}-{with_binary}"));
        let path = dir.join(format!("path-{step}-{with_binary}"));
        let out = Run::of(
            Command::new("unshare")
                .arg("-n")
                .arg(root().join("action/install.sh"))
                .arg(step)
                .env("GITHUB_ACTION_PATH", root())
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_PATH", &path)
                .env("KOTALC_ROOT", &root_dir)
                .env_remove("GITHUB_ACTION_REPOSITORY")
                .env_remove("KOTALC_VERSION"),
            "install.sh runs",
        );
        (
            out.status.code(),
            fs::read_to_string(output).unwrap_or_default(),
            fs::read_to_string(path).unwrap_or_default(),
        )
    };
    let version = env!("CARGO_PKG_VERSION");
    let (code, outputs, _) = install("locate", false);
    assert_eq!(code, Some(0));
    assert!(
        outputs.contains(&format!("version={version}\n")),
        "{outputs}"
    );
    assert!(outputs.contains("found=false\n"), "{outputs}");
    let source = outputs
        .lines()
        .find_map(|l| l.strip_prefix("source="))
        .expect("the source's hash");
    assert_eq!(source.len(), 16, "{outputs}");
    fs::create_dir_all(root_dir.join("bin")).expect("mkdir");
    fs::copy(Kotalc::bin(), root_dir.join("bin/kotalc")).expect("copy");
    let (code, outputs, _) = install("locate", true);
    assert_eq!(code, Some(0));
    assert!(outputs.contains("found=true\n"), "{outputs}");
    let (code, _, path) = install("install", true);
    assert_eq!(code, Some(0));
    assert_eq!(path, format!("{}\n", root_dir.join("bin").display()));
}

/// The SARIF step and pull-request summary commands of docs/ci.md, run as a user copies them, in a
/// repository whose base branch is fetched: the log validates, the summary names the change.
#[test]
fn the_docs_sarif_and_summary_commands_run_as_written() {
    let (schemas, index) = sarif_schema();
    let repo = scratch("ci-readme-commands");
    fs::create_dir_all(repo.join("ipfs")).expect("mkdir");
    let peer = PEER.replace("  swarmKeySecretName: swarm-key\n", "");
    fs::write(repo.join("ipfs/gateway.yaml"), &peer).expect("write");
    git_ok(&repo, &["init", "-q", "-b", "main"]);
    git_ok(&repo, &["add", "."]);
    git_ok(&repo, &["commit", "-q", "-m", "base"]);
    // As actions/checkout leaves the base branch of a pull request.
    git_ok(&repo, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git_ok(&repo, &["checkout", "-q", "-b", "change"]);
    fs::write(
        repo.join("ipfs/gateway.yaml"),
        peer.replace("500m", "700m")
            .replace("cpu:", "cpus:\n    cpu:"),
    )
    .expect("write");
    let sh = |script: &str| -> Run {
        Run::of(
            Command::new("unshare")
                .args(["-n", "sh", "-c", script])
                .current_dir(&repo)
                .env("PATH", path_with_kotalc(&[])),
            "sh runs",
        )
    };

    let step = docs_block("yaml", "--format sarif");
    let command = step
        .lines()
        .find_map(|l| l.trim().strip_prefix("- run: "))
        .expect("the SARIF step's command");
    let out = sh(command);
    out.code(1);
    let log: J = serde_json::from_slice(&fs::read(repo.join("kotalc.sarif")).expect("the log"))
        .expect("JSON");
    if let Err(e) = schemas.validate(&log, index) {
        panic!("{e:#}\n{log:#}");
    }
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "unknown-field");

    fs::write(repo.join("ipfs/gateway.yaml"), peer.replace("500m", "700m")).expect("write");
    let out = sh(&docs_block("sh", "--format markdown"));
    out.success();
    let summary = fs::read_to_string(repo.join("summary.md")).expect("the summary");
    assert!(
        summary.contains("**changed** `StatefulSet ipfs/gateway` · **rolls pods**"),
        "{summary}"
    );
    assert!(
        summary.contains("**kotalc:** 1 resource, 0 errors"),
        "{summary}"
    );
}
