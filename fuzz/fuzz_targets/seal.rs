//! What `kotalc seal` reads: a certificate or public key (PEM), and values checked as swarm
//! keys, cluster secrets and private keys. None may panic, and no error quotes the value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pem) = std::str::from_utf8(data) {
        let _ = kotalc::secrets::seal::public_key(pem, std::time::SystemTime::UNIX_EPOCH);
    }
    let value = String::from_utf8_lossy(data);
    let value = value.trim();
    // The fuzzer's dictionary holds the binary's strings, so a value can be a piece of
    // kotalc's own wording. Such text is in the messages of the value with its letters'
    // case swapped too; a quoted value is not.
    let swapped: Vec<u8> = data
        .iter()
        .map(|b| if b.is_ascii_alphabetic() { b ^ 0x20 } else { *b })
        .collect();
    let wording = kotalc::ipfs::keys::check_every(&swapped);
    for message in kotalc::ipfs::keys::check_every(data) {
        assert!(
            value.len() < 16
                || !message.contains(value)
                || wording.iter().any(|m| m.contains(value)),
            "an error quotes the value"
        );
    }
});
