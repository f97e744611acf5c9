//! What a user finds without reading the source: the annotations in `explain` and the man
//! pages, the fix in every format, completion of `--allow`, and errors that say what to do.

use std::fs;

use kotalc::diagnostic::{Code, Severity};
use kotalc::model::annotations::DIRECTIVES;

use crate::common::{Kotalc, root, run, scratch, text};

#[test]
fn explain_and_the_man_pages_list_every_kotalc_annotation() {
    let dir = scratch("discoverable-annotations");
    let out = run(&dir, &["explain", "peers.metadata.annotations"]);
    out.code(0);
    let peers = text(&out.stdout);
    for (name, _) in kotalc::model::annotations::directives(kotalc::model::Kind::Peer) {
        assert!(peers.contains(name), "{name} in:\n{peers}");
    }
    // The Peer-only ones are not offered for a ClusterPeer, where they are errors, nor the
    // ClusterPeer-only ones for a Peer.
    out.stdout_lacks("kotalc.io/rest-credentials-secret");
    let out = run(&dir, &["explain", "clusterpeers.metadata.annotations"]);
    let cluster = text(&out.stdout);
    for (name, _) in kotalc::model::annotations::directives(kotalc::model::Kind::ClusterPeer) {
        assert!(cluster.contains(name), "{name} in:\n{cluster}");
    }
    out.stdout_has("kotalc.io/allow-change")
        .stdout_lacks("kotalc.io/peering");
    for page in ["kotalc", "build", "validate", "diff"] {
        let args: &[&str] = if page == "kotalc" {
            &["man"]
        } else {
            &["man", page]
        };
        let roff = text(&run(&dir, args).stdout);
        for (name, _) in DIRECTIVES {
            assert!(roff.contains(&format!("\\fB{name}\\fR")), "{page}: {name}");
        }
    }
}

#[test]
fn every_format_keeps_the_suggestion() {
    let dir = scratch("discoverable-suggestion");
    fs::write(
        dir.join("peer.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n  apiPorts: 5001\n",
    )
    .expect("write");
    for format in ["human", "json", "github"] {
        let out = run(&dir, &["build", "peer.yaml", "--format", format]);
        out.code(1).stderr_has("did you mean `apiPort`?");
    }
}

#[test]
fn completion_offers_the_warning_codes_for_allow() {
    let dir = scratch("discoverable-completion");
    let warnings: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| c.default_severity() == Severity::Warning)
        .map(|c| c.as_str())
        .collect();
    for shell in ["bash", "zsh", "fish"] {
        let script = text(&run(&dir, &["completions", shell]).stdout);
        for code in &warnings {
            assert!(script.contains(code), "{shell}: {code}");
        }
        // Only warnings can be allowed.
        assert!(!script.contains("unknown-field"), "{shell}");
    }
    // `--help` stays short: the codes are not listed there.
    let help = text(&run(&dir, &["build", "--help"]).stdout);
    assert!(!help.contains("badgerds"), "{help}");
}

/// A lowercase kind is named as a kind error, in the KRM function too, where it used to pass
/// through as a foreign item and leave nothing to render.
#[test]
fn a_lowercase_kind_is_a_kind_error_everywhere() {
    let dir = scratch("discoverable-kind");
    let peer = "apiVersion: ipfs.kotal.io/v1alpha1\nkind: peer\nmetadata:\n  name: p\n";
    fs::write(dir.join("peer.yaml"), peer).expect("write");
    let out = run(&dir, &["build", "peer.yaml"]);
    out.code(1)
        .stderr_has("error[unknown-kind]")
        .stderr_has("did you mean `Peer`?");
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {}\n",
        peer.trim_end().replace('\n', "\n  ")
    );
    let out = Kotalc::new()
        .current_dir(&dir)
        .args(["krm"])
        .stdin(list.as_bytes())
        .run();
    out.code(1)
        .stdout_has("[unknown-kind]")
        .stdout_has("did you mean `Peer`?")
        .stdout_lacks("empty-output");
}

#[test]
fn schema_output_creates_its_directory() {
    let dir = scratch("discoverable-schema");
    let out = run(
        &dir,
        &["schema", "-o", ".kotalc/schemas/kotal-ipfs.schema.json"],
    );
    out.code(0);
    let written = fs::read(dir.join(".kotalc/schemas/kotal-ipfs.schema.json")).expect("written");
    assert_eq!(written, run(&dir, &["schema"]).stdout);
    // Run again: the file is regenerated in place.
    let out = run(
        &dir,
        &[
            "schema",
            "peer",
            "-o",
            ".kotalc/schemas/kotal-ipfs.schema.json",
        ],
    );
    out.code(0);
    let written = fs::read(dir.join(".kotalc/schemas/kotal-ipfs.schema.json")).expect("written");
    assert_eq!(written, run(&dir, &["schema", "peer"]).stdout);
}

#[test]
fn an_under_indented_block_suggests_the_indentation() {
    let dir = scratch("discoverable-indentation");
    fs::write(
        dir.join("peer.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n  \
         resources:\n  cpu: \"2\"\n  memory: 2Gi\n  routing: dht\n",
    )
    .expect("write");
    let out = run(&dir, &["build", "peer.yaml"]);
    out.code(1)
        .stderr_has(
            "= help: `cpu`, `memory` below belong to `resources`: indent them under `resources:`",
        )
        .stderr_has("^^^ a field of `resources`: indent it under `resources:`")
        .stderr_lacks("remove the field");
    // `routing` is spec's own field, and fine where it is.
    out.stderr_lacks("spec.routing");
}

#[test]
fn sealed_secrets_under_another_secret_mode_are_explained() {
    let dir = root().join("examples/ipfs");
    let out = run(
        &dir,
        &[
            "build",
            ".",
            "--secret-mode",
            "external",
            "--secret-store",
            "vault",
        ],
    );
    out.code(0).stderr_has(
        "note[sealed-secret-mode]: SealedSecret \"cluster-secret\" of the inputs is passed \
             through: Secret \"cluster-secret\" comes from it, and no ExternalSecret is rendered",
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("kind: SealedSecret").count(), 4, "{stdout}");
    out.stdout_lacks("kind: ExternalSecret");

    let out = run(&dir, &["build", ".", "--secret-mode", "none"]);
    out.code(0)
        .stderr_has("of the inputs is not written (--secret-mode none")
        .stdout_lacks("kind: SealedSecret");
}

/// A file that does not parse shows its values, except those that may be secrets.
#[test]
fn a_syntax_error_masks_only_secret_values() {
    let dir = scratch("discoverable-syntax");
    let cases = [
        (
            "peer.yaml",
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n  \
             image: \"kubo:v0.28\n",
            " 6 |   image: \"kubo:v0.28",
        ),
        (
            "secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: \
             \"hunter2hunter\n",
            " 6 |   password: **************",
        ),
        (
            "sealed.yaml",
            "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s\nspec:\n  \
             template:\n    data:\n      key: \"plainplain\n",
            " 8 |       key: ***********",
        ),
        (
            "swarm.yaml",
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Swarm\nmetadata:\n  name: s\nspec:\n  \
             nodes:\n    - name: n1\n      privateKey: \"CAESQsecretsecret\n",
            " 8 |       privateKey: ******************",
        ),
        (
            "notes.yaml",
            "token: abcdefabcdef: x\n",
            " 1 | token: ************: *",
        ),
    ];
    for (file, content, shown) in cases {
        fs::write(dir.join(file), content).expect("write");
        let out = run(&dir, &["build", file]);
        out.code(1);
        let stderr = text(&out.stderr);
        out.stderr_has("error[yaml-syntax]");
        assert!(
            stderr.contains(shown),
            "{file}: expected {shown:?} in:\n{stderr}"
        );
    }
}
