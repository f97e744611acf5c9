//! Control characters in a file name or a value reach no terminal raw: every C0 character
//! but the newline, DEL and every C1 character, in a file name, a field name and a value, in
//! human, GitHub and JSON output, in `build -o DIR --check` and in `diff`.

use std::fs;
use std::path::Path;

use crate::common::{run, scratch, text};

/// Every control character a file name can hold: C0 but NUL, `/` is not one, and the
/// newline (a file name with one is still escaped, but lines are what this test splits);
/// DEL; C1.
fn controls() -> String {
    (1u32..0x20)
        .filter(|&c| c != u32::from(b'\n'))
        .chain([0x7f])
        .chain(0x80..0xa0)
        .filter_map(char::from_u32)
        .collect()
}

fn assert_printable(what: &str, output: &[u8]) {
    let output = text(output);
    let raw: Vec<String> = output
        .chars()
        .filter(|&c| c.is_control() && c != '\n')
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    assert!(
        raw.is_empty(),
        "{what}: control characters reach the terminal raw: {raw:?}\n{output}"
    );
}

/// A Peer in a file whose name holds every control character, with an unknown field whose
/// name and value hold them too.
fn hostile_input(dir: &Path) -> String {
    let name = format!("p{}.yaml", controls());
    let escaped: String = controls()
        .chars()
        .map(|c| format!("\\u{:04X}", u32::from(c)))
        .collect();
    fs::write(
        dir.join(&name),
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\nspec:\n  \"bad{escaped}\": \"v{escaped}\"\n  routing: \"x{escaped}\"\n"
        ),
    )
    .expect("write");
    name
}

#[test]
fn names_and_values_are_escaped_in_every_format() {
    let work = scratch("control-formats");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    hostile_input(&work.join("in"));
    for format in ["human", "github", "json"] {
        for command in ["validate", "build"] {
            let out = run(&work, &[command, "in", "--format", format]);
            out.code(1);
            assert!(!out.stderr.is_empty());
            assert_printable(&format!("{command} --format {format}"), &out.stderr);
            assert_printable(&format!("{command} --format {format} stdout"), &out.stdout);
        }
    }
}

#[test]
fn check_and_diff_escape_names_and_contents_of_the_output_directory() {
    let work = scratch("control-check");
    fs::create_dir_all(work.join("in")).expect("mkdir");
    fs::write(
        work.join("in/p.yaml"),
        "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n  namespace: ipfs\n",
    )
    .expect("write");
    let out = run(&work, &["build", "in", "-o", "out"]);
    out.code(0);
    // A file kotalc did not write, named with every control character, and a written file
    // edited to hold them.
    fs::write(
        work.join(format!("out/x{}.yaml", controls())),
        format!("kind: {}\n", controls()),
    )
    .expect("write");
    let service = work.join("out/ipfs/service-p.yaml");
    let edited = fs::read_to_string(&service).expect("read") + &format!("# {}\n", controls());
    fs::write(&service, edited).expect("edit");
    for format in ["human", "github", "json"] {
        let out = run(
            &work,
            &["build", "in", "-o", "out", "--check", "--format", format],
        );
        out.code(1);
        assert_printable(&format!("--check --format {format} stderr"), &out.stderr);
        assert_printable(&format!("--check --format {format} stdout"), &out.stdout);
        out.stderr_has("\\u{1b}");
    }
    let out = run(&work, &["diff", "in", "--against", "out"]);
    assert_printable("diff stdout", &out.stdout);
    assert_printable("diff stderr", &out.stderr);
}
