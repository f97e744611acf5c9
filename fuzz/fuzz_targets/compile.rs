//! Bytes in, diagnostics or objects out: the loader, parser, checks and renderer must never
//! panic, hang or grow without bound, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut outcome = kotalc::compile::compile_bytes(data);
    // The render is left to whoever takes the objects: taken here, so it is fuzzed too.
    let _ = outcome.take_objects();
    // Rendering the diagnostics is part of the contract too: snippets, carets, windows.
    for d in &outcome.diagnostics {
        let _ = kotalc::diagnostic::render(d, &outcome.sources, kotalc::diagnostic::Format::Human);
    }
});
