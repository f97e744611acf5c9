//! Attacks on time and memory: inputs built to make kotalc quadratic, unbounded or blocked.
//! What must hold is that each run ends with its diagnostic and exit code; the speed itself is
//! measured in `benches/run.sh`, never asserted here. `common::HANG_GUARD` only turns a hang
//! into a failure instead of a stuck test run.

use std::fs;
use std::process::Command;

use crate::common::{Kotalc, Run, root, scratch, text};

fn build(dir: &std::path::Path, args: &[&str]) -> Run {
    Kotalc::new().arg("build").args(args).current_dir(dir).run()
}

#[test]
fn diagnostics_for_100k_documents_are_rendered_and_capped() {
    let dir = scratch("bounded-documents");
    fs::write(dir.join("many.yaml"), "--- 1\n".repeat(100_000)).expect("write");
    let mut fields = String::from(
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n",
    );
    for i in 0..100_000 {
        fields.push_str(&format!("  unknown{i}: x\n"));
    }
    fs::write(dir.join("fields.yaml"), fields).expect("write");
    for file in ["many.yaml", "fields.yaml"] {
        for format in ["human", "json", "github"] {
            let out = build(&dir, &[file, "--format", format]);
            out.code(1);
            let stderr = text(&out.stderr);
            out.stderr_has("more diagnostics not shown");
            let shown = match format {
                "human" => stderr.matches("error[").count(),
                "json" => stderr.matches("\"severity\":\"error\"").count(),
                _ => stderr.matches("::error ").count(),
            };
            assert_eq!(shown, 1000, "{file} {format}: the first 1,000 are shown");
            // Memory: a file's problems are collected up to a limit, then counted as one.
            out.stderr_has("more than 10000 problems in this file");
        }
    }
}

#[test]
fn over_long_values_are_refused_before_they_are_decoded() {
    let dir = scratch("bounded-long-values");
    let id = "1".to_string() + &"2".repeat(800_000);
    fs::write(
        dir.join("peer.yaml"),
        format!("apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  annotations:\n    kotalc.io/peer-id: \"{id}\"\n    kotalc.io/identity-secret: s\n"),
    )
    .expect("write");
    let out = build(&dir, &["peer.yaml"]);
    out.code(1).stderr_has("at most 128 characters");

    let address = format!("/dns4/{}/tcp/5001", "a".repeat(1_000_000));
    fs::write(
        dir.join("cluster.yaml"),
        format!("apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: c\nspec:\n  peerEndpoint: \"{address}\"\n"),
    )
    .expect("write");
    let out = build(&dir, &["cluster.yaml"]);
    out.code(1).stderr_has("at most 512 characters");
}

/// The peak memory allowed for refusing a file over the node limit. Measured: about 300 MiB
/// for 3.1 million nodes and the same for 15 million (a debug build); a parser without the
/// limit would hold five times as many nodes.
const PEAK_RSS_BOUND: u64 = 512 << 20;

/// A file of five times more YAML nodes than the limit (30 MB, within the file size limit)
/// is refused within the memory of the limit: the parse stops there instead of building the
/// whole tree. The bound is the kernel's count of the process's peak resident memory,
/// whatever the machine's speed.
#[test]
fn memory_is_bounded_by_the_node_limit() {
    let dir = scratch("bounded-nodes");
    let mut list = String::with_capacity(30_000_004);
    list.push('[');
    for _ in 0..15_000_000 {
        list.push_str("1,");
    }
    list.push_str("1]\n");
    fs::write(dir.join("flow.yaml"), list).expect("write");
    let run = Kotalc::new()
        .args(["build", "flow.yaml"])
        .current_dir(&dir)
        .run();
    run.code(1).stderr_has("input-limit");
    assert!(
        run.peak_rss_bytes < PEAK_RSS_BOUND,
        "peak memory {} MiB, bound {} MiB",
        run.peak_rss_bytes >> 20,
        PEAK_RSS_BOUND >> 20
    );
}

#[test]
fn every_read_is_bounded_and_refuses_what_is_not_a_file() {
    let dir = scratch("bounded-reads");
    let cert = root()
        .join("tests/data/controller.crt")
        .display()
        .to_string();
    let fifo = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) runs");
    let seal = |args: &[&str], stdin: Option<Vec<u8>>| {
        let seal = Kotalc::new()
            .args(["seal", "-n", "ipfs", "--name", "s", "--key", "secret"])
            .args(args)
            .current_dir(&dir);
        match stdin {
            Some(bytes) => seal.stdin(bytes),
            None => seal,
        }
        .run()
    };
    let out = seal(
        &["--cert", "/dev/zero", "--generate", "cluster-secret"],
        None,
    );
    out.code(1).stderr_has("not a regular file");
    let out = seal(&["--cert", &cert, "--from-file", "/dev/zero"], None);
    out.code(1).stderr_has("not a regular file");
    let fifo = fifo.display().to_string();
    let out = seal(&["--cert", &fifo, "--generate", "cluster-secret"], None);
    out.code(1);
    let out = seal(&["--cert", &cert, "--from-file", &fifo], None);
    out.code(1);
    let out = seal(
        &["--cert", &cert, "--from-stdin"],
        Some(vec![b'a'; 2 << 20]),
    );
    out.code(1).stderr_has("limit");

    let mut huge = b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n".to_vec();
    huge.resize(33 << 20, b'#');
    let out = Kotalc::new().arg("krm").current_dir(&dir).stdin(huge).run();
    out.code(1).stderr_has("limit");
}
