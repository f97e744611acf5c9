//! A short, bounded run of the fuzz target's function (`fuzz/fuzz_targets/compile.rs`) on the
//! stable toolchain: arbitrary bytes, YAML-shaped text, and the fixtures with random edits.
//! Any panic fails the test. The real fuzzer runs with `cargo fuzz run compile`.

use proptest::prelude::*;

fn check(bytes: &[u8]) {
    let outcome = kotalc::compile::compile_bytes(bytes);
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
