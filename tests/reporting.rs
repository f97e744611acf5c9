//! How failures and warnings reach people: grouping, the summary line, `--allow`, one path in
//! every format, `--check` in every format, and the hints that say what to do.

use std::fs;
use std::path::Path;

use serde_json::Value as J;

use crate::common::{Kotalc, root, run, scratch, text};

fn private_peer(name: &str) -> String {
    format!(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: {name}\n  namespace: ipfs\n\
         spec:\n  swarmKeySecretName: swarm-key\n"
    )
}

/// 15 isolated private peers: the repeated warnings are grouped after three, with their
/// files, and the run ends with one summary line.
#[test]
fn repeated_warnings_are_grouped_and_every_run_ends_with_a_summary() {
    let dir = scratch("reporting-grouped");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    for i in 0..15 {
        fs::write(
            dir.join(format!("ipfs/peer-{i:02}.yaml")),
            private_peer(&format!("p{i:02}")),
        )
        .expect("write");
    }
    let out = run(&dir, &["validate", "ipfs"]);
    out.code(0);
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr
            .matches("warning[private-swarm-isolated]: spec.")
            .count(),
        3,
        "{stderr}"
    );
    out.stderr_has(
        "warning[private-swarm-isolated]: 12 more like this, in ipfs/peer-03.yaml, \
             ipfs/peer-04.yaml",
    )
    .stderr_has("and 2 other files");
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(last, "kotalc: 15 resources, 0 errors, 16 warnings");
    assert!(
        stderr.lines().count() < 40,
        "{} lines",
        stderr.lines().count()
    );

    // JSON keeps every diagnostic and ends with a summary object.
    let json = run(&dir, &["validate", "--format", "json", "ipfs"]);
    let lines: Vec<J> = text(&json.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 17);
    assert_eq!(lines[16]["summary"]["warnings"], 16);
    assert_eq!(lines[16]["summary"]["resources"], 15);

    // GitHub: the groups and the summary are workflow commands too.
    let github = text(&run(&dir, &["validate", "--format", "github", "ipfs"]).stderr);
    assert!(
        github.contains("::warning title=private-swarm-isolated::12 more like this, in ipfs/"),
        "{github}"
    );
    assert!(
        github.ends_with("::notice title=kotalc::15 resources, 0 errors, 16 warnings\n"),
        "{github}"
    );
}

#[test]
fn allow_silences_a_warning_for_the_whole_run_and_refuses_unknown_codes() {
    let dir = scratch("reporting-allow");
    fs::write(dir.join("peer.yaml"), private_peer("p")).expect("write");
    let allowed = run(
        &dir,
        &[
            "validate",
            "--deny-warnings",
            "--allow",
            "private-swarm-isolated,sealed-secret-placeholder",
            "peer.yaml",
        ],
    );
    allowed.code(0);
    assert_eq!(
        text(&allowed.stderr),
        "kotalc: 1 resource, 0 errors, 0 warnings\n"
    );
    let one = run(
        &dir,
        &["validate", "--allow", "private-swarm-isolated", "peer.yaml"],
    );
    one.stderr_has("sealed-secret-placeholder")
        .stderr_lacks("private-swarm-isolated");
    for (code, expected) in [
        (
            "private-swarm-isolatd",
            "did you mean \"private-swarm-isolated\"",
        ),
        ("unknown-field", "only warnings can be allowed"),
    ] {
        let out = run(&dir, &["validate", "--allow", code, "peer.yaml"]);
        out.code(2).stderr_has(expected);
    }
    // The plugin's configuration takes it too, and refuses an unknown code.
    let config = |allow: &str| {
        format!(
            "apiVersion: kotalc.io/v1alpha1\nkind: KotalcBuild\nmetadata:\n  name: x\nspec:\n  \
             paths: [peer.yaml]\n  denyWarnings: true\n  allow: [{allow}]\n"
        )
    };
    fs::write(
        dir.join("kotalc.yaml"),
        config("private-swarm-isolated, sealed-secret-placeholder"),
    )
    .expect("write");
    let out = run(&dir, &["kustomize-plugin", "kotalc.yaml"]);
    out.code(0);
    fs::write(dir.join("kotalc.yaml"), config("nonsense")).expect("write");
    let out = run(&dir, &["kustomize-plugin", "kotalc.yaml"]);
    out.code(1)
        .stderr_has("\"nonsense\" is not a kotalc warning code");
}

/// The same path, from the working directory, in every format.
#[test]
fn every_format_prints_the_path_as_given() {
    let dir = scratch("reporting-paths");
    fs::create_dir_all(dir.join("errs/nested")).expect("mkdir");
    fs::write(
        dir.join("errs/nested/typo.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: a\nspec:\n  apiPorts: 1\n",
    )
    .expect("write");
    let human = text(&run(&dir, &["validate", "errs/"]).stderr);
    assert!(human.contains("--> errs/nested/typo.yaml:6:3"), "{human}");
    let json = text(&run(&dir, &["validate", "--format", "json", "errs/"]).stderr);
    let first: J = serde_json::from_str(json.lines().next().unwrap_or_default()).expect("JSON");
    assert_eq!(first["file"], "errs/nested/typo.yaml");
    let github = text(&run(&dir, &["validate", "--format", "github", "errs/"]).stderr);
    assert!(
        github.starts_with("::error file=errs/nested/typo.yaml,line=6,col=3,"),
        "{github}"
    );
    let nested = text(&run(&dir.join("errs"), &["validate", "./nested"]).stderr);
    assert!(nested.contains("--> nested/typo.yaml:6:3"), "{nested}");
}

/// `--check` speaks every format: one error per stale, missing or extra file.
#[test]
fn check_reports_each_file_in_every_format() {
    let dir = scratch("reporting-check");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    // Without its NetworkPolicy, whose note would stand before every summary.
    let peer = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: gw\n  namespace: ipfs\n  annotations:\n    kotalc.io/network-policies: \"false\"\nspec:\n  gateway: true\n";
    fs::write(dir.join("ipfs/gw.yaml"), peer).expect("write");
    let built = run(&dir, &["build", "ipfs", "-o", "rendered"]);
    assert_eq!(
        text(&built.stderr),
        "kotalc: 1 resource, 0 errors, 0 warnings; wrote 5 files to rendered\n"
    );
    let again = run(&dir, &["build", "ipfs", "-o", "rendered"]);
    assert_eq!(
        text(&again.stderr),
        "kotalc: 1 resource, 0 errors, 0 warnings; rendered is unchanged (5 files)\n"
    );
    let ok = run(&dir, &["build", "ipfs", "-o", "rendered", "--check"]);
    ok.code(0);
    assert!(text(&ok.stderr).ends_with("; rendered is up to date\n"));

    fs::write(
        dir.join("ipfs/gw.yaml"),
        peer.replace("gateway: true", "gateway: false"),
    )
    .expect("write");
    fs::remove_file(dir.join("rendered/ipfs/service-gw.yaml")).expect("rm");
    fs::write(dir.join("rendered/ipfs/extra.yaml"), "kind: ConfigMap\n").expect("write");
    let check = |format: &str| {
        let out = run(
            &dir,
            &[
                "build", "ipfs", "-o", "rendered", "--check", "--format", format,
            ],
        );
        out.code(1);
        assert!(!out.stdout.is_empty(), "the diff is on stdout");
        text(&out.stderr)
    };
    let github = check("github");
    for (file, what) in [
        ("rendered/ipfs/extra.yaml", "should not be there"),
        ("rendered/ipfs/service-gw.yaml", "is missing"),
        ("rendered/ipfs/statefulset-gw.yaml", "differs"),
        ("rendered/.kotalc-files", "differs"),
    ] {
        let annotation = format!("::error file={file},title=stale-output::{what}");
        assert!(github.contains(&annotation), "{annotation} in:\n{github}");
    }
    assert!(
        github.ends_with(
            "::notice title=kotalc::1 resource, 4 errors, 0 warnings; rendered: 4 files are not \
             what `kotalc build -o` would write; run it and commit the result\n"
        ),
        "{github}"
    );
    let json = check("json");
    let lines: Vec<J> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let stale: Vec<&str> = lines
        .iter()
        .filter(|l| l["code"] == "stale-output")
        .filter_map(|l| l["file"].as_str())
        .collect();
    assert_eq!(
        stale,
        [
            "rendered/.kotalc-files",
            "rendered/ipfs/extra.yaml",
            "rendered/ipfs/service-gw.yaml",
            "rendered/ipfs/statefulset-gw.yaml"
        ]
    );
    assert_eq!(lines.last().expect("summary")["summary"]["errors"], 4);
    let human = check("human");
    assert!(human.contains("error[stale-output]: is missing"), "{human}");
    assert!(
        human.contains("--> rendered/ipfs/service-gw.yaml"),
        "{human}"
    );
}

#[test]
fn one_file_is_one_file_and_validate_writes_nothing() {
    let dir = scratch("reporting-wording");
    fs::write(
        dir.join("bad.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\n",
    )
    .expect("write");
    let out = run(&dir, &["validate", "bad.yaml"]);
    out.code(1);
    let stderr = text(&out.stderr);
    out.stderr_lacks("nothing written");
    assert!(
        stderr.ends_with("kotalc: 1 resource, 1 error, 0 warnings\n"),
        "{stderr}"
    );
    // A seal written to a file, and a man page directory, say `1 file` where there is one.
    let pages = scratch("reporting-man");
    let man = run(&dir, &["man", "--dir", &pages.to_string_lossy()]);
    man.code(0).stderr_lacks("1 files");
}

#[test]
fn man_pages_exist_for_every_subcommand_they_name() {
    let pages = scratch("reporting-man-pages");
    let out = run(&root(), &["man", "--dir", &pages.to_string_lossy()]);
    out.code(0);
    let mut names = Vec::new();
    for entry in fs::read_dir(&pages).expect("pages") {
        let path = entry.expect("entry").path();
        let roff = fs::read_to_string(&path).expect("page");
        assert!(roff.contains(".SH \"EXIT STATUS\""), "{path:?}");
        assert!(roff.contains("A usage error"), "{path:?}");
        names.push(
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
        );
        // Every page another page points to was written.
        for reference in roff.split("kotalc\\-").skip(1) {
            let sub: String = reference
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-' || *c == '\\')
                .collect();
            let sub = sub.replace('\\', "");
            let sub = sub.trim_end_matches('-');
            if !sub.is_empty() && reference[sub.len()..].contains('(') {
                let page = pages.join(format!("kotalc-{sub}.1"));
                assert!(
                    page.exists(),
                    "{path:?} names kotalc-{sub}(1), which is missing"
                );
            }
        }
    }
    for expected in [
        "kotalc.1",
        "kotalc-build.1",
        "kotalc-seal.1",
        "kotalc-man.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let build = run(&root(), &["man", "build"]);
    build.stdout_has(".TH kotalc-build 1");
    run(&root(), &["man", "nosuch"]).code(2);
}

#[test]
fn keygen_and_seal_format_help_says_what_they_print() {
    for command in ["keygen", "seal"] {
        let help = text(&run(&root(), &[command, "--help"]).stdout);
        assert!(!help.contains("Compiler-style"), "{command}: {help}");
        assert!(!help.contains("per diagnostic"), "{command}: {help}");
    }
    let keygen = text(&run(&root(), &["keygen", "--help"]).stdout);
    assert!(keygen.contains("the value alone on stdout"), "{keygen}");
    let seal = text(&run(&root(), &["seal", "--help"]).stdout);
    assert!(seal.contains("The SealedSecret itself is YAML"), "{seal}");
}

fn validate_text(dir: &Path, file: &str, yaml: &str) -> String {
    fs::write(dir.join(file), yaml).expect("write");
    text(&run(dir, &["validate", file]).stderr)
}

#[test]
fn hints_say_what_to_do() {
    let dir = scratch("reporting-hints");
    let cpu = validate_text(
        &dir,
        "cpu.yaml",
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: a\nspec:\n  resources:\n    cpu: 0.5\n",
    );
    assert!(cpu.contains("write 500m"), "{cpu}");
    let indented = validate_text(
        &dir,
        "indent.yaml",
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: a\nspec:\n  api: true\n   apiPort: 5001\n",
    );
    assert!(
        indented.contains("check the indentation of this line"),
        "{indented}"
    );
    // The placeholder's hint writes the sealed file beside the resource.
    fs::create_dir_all(dir.join("team/peers")).expect("mkdir");
    fs::write(dir.join("team/peers/p.yaml"), private_peer("p")).expect("write");
    let placeholder = text(&run(&dir, &["validate", "team"]).stderr);
    assert!(
        placeholder.contains("-o team/peers/sealedsecret-swarm-key.yaml"),
        "{placeholder}"
    );

    // An input with no resource names what it read and skipped.
    let empty = scratch("reporting-empty");
    let out = text(&run(&empty, &["build", "."]).stderr);
    assert!(out.contains(". holds no file"), "{out}");
    fs::write(empty.join("peer.json"), "{}").expect("write");
    let out = text(&run(&empty, &["build", "."]).stderr);
    assert!(out.contains("skipped peer.json (only *.yaml"), "{out}");

    let pods = run(&root(), &["explain", "pods"]);
    pods.code(1)
        .stderr_has("not a Kotal IPFS kind")
        .stderr_lacks("server");
    let routing = text(&run(&root(), &["explain", "peers.spec.routing"]).stdout);
    assert!(
        routing.contains("ENUM:\n    none\n    dht\n    dhtclient\n    dhtserver\n"),
        "{routing}"
    );

    // seal cannot know whether a Peer or a ClusterPeer reads the identity: it names both.
    let (_, stderr, code) = crate::seal::seal(
        &["-n", "ipfs", "--name", "id", "--generate", "peer-identity"],
        b"",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("a Peer's metadata.annotations:\n  kotalc.io/peer-id: ")
            && stderr.contains("or a ClusterPeer's spec:\n  id: "),
        "{stderr}"
    );
}

/// A user builds the tree kotalc rendered again, with --passthrough: no file is named both
/// read and skipped. The files read are named once; the marker file and the kustomization
/// passed over are named as skipped.
#[test]
fn a_rendered_tree_built_with_passthrough_names_no_file_both_read_and_skipped() {
    let dir = scratch("reporting-rendered-passthrough");
    fs::create_dir_all(dir.join("ipfs")).expect("mkdir");
    fs::write(
        dir.join("ipfs/gateway.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: gateway\n  \
         namespace: ipfs\nspec: {}\n",
    )
    .expect("write");
    run(&dir, &["build", "ipfs", "-o", "out"]).code(0);
    assert!(dir.join("out/.kotalc-files").is_file());

    let out = run(&dir, &["build", "out", "--passthrough"]);
    out.code(1);
    let stderr = text(&out.stderr);
    let line = |start: &str| {
        stderr
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?}:\n{stderr}"))
            .to_string()
    };
    let read = line("read ");
    let skipped = line("skipped ");
    assert!(
        read.starts_with("read out/ipfs/configmap-gateway.yaml, ")
            && read.contains("out/ipfs/statefulset-gateway.yaml"),
        "{stderr}"
    );
    assert!(
        skipped.starts_with("skipped out/.kotalc-files, out/kustomization.yaml (only"),
        "{stderr}"
    );
    let files = read
        .trim_start_matches("read ")
        .split(": ")
        .next()
        .unwrap_or_default();
    for file in files.split(", ") {
        assert!(
            !skipped.contains(file),
            "{file} read and skipped:\n{stderr}"
        );
    }
}

/// Argo CD passes the Application's plugin env as ARGOCD_ENV_*: a misspelt option is a
/// usage error naming the known ones, not a silently ignored setting.
#[test]
fn argocd_refuses_an_unknown_kotalc_variable() {
    let dir = scratch("reporting-argocd-env");
    fs::write(dir.join("peer.yaml"), private_peer("p")).expect("write");
    let generate = |env: &[(&str, &str)]| {
        Kotalc::new()
            .args(["build", "--argocd", "."])
            .current_dir(&dir)
            .env_clear()
            .envs(env.iter().copied())
            .run()
    };
    let out = generate(&[("ARGOCD_ENV_KOTALC_NAMESPAC", "x")]);
    out.code(2);
    assert!(out.stdout.is_empty());
    out.stderr_has("ARGOCD_ENV_KOTALC_NAMESPAC")
        .stderr_has("did you mean KOTALC_NAMESPACE?")
        .stderr_has("KOTALC_DENY_WARNINGS");
    let allowed = generate(&[
        ("ARGOCD_ENV_KOTALC_DENY_WARNINGS", "true"),
        (
            "ARGOCD_ENV_KOTALC_ALLOW",
            "private-swarm-isolated,sealed-secret-placeholder",
        ),
    ]);
    allowed.code(0);
    let bad = generate(&[("ARGOCD_ENV_KOTALC_ALLOW", "nope")]);
    bad.code(2);
}

/// The KRM function takes `allow` too, and ends its results with the summary. The item
/// carries an origin annotation, as kustomize and kpt add to every item.
#[test]
fn the_krm_function_takes_allow() {
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  \
         apiVersion: kotalc.io/v1alpha1\n  kind: KotalcBuild\n  metadata:\n    name: x\n  spec:\n    \
         denyWarnings: true\n    networkPolicies: false\n    allow: [private-swarm-isolated, sealed-secret-placeholder]\nitems:\n- {}\n",
        private_peer("p")
            .replace(
                "  namespace: ipfs\n",
                "  namespace: ipfs\n  annotations:\n    config.kubernetes.io/index: '0'\n",
            )
            .lines()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    let dir = scratch("reporting-krm-allow");
    let out = Kotalc::new()
        .current_dir(&dir)
        .args(["krm"])
        .stdin(list.as_bytes())
        .run();
    out.code(0);
    let output: J = serde_saphyr::from_str(&text(&out.stdout)).expect("ResourceList");
    let results = output["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["severity"], "info");
    assert_eq!(
        results[0]["message"],
        "kotalc: 1 resource, 0 errors, 0 warnings"
    );
}
