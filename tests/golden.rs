//! Golden fixtures: `fixtures/<case>/input` is built (with the arguments in
//! `fixtures/<case>/args`, one per line), or, for commands other than `build`, the whole
//! command line is read from `fixtures/<case>/command` and `stdin.yaml`, if present, is its
//! standard input; stdout, stderr and the exit code are
//! compared with `fixtures/<case>/expected/`. `KOTALC_BLESS=1 cargo test --test integration golden` rewrites
//! the expected files after an intended change.

use std::fs;
use std::path::Path;

use crate::common::{Kotalc, root, run, text};

/// The fixture cases, in path order.
pub fn cases() -> Vec<std::path::PathBuf> {
    let mut cases: Vec<_> = fs::read_dir(root().join("fixtures"))
        .expect("fixtures directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("input").is_dir() || p.join("command").is_file())
        .collect();
    cases.sort();
    cases
}

pub fn args_of(case: &Path) -> Vec<String> {
    if let Ok(text) = fs::read_to_string(case.join("command")) {
        return text
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
    }
    let mut args = vec!["build".to_string()];
    if let Ok(text) = fs::read_to_string(case.join("args")) {
        args.extend(text.lines().filter(|l| !l.is_empty()).map(String::from));
    }
    args.push("input".into());
    args
}

#[test]
fn golden_fixtures() {
    let bless = std::env::var_os("KOTALC_BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() > 30, "fixtures went missing");
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let args = args_of(case);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = match fs::read(case.join("stdin.yaml")) {
            Ok(stdin) => Kotalc::new()
                .current_dir(case)
                .args(&argv)
                .stdin(&stdin)
                .run(),
            Err(_) => run(case, &argv),
        };
        let actual = [
            ("stdout.yaml", text(&out.stdout)),
            ("stderr.txt", text(&out.stderr)),
            (
                "exit-code",
                format!("{}\n", out.status.code().unwrap_or(-1)),
            ),
        ];
        let expected_dir = case.join("expected");
        if bless {
            fs::create_dir_all(&expected_dir).expect("expected dir");
        }
        for (file, content) in &actual {
            let path = expected_dir.join(file);
            if bless {
                fs::write(&path, content).expect("bless");
                continue;
            }
            let expected = fs::read_to_string(&path).unwrap_or_default();
            if &expected != content {
                failures.push(format!(
                    "{name}/{file}:\n--- expected\n{expected}\n--- actual\n{content}"
                ));
            }
        }
        // Build cases are named for their outcome; other commands (a KRM function reports
        // errors on stdout) are judged by their expected files alone.
        let is_build = !case.join("command").exists();
        let is_error_case = name.starts_with("err-");
        let code = out.status.code().unwrap_or(-1);
        if is_build && is_error_case != (code != 0) {
            failures.push(format!("{name}: exit code {code} does not fit its name"));
        }
        if is_build && is_error_case && !out.stdout.is_empty() {
            failures.push(format!("{name}: an error case wrote to stdout"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatches (bless with KOTALC_BLESS=1):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
