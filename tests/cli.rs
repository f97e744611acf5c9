//! Command-line behaviour outside the golden fixtures: validate, JSON diagnostics, standard
//! input, missing paths and usage errors, each with its documented exit code.

use crate::common::{Kotalc, root, run, text};

#[test]
fn validate_checks_without_rendering() {
    let fixtures = root().join("fixtures");
    let ok = run(&fixtures.join("sample-bare-peer"), &["validate", "input"]);
    ok.code(0);
    assert!(ok.stdout.is_empty());
    // Success ends with the summary too, and says nothing of writing.
    assert_eq!(
        text(&ok.stderr),
        "kotalc: 1 resource, 0 errors, 0 warnings\n"
    );
    let case = fixtures.join("err-typo-and-limit");
    let bad = run(&case, &["validate", "input"]);
    bad.code(1);
    let expected = std::fs::read_to_string(case.join("expected/stderr.txt")).expect("golden");
    // Alike but for the summary: validate writes nothing, so it does not say so.
    let stderr = text(&bad.stderr);
    assert_eq!(
        stderr,
        expected.replace("; nothing written\n", "\n"),
        "validate and build report alike"
    );
    bad.stderr_lacks("nothing written");
}

#[test]
fn json_diagnostics_are_one_object_per_line() {
    let out = run(
        &root().join("fixtures/err-typo-and-limit"),
        &["build", "--format", "json", "input"],
    );
    out.code(1);
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["code"], "unknown-field");
    // The path from the working directory, as in every format.
    assert_eq!(lines[0]["file"], "input/peer.yaml");
    assert_eq!(lines[0]["line"], 6);
    assert_eq!(lines[0]["column"], 3);
    assert_eq!(lines[0]["field"], "spec.apiPorts");
    assert_eq!(lines[1]["code"], "resource-limit");
    assert_eq!(lines[1]["severity"], "error");
    // The last line is the run's summary.
    assert_eq!(lines[2]["summary"]["errors"], 2);
    assert_eq!(lines[2]["summary"]["resources"], 1);
    assert_eq!(
        lines[2]["summary"]["message"],
        "1 resource, 2 errors, 0 warnings; nothing written"
    );
}

#[test]
fn reads_standard_input() {
    let out = Kotalc::new()
        .args(["build", "-"])
        .stdin(b"apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: piped\n")
        .run();
    out.code(0);
    let stdout = text(&out.stdout);
    // ConfigMap, PersistentVolumeClaim, Service, StatefulSet and the NetworkPolicy.
    assert_eq!(stdout.matches("\nkind: ").count(), 5, "{stdout}");
    out.stdout_has("claimName: piped");
    // The operator sets no serviceName, and the field is immutable: none, to adopt in place.
    out.stdout_lacks("serviceName");
}

#[test]
fn a_missing_path_is_an_input_problem() {
    let out = run(&root(), &["build", "no/such/dir"]);
    out.code(1)
        .stderr_has("error[io-error]: cannot read input path: No such file or directory")
        .stderr_has("--> no/such/dir");
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&root(), &["build", "--no-such-flag"]);
    out.code(2);
    // --force needs -o.
    run(&root(), &["build", "--force"]).code(2);
    let help = run(&root(), &["build", "--help"]);
    help.code(0).stdout_has("Example:");
}

/// The check issue users hit first: a ClusterPeer whose Peer keeps its RPC API closed. One
/// diagnostic, naming both resources and both files.
#[test]
fn validate_reports_a_closed_peer_api_once_naming_both_resources() {
    let case = root().join("fixtures/err-endpoint-api-closed");
    let out = run(&case, &["validate", "--format", "json", "input"]);
    out.code(1);
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let d = &lines[0];
    assert_eq!(d["code"], "endpoint-api-closed");
    assert_eq!(d["file"], "input/cluster.yaml");
    assert_eq!(d["field"], "spec.peerEndpoint");
    let message = d["message"].as_str().unwrap_or_default();
    assert!(message.contains("ClusterPeer \"cluster\"") && message.contains("Peer \"kubo\""));
    let human = text(&run(&case, &["validate", "input"]).stderr);
    assert!(
        human.contains("--> input/cluster.yaml:8:17") && human.contains("--> input/peer.yaml:4:3")
    );
}

/// Warnings are printed and leave the exit status alone; `--deny-warnings` fails on them.
#[test]
fn warnings_fail_only_when_denied() {
    let case = root().join("fixtures/warn-logging-notice");
    let warned = run(&case, &["validate", "--format", "json", "input"]);
    warned.code(0);
    let stderr = text(&warned.stderr);
    let d: serde_json::Value =
        serde_json::from_str(stderr.lines().next().unwrap_or_default()).expect("JSON");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["code"], "logging-notice");
    let denied = run(&case, &["validate", "--deny-warnings", "input"]);
    denied.code(1);
    assert!(text(&denied.stderr).starts_with("error[logging-notice]"));
}

#[test]
fn external_secrets_need_a_store() {
    let case = root().join("fixtures/secrets-external");
    let out = run(&case, &["build", "--secret-mode", "external", "input"]);
    out.code(2).stderr_has("--secret-store");
    let bad = run(&case, &["build", "--remote-key-template", "{nme}", "input"]);
    bad.code(2);
}

#[test]
fn shell_integration() {
    let dir = root();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&dir, &["completions", shell]);
        out.success().stdout_has("kotalc");
    }
    let man = run(&dir, &["man"]);
    assert!(text(&man.stdout).starts_with(".ie") || text(&man.stdout).contains(".TH kotalc"));
    let version = run(&dir, &["--version"]);
    version.stdout_has("Kubernetes API v1.33");
    // Every subcommand's help carries a worked example.
    for command in [
        "build",
        "validate",
        "keygen",
        "seal",
        "migrate",
        "explain",
        "schema",
        "completions",
        "man",
    ] {
        let help = run(&dir, &[command, "--help"]);
        assert!(
            text(&help.stdout).contains("Example"),
            "{command} --help has no example"
        );
    }
}

#[test]
fn schema_command_prints_json_schema() {
    let out = run(&root(), &["schema"]);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let peer = run(&root(), &["schema", "Peer"]);
    let peer: serde_json::Value = serde_json::from_slice(&peer.stdout).expect("JSON");
    assert!(peer["properties"]["spec"].is_object());
    run(&root(), &["schema", "deployment"]).code(2);
}
