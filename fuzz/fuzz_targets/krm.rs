//! A ResourceList in, a ResourceList out: `kotalc krm` must never panic, hang or grow without
//! bound on what an orchestrator (or an attacker) feeds it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kotalc::commands::krm::run(text);
    }
});
