//! Attacks on time and memory: inputs built to make kotalc quadratic, unbounded or blocked.
//! What must hold is that each run ends with its diagnostic and exit code; the speed itself is
//! measured in `benches/run.sh`, never asserted here. The guard below only turns a hang into a
//! failure instead of a stuck test run.

use std::fs;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{kotalc, root, scratch, text};

const GUARD: Duration = Duration::from_secs(120);

/// Runs to the end (or fails the test if it hangs), feeding `stdin`.
fn finish(mut command: Command, stdin: Option<Vec<u8>>) -> Output {
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kotalc runs");
    let feeder = stdin.map(|bytes| {
        let mut input = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            let _ = input.write_all(&bytes);
        })
    });
    let out = {
        let started = Instant::now();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let read_out = std::thread::spawn(move || read_all(stdout));
        let read_err = std::thread::spawn(move || read_all(stderr));
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > GUARD {
                let _ = child.kill();
                panic!("kotalc did not finish");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Output {
            status: child.wait().expect("status"),
            stdout: read_out.join().expect("stdout"),
            stderr: read_err.join().expect("stderr"),
        }
    };
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    out
}

fn read_all(mut stream: impl std::io::Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    bytes
}

fn build(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut command = kotalc();
    command.arg("build").args(args).current_dir(dir);
    finish(command, None)
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
            assert_eq!(out.status.code(), Some(1));
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains("more diagnostics not shown"),
                "{file} {format}"
            );
            let shown = match format {
                "human" => stderr.matches("error[").count(),
                "json" => stderr.matches("\"severity\":\"error\"").count(),
                _ => stderr.matches("::error ").count(),
            };
            assert_eq!(shown, 1000, "{file} {format}: the first 1,000 are shown");
            // Memory: a file's problems are collected up to a limit, then counted as one.
            assert!(
                stderr.contains("more than 10000 problems in this file"),
                "{file} {format}"
            );
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
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("at most 128 characters"),
        "{}",
        text(&out.stderr)
    );

    let address = format!("/dns4/{}/tcp/5001", "a".repeat(1_000_000));
    fs::write(
        dir.join("cluster.yaml"),
        format!("apiVersion: ipfs.kotal.io/v1alpha1\nkind: ClusterPeer\nmetadata:\n  name: c\nspec:\n  peerEndpoint: \"{address}\"\n"),
    )
    .expect("write");
    let out = build(&dir, &["cluster.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("at most 512 characters"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn memory_is_bounded_by_the_node_limit() {
    let dir = scratch("bounded-nodes");
    let mut list = String::with_capacity(7_000_000);
    list.push('[');
    for _ in 0..3_100_000 {
        list.push_str("1,");
    }
    list.push_str("1]\n");
    fs::write(dir.join("flow.yaml"), list).expect("write");
    let out = build(&dir, &["flow.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("input-limit"),
        "{}",
        text(&out.stderr)
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
    let have_fifo = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let seal = |args: &[&str], stdin: Option<Vec<u8>>| {
        let mut command = kotalc();
        command
            .args(["seal", "-n", "ipfs", "--name", "s", "--key", "secret"])
            .args(args)
            .current_dir(&dir);
        finish(command, stdin)
    };
    let out = seal(
        &["--cert", "/dev/zero", "--generate", "cluster-secret"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
    let out = seal(&["--cert", &cert, "--from-file", "/dev/zero"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
    if have_fifo {
        let fifo = fifo.display().to_string();
        let out = seal(&["--cert", &fifo, "--generate", "cluster-secret"], None);
        assert_eq!(out.status.code(), Some(1));
        let out = seal(&["--cert", &cert, "--from-file", &fifo], None);
        assert_eq!(out.status.code(), Some(1));
    }
    let out = seal(
        &["--cert", &cert, "--from-stdin"],
        Some(vec![b'a'; 2 << 20]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("limit"), "{}", text(&out.stderr));

    let mut command = kotalc();
    command.arg("krm").current_dir(&dir);
    let mut huge = b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n".to_vec();
    huge.resize(33 << 20, b'#');
    let out = finish(command, Some(huge));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("limit"), "{}", text(&out.stderr));
}
