//! The floor the benchmark compares `kotalc build` with: loading every document of kotalc's
//! own rendered output into a generic YAML value with a bare serde YAML library, then
//! writing them all back. Reads a YAML stream on stdin, writes one on stdout.
//!
//! kotalc build DIR > out.yaml; cargo bench --bench floor < out.yaml > /dev/null

use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("read stdin");
    // Budgets raised as kotalc raises them; nothing else is configured.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1_000_000,
            max_nodes: 64_000_000,
            max_events: 256_000_000,
            max_total_scalar_bytes: 1 << 30,
        },
    };
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple_with_options(&input, options).expect("YAML stream");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for doc in &docs {
        out.write_all(b"---\n").expect("write");
        out.write_all(serde_saphyr::to_string(doc).expect("YAML").as_bytes())
            .expect("write");
    }
    out.flush().expect("flush");
}
