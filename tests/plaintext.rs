//! No plaintext secret ever reaches an output: every fixture is built in every secret mode and
//! diagnostic format, to stdout and to a directory, the sealing commands run on the test
//! secrets, and every byte they write is searched for those secrets.

use std::fs;

use crate::common::{root, run, scratch, text};
use crate::seal::{TEST_CLUSTER_SECRET, TEST_PRIVATE_KEY, seal};

/// The plaintext of the suite's test secrets: the sealing tests' values and the value of the
/// plain Secret in `fixtures/err-plaintext-secret`.
fn plaintexts() -> Vec<String> {
    let fixture =
        fs::read_to_string(root().join("fixtures/err-plaintext-secret/input/secret.yaml"))
            .expect("fixture");
    let value = fixture
        .split("secret: ")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("the fixture's value")
        .to_string();
    assert_eq!(value.len(), 64);
    let mut secrets = vec![TEST_CLUSTER_SECRET.into(), TEST_PRIVATE_KEY.into(), value];
    // Every Swarm node key of the fixtures.
    for entry in walkdir::WalkDir::new(root().join("fixtures")) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file()
            && entry.path().components().any(|c| c.as_os_str() == "input")
        {
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                if let Some(key) = line.trim().strip_prefix("privateKey: ") {
                    secrets.push(key.trim_matches('"').to_string());
                }
            }
        }
    }
    // And the example Swarm's, which are public by design but must not spread further.
    let example = fs::read_to_string(root().join("examples/swarm/legacy-swarm.yaml"))
        .expect("the Swarm example");
    for line in example.lines() {
        if let Some(key) = line.trim().strip_prefix("privateKey: ") {
            secrets.push(key.trim_matches('"').to_string());
        }
    }
    assert!(secrets.len() > 8, "the Swarm fixtures' keys were not found");
    secrets
}

fn assert_clean(what: &str, output: &str, secrets: &[String]) {
    for secret in secrets {
        // Also a fragment, in case a line was folded.
        assert!(
            !output.contains(secret.as_str()) && !output.contains(&secret[..24]),
            "{what} leaks a test secret"
        );
    }
}

#[test]
fn no_output_contains_a_test_secret() {
    let secrets = plaintexts();
    let mut scanned = 0;
    let modes: [&[&str]; 4] = [
        &[],
        &["--secret-mode", "none"],
        &["--secret-mode", "external", "--secret-store", "vault"],
        &["--format", "json"],
    ];
    let fixtures = root().join("fixtures");
    let mut cases: Vec<_> = fs::read_dir(&fixtures)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("input").is_dir())
        .collect();
    cases.sort();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for entry in walkdir::WalkDir::new(case.join("expected")) {
            let entry = entry.expect("walk");
            if entry.file_type().is_file() {
                let content = fs::read_to_string(entry.path()).unwrap_or_default();
                assert_clean(&entry.path().display().to_string(), &content, &secrets);
                scanned += 1;
            }
        }
        for mode in modes {
            let out_dir = scratch(&format!("plaintext-{name}"));
            let dir_arg = out_dir.join("out").to_string_lossy().into_owned();
            for extra in [&[][..], &["-o", &dir_arg][..]] {
                let mut args = vec!["build"];
                args.extend_from_slice(mode);
                args.extend_from_slice(extra);
                args.push("input");
                let out = run(case, &args);
                let both = format!("{}{}", text(&out.stdout), text(&out.stderr));
                assert_clean(&format!("{name} {args:?}"), &both, &secrets);
                scanned += 1;
            }
            for entry in walkdir::WalkDir::new(&out_dir) {
                let entry = entry.expect("walk");
                if entry.file_type().is_file() {
                    let content = fs::read_to_string(entry.path()).unwrap_or_default();
                    assert_clean(&entry.path().display().to_string(), &content, &secrets);
                }
            }
        }
    }
    // Migrating the Swarms, sealed and with placeholders, to stdout and to a directory.
    for case in cases.iter().filter(|c| {
        fs::read_to_string(
            c.join("input")
                .read_dir()
                .ok()
                .and_then(|mut d| d.next())
                .map(|e| e.expect("entry").path())
                .unwrap_or_default(),
        )
        .unwrap_or_default()
        .contains("kind: Swarm")
    }) {
        let cert = root()
            .join("tests/data/controller.crt")
            .to_string_lossy()
            .into_owned();
        let out_dir = scratch("plaintext-migrate").join("out");
        let out_arg = out_dir.to_string_lossy().into_owned();
        for args in [
            vec!["migrate", "-n", "ipfs", "--cert", &cert, "input"],
            vec!["migrate", "input"],
            vec![
                "migrate", "-n", "ipfs", "--cert", &cert, "-o", &out_arg, "input",
            ],
        ] {
            let out = run(case, &args);
            let both = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert_clean(&format!("{case:?} {args:?}"), &both, &secrets);
            scanned += 1;
        }
        // An error case writes no directory.
        for entry in walkdir::WalkDir::new(&out_dir).into_iter().flatten() {
            if entry.file_type().is_file() {
                let content = fs::read_to_string(entry.path()).unwrap_or_default();
                assert_clean(&entry.path().display().to_string(), &content, &secrets);
            }
        }
    }
    // The sealing commands, with every value source, in both formats.
    for format in ["human", "json"] {
        for (key, value) in [("secret", TEST_CLUSTER_SECRET), ("key", TEST_PRIVATE_KEY)] {
            let args = [
                "-n",
                "ipfs",
                "--name",
                "s",
                "--key",
                key,
                "--from-stdin",
                "--format",
                format,
            ];
            let (object, stderr, code) = seal(&args, value.as_bytes());
            assert_eq!(code, 0, "{stderr}");
            assert_clean("seal", &format!("{object}{stderr}"), &secrets);
            // A refused value is not echoed either.
            let (_, stderr, _) = seal(&args, format!("{value}x").as_bytes());
            assert_clean("seal refusal", &stderr, &secrets);
            scanned += 2;
        }
    }
    assert!(scanned > 100, "scanned only {scanned} outputs");
}

/// `diff --against` an export, and `build -o DIR --check` against a directory, read values
/// anyone can put there: a Secret's `data` and `stringData`, a SealedSecret whose template
/// holds plaintext, and the copy of each in `last-applied-configuration`. None is printed,
/// in any format, on any stream, where the object changes (a unified diff) or not.
#[test]
fn diff_and_check_redact_the_secret_values_they_read() {
    use base64::Engine;
    let secret = "exported-secret-value-5f2b8c1d9e";
    let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
    let work = scratch("plaintext-diff-export");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    fs::write(
        work.join("in/p.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\nspec:\n  swarmKeySecretName: c\n",
    )
    .expect("write");
    let applied = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{{\"k\":\"{secret}\"}}}}"
    );
    let secret_doc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: ipfs\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{applied}'\ndata:\n  swarm.key: {encoded}\nstringData:\n  secret: {secret}\n"
        )
    };
    // The SealedSecret has the name of the placeholder kotalc renders: a changed object,
    // shown as a unified diff.
    let sealed = format!(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: c\n  namespace: ipfs\nspec:\n  encryptedData: {{}}\n  template:\n    data:\n      swarm.key: {encoded}\n    stringData:\n      other: {secret}\n"
    );
    fs::write(
        work.join("export.yaml"),
        format!("{}---\n{sealed}", secret_doc("a")),
    )
    .expect("write");
    let allow = ["--allow", "sealed-secret-placeholder"];
    let secrets = [secret.to_string(), encoded.clone()];
    for format in ["human", "json", "github"] {
        let mut args = vec!["diff", "in", "--against", "export.yaml", "--format", format];
        args.extend(allow);
        let out = run(&work, &args);
        let stdout = text(&out.stdout);
        out.stdout_has("<redacted>");
        assert_clean(&format!("diff --format {format} stdout"), &stdout, &secrets);
        assert_clean(
            &format!("diff --format {format} stderr"),
            &text(&out.stderr),
            &secrets,
        );
    }
    // The same objects as files of an output directory, where kotalc writes its own.
    let mut build = vec!["build", "in", "-o", "out"];
    build.extend(allow);
    let out = run(&work, &build);
    out.code(0);
    fs::write(work.join("out/ipfs/sealedsecret-c.yaml"), &sealed).expect("write");
    fs::write(work.join("out/ipfs/configmap-p.yaml"), secret_doc("p")).expect("write");
    for format in ["human", "json", "github"] {
        let mut args = build.clone();
        args.extend(["--check", "--format", format]);
        let out = run(&work, &args);
        out.code(1);
        let stdout = text(&out.stdout);
        out.stdout_has("<redacted>");
        assert_clean(
            &format!("--check --format {format} stdout"),
            &stdout,
            &secrets,
        );
        assert_clean(
            &format!("--check --format {format} stderr"),
            &text(&out.stderr),
            &secrets,
        );
    }
}
