//! What `kotalc seal` reads: a certificate or public key (PEM), and values checked as swarm
//! keys, cluster secrets and private keys. None may panic, and no error quotes the value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pem) = std::str::from_utf8(data) {
        let _ = kotalc::seal::public_key(pem, std::time::SystemTime::UNIX_EPOCH);
    }
    let value = String::from_utf8_lossy(data);
    for message in kotalc::keys::check_every(data) {
        assert!(
            value.trim().len() < 16 || !message.contains(value.trim()),
            "an error quotes the value"
        );
    }
});
