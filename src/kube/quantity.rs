//! Kubernetes quantities in the two shapes Kotal allows: CPU (`2`, `500m`) and binary byte
//! sizes (`512Mi`). Parsed exactly, compared exactly, and written canonically (`1000m` is
//! `1`, `1024Mi` is `1Gi`) so the output diffs cleanly against what the API server returns.

/// Millicores of a CPU quantity matching `^[1-9][0-9]*m?$`; `None` when it overflows.
pub fn cpu_millis(text: &str) -> Option<u64> {
    match text.strip_suffix('m') {
        Some(millis) => millis.parse().ok(),
        None => text.parse::<u64>().ok()?.checked_mul(1000),
    }
}

const BINARY: [(&str, u32); 6] = [
    ("Ei", 60),
    ("Pi", 50),
    ("Ti", 40),
    ("Gi", 30),
    ("Mi", 20),
    ("Ki", 10),
];

/// Bytes of a quantity matching `^[1-9][0-9]*[KMGTPE]i$`; `None` when it overflows.
pub fn bytes(text: &str) -> Option<u128> {
    let (suffix, shift) = BINARY.iter().find(|(s, _)| text.ends_with(s))?;
    let number: u128 = text.strip_suffix(suffix)?.parse().ok()?;
    number.checked_mul(1u128 << shift)
}

pub fn canonical_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

pub fn canonical_bytes(bytes: u128) -> String {
    for (suffix, shift) in BINARY {
        let unit = 1u128 << shift;
        if bytes.is_multiple_of(unit) {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_compares_across_units() {
        assert_eq!(cpu_millis("1500m"), Some(1500));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert!(cpu_millis("1500m") < cpu_millis("2"));
        assert_eq!(cpu_millis("99999999999999999999"), None);
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_cpu(cpu_millis("1000m").unwrap_or(0)), "1");
        assert_eq!(canonical_cpu(1500), "1500m");
        assert_eq!(canonical_bytes(bytes("1024Mi").unwrap_or(0)), "1Gi");
        assert_eq!(canonical_bytes(bytes("1536Mi").unwrap_or(0)), "1536Mi");
        assert_eq!(canonical_bytes(bytes("2048Ei").unwrap_or(0)), "2048Ei");
        assert_eq!(bytes("999999999999999999999999999999Ei"), None);
    }
}
