//! A short, bounded run of the fuzz target's function (`fuzz/fuzz_targets/compile.rs`) on the
//! stable toolchain: arbitrary bytes, YAML-shaped text, and the fixtures with random edits.
//! Any panic fails the test. The real fuzzer runs with `cargo fuzz run compile`.

use proptest::prelude::*;

fn check(bytes: &[u8]) {
    let mut outcome = kotalc::compile::compile_bytes(bytes);
    // The render is left to whoever takes the objects: taken, as the fuzz target does.
    let _ = outcome.take_objects();
    for d in &outcome.diagnostics {
        let _ = kotalc::diagnostic::render(d, &outcome.sources, kotalc::diagnostic::Format::Human);
        let _ = kotalc::diagnostic::render(d, &outcome.sources, kotalc::diagnostic::Format::Github);
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> =
        std::fs::read_dir(crate::common::root().join("fuzz/corpus/compile"))
            .expect("corpus")
            .map(|e| std::fs::read(e.expect("entry").path()).expect("seed"))
            .collect();
    seeds.sort();
    seeds
}

/// Pieces of Kotal YAML, so that random text gets past the parser often enough to reach the
/// checks and the renderer.
const FRAGMENTS: &[&str] = &[
    "apiVersion: ipfs.kotal.io/v1alpha1\n",
    "kind: Peer\n",
    "kind: ClusterPeer\n",
    "kind: Swarm\n",
    "metadata:\n",
    "  name: p\n",
    "  namespace: ns\n",
    "spec:\n",
    "  api: true\n",
    "  apiPort: 4001\n",
    "  resources:\n",
    "    cpu: 500m\n",
    "    memory: 8Gi\n",
    "  peerEndpoint: /dns4/p/tcp/5001\n",
    "  clusterSecretName: s\n",
    "  id: 12D3KooW\n",
    "  nodes:\n",
    "    - name: n\n",
    "---\n",
    "&a [*a]\n",
    "  annotations:\n",
    "    kotalc.io/peering: /dns4/x/tcp/1/p2p/k51\n",
    "\t",
    "\u{feff}",
    "\"\\u0000\"",
    "{",
    "}",
    "[",
    "]",
    ": ",
    "- ",
    "  ",
    "\n",
    "privateKey: CAESQ\n",
    "!!binary x\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }

    #[test]
    fn yaml_shaped_text(parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..40)) {
        let text: String = parts.iter().map(|&i| FRAGMENTS[i]).collect();
        check(text.as_bytes());
    }

    #[test]
    fn edited_fixtures(
        seed in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let seeds = seeds();
        let mut bytes = seeds[seed.index(seeds.len())].clone();
        for (at, byte) in edits {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
        }
        check(&bytes);
    }
}

/// Inputs that once failed, kept as they were found.
#[test]
fn regressions() {
    // A multi-byte character where `privateKey` would end: redaction sliced inside it.
    check("\"\\u0000\"}\u{feff}}!!binary x".as_bytes());
    check("privateKe\u{feff}: x\n".as_bytes());
}

/// Documents where a secret value sits in every position that once leaked: flow and block
/// Swarm nodes, tabs, swapped fields, Secrets beside syntax and duplicate-key errors, lists.
const SECRET_SHAPES: &[&str] = &[
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Swarm\nmetadata:\n  name: s\nspec:\n  nodes:\n    - {name: n, id: 12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq, privateKey: \"KEY\", profiles: [x]}\n",
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Swarm\nmetadata:\n  name: s\nspec:\n  nodes:\n    - name: n\n      id: KEY\n      privateKey: 12D3KooWBcEtY8GH4mNkri9kM3haeWhEXtQV7mi81ErWrqLYGuiq\n",
    "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Swarm\nmetadata:\n  name: s\nspec:\n  nodes:\n    - name: n\n      privateKey:\tKEY\n      bogus: 1\n",
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: KEY: x\n",
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: KEY\n  k: KEY\n",
    "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: \"KEY\", j: [}\n",
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n  stringData:\n    k: KEY\n",
    "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s\nspec:\n  template:\n    data:\n      k: |\n        KEY\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random key material, in any of the shapes and with random damage after it, never
    /// appears in any diagnostic of any format, nor in the KRM function's output.
    #[test]
    fn key_material_never_reaches_an_output_stream(
        key in "[A-Za-z0-9+/]{40}",
        shape in 0..SECRET_SHAPES.len(),
        damage in proptest::collection::vec(0..FRAGMENTS.len(), 0..4),
    ) {
        let mut text = SECRET_SHAPES[shape].replace("KEY", &key);
        text.extend(damage.iter().map(|&i| FRAGMENTS[i]));
        let mut outcome = kotalc::compile::compile_bytes(text.as_bytes());
        let objects = outcome.take_objects();
        for d in &outcome.diagnostics {
            for format in [
                kotalc::diagnostic::Format::Human,
                kotalc::diagnostic::Format::Json,
                kotalc::diagnostic::Format::Github,
            ] {
                let shown = kotalc::diagnostic::render(d, &outcome.sources, format);
                prop_assert!(!shown.contains(&key), "{shown}");
            }
        }
        for object in &objects {
            prop_assert!(!object.yaml.contains(&key));
        }
        let indented: String = text.lines().map(|l| format!("  {l}\n")).collect();
        let list = format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: ipfs.kotal.io/v1alpha1\n  kind: Peer\n  metadata: {{name: p}}\nfunctionConfig:\n  apiVersion: kotalc.io/v1alpha1\n  kind: KotalcBuild\n  spec:\n    paths: []\n  extra:\n{indented}"
        );
        let (output, _) = kotalc::commands::krm::run(&list);
        let results = output["results"].to_string();
        prop_assert!(!results.contains(&key), "{results}");
    }

    /// The KRM function and the sealing checks on arbitrary input: no panic, and no refused
    /// value quoted in its error.
    #[test]
    fn krm_and_seal_inputs(parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..40),
                           bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let body: String = parts.iter().map(|&i| FRAGMENTS[i]).collect();
        let _ = kotalc::commands::krm::run(&format!(
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{body}"
        ));
        let _ = kotalc::commands::krm::run(&body);
        let text = String::from_utf8_lossy(&bytes);
        let _ = kotalc::secrets::seal::public_key(&text, std::time::SystemTime::UNIX_EPOCH);
        let _ = kotalc::secrets::seal::public_key(
            &format!("-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----\n"),
            std::time::SystemTime::UNIX_EPOCH,
        );
        let value = String::from_utf8_lossy(&bytes);
        for message in kotalc::ipfs::keys::check_every(&bytes) {
            prop_assert!(value.trim().len() < 16 || !message.contains(value.trim()));
        }
    }
}
