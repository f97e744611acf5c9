//! Memory and storage settings derived from a resource's own limits: Go's `GOMEMLIMIT` on
//! kubo and ipfs-cluster, kubo's `Swarm.ResourceMgr.MaxMemory`, and kubo's
//! `Datastore.StorageMax` with its GC watermark. Without them, kubo sizes libp2p's resource
//! manager from the node's memory (half of it), Go's collector ignores the container's limit,
//! and GC works towards kubo's default 10GB whatever the claim's size.
//!
//! Each setting is derived unless the resource's annotation gives it: a quantity sets it,
//! `off` leaves it to the program (the image's environment, or what `ipfs config` left in the
//! repository).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::kube::quantity;
use crate::model::annotations::{GO_MEMORY_LIMIT, RESOURCE_MANAGER_MEMORY, STORAGE_MAX};

/// `GOMEMLIMIT` as a share of the container's memory limit, in percent. Go's limit is soft and
/// counts only memory the Go runtime manages; the rest of the limit is for what it does not
/// count (the binary's text and data, C and kernel allocations, memory mapped by the
/// datastore, the page cache of the repository's writes that the kernel charges to the
/// container) and for the heap's overshoot while a collection runs.
pub const GO_MEMORY_PERCENT: u128 = 80;
/// kubo's `Swarm.ResourceMgr.MaxMemory` as a share of the container's memory limit: kubo's own
/// ratio (half of the memory it sees, which is the node's), applied to the container's.
/// libp2p's resource manager accounts for connection and stream buffers only, so it stays
/// well under `GOMEMLIMIT`, leaving the heap's rest to bitswap, the DHT, the gateway and the
/// blockstore's caches.
pub const RESOURCE_MANAGER_PERCENT: u128 = 50;
/// kubo's `Datastore.StorageMax` as a share of the claim, in percent: the blocks are not all
/// the repository holds (the datastore with pins, MFS and the provider queue, the keystore,
/// the datastore's compactions), and ext4 reserves 5% of a volume for root, which kubo,
/// running as uid 1000, cannot use.
pub const STORAGE_MAX_PERCENT: u128 = 90;
/// kubo's `Datastore.StorageGCWatermark`, set at every start: GC (`--enable-gc`) starts at this
/// share of `StorageMax`, so at 81% of the claim, and removes unpinned blocks until the
/// repository is under it.
pub const GC_WATERMARK: u8 = 90;

/// The settings as the programs read them, `None` where kotalc leaves a setting alone.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Runtime {
    /// `GOMEMLIMIT` on the daemon container.
    pub go_memory_limit: Option<String>,
    /// kubo's `Swarm.ResourceMgr.MaxMemory` (Peers).
    pub resource_manager_memory: Option<String>,
    /// kubo's `Datastore.StorageMax` (Peers).
    pub storage_max: Option<String>,
    /// kubo's `Datastore.StorageGCWatermark`, with `storage_max`.
    pub gc_watermark: Option<u8>,
}

/// What an annotation says about one setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Given {
    /// No annotation: derived from the limit.
    Derived,
    /// `off`: left to the program.
    Off,
    /// A quantity, in bytes.
    Bytes(u128),
}

/// An annotation's value: `off` or a quantity as `spec.resources` writes one (`3Gi`).
pub fn given(annotations: &BTreeMap<String, String>, key: &str) -> Result<Given, String> {
    match annotations.get(key).map(|text| text.trim()) {
        None => Ok(Given::Derived),
        Some("off") => Ok(Given::Off),
        Some(text) => match quantity::bytes(text) {
            Some(0) | None => Err(format!(
                "{key:?} is a quantity of bytes such as 3Gi or 512Mi, or \"off\", not {text:?}"
            )),
            Some(bytes) => Ok(Given::Bytes(bytes)),
        },
    }
}

/// A size as Go's `GOMEMLIMIT` and kubo's humanize-parsed settings both read it: a whole
/// number of GiB or MiB where it is one, bytes otherwise (`B`, which both accept).
pub fn program_bytes(bytes: u128) -> String {
    const MIB: u128 = 1 << 20;
    const GIB: u128 = 1 << 30;
    if bytes.is_multiple_of(GIB) {
        format!("{}GiB", bytes / GIB)
    } else if bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else {
        format!("{bytes}B")
    }
}

/// `percent` of `total`, rounded down to whole MiB when that leaves at least one.
fn share(total: u128, percent: u128) -> u128 {
    const MIB: u128 = 1 << 20;
    let exact = total / 100 * percent + total % 100 * percent / 100;
    if exact >= MIB {
        exact / MIB * MIB
    } else {
        exact
    }
}

fn setting(given: Given, total: Option<u128>, percent: u128) -> Option<String> {
    match given {
        Given::Off => None,
        Given::Bytes(bytes) => Some(program_bytes(bytes)),
        Given::Derived => total.map(|t| program_bytes(share(t, percent))),
    }
}

/// A Peer's settings, from its memory limit and claim in bytes (`None`: too large, which
/// validation reports).
pub fn peer(
    memory: Option<u128>,
    storage: Option<u128>,
    annotations: &BTreeMap<String, String>,
) -> Runtime {
    let read = |key| given(annotations, key).unwrap_or(Given::Derived);
    let storage_max = setting(read(STORAGE_MAX), storage, STORAGE_MAX_PERCENT);
    Runtime {
        go_memory_limit: setting(read(GO_MEMORY_LIMIT), memory, GO_MEMORY_PERCENT),
        resource_manager_memory: setting(
            read(RESOURCE_MANAGER_MEMORY),
            memory,
            RESOURCE_MANAGER_PERCENT,
        ),
        gc_watermark: storage_max.as_ref().map(|_| GC_WATERMARK),
        storage_max,
    }
}

/// A ClusterPeer's settings: `GOMEMLIMIT` only.
pub fn cluster_peer(memory: Option<u128>, annotations: &BTreeMap<String, String>) -> Runtime {
    let read = |key| given(annotations, key).unwrap_or(Given::Derived);
    Runtime {
        go_memory_limit: setting(read(GO_MEMORY_LIMIT), memory, GO_MEMORY_PERCENT),
        ..Runtime::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_down_to_mebibytes() {
        assert_eq!(program_bytes(share(4 << 30, GO_MEMORY_PERCENT)), "3276MiB");
        assert_eq!(
            program_bytes(share(4 << 30, RESOURCE_MANAGER_PERCENT)),
            "2GiB"
        );
        assert_eq!(program_bytes(share(10 << 30, STORAGE_MAX_PERCENT)), "9GiB");
        assert_eq!(
            program_bytes(share(5 << 30, STORAGE_MAX_PERCENT)),
            "4608MiB"
        );
        assert_eq!(
            program_bytes(share(1 << 40, STORAGE_MAX_PERCENT)),
            "943718MiB"
        );
        // Below one MiB, bytes: never zero, which Go would read as no memory at all.
        assert_eq!(program_bytes(share(1 << 10, GO_MEMORY_PERCENT)), "819B");
        // No overflow at the largest size there is.
        assert!(share(u128::MAX, GO_MEMORY_PERCENT) < u128::MAX / 100 * 81);
    }

    #[test]
    fn annotations_set_or_leave_a_setting() {
        let annotations = |v: &str| BTreeMap::from([(GO_MEMORY_LIMIT.to_string(), v.to_string())]);
        assert_eq!(
            given(&annotations("3Gi"), GO_MEMORY_LIMIT),
            Ok(Given::Bytes(3 << 30))
        );
        assert_eq!(given(&annotations("off"), GO_MEMORY_LIMIT), Ok(Given::Off));
        assert!(given(&annotations("3GB"), GO_MEMORY_LIMIT).is_err());
        assert!(given(&annotations("0Mi"), GO_MEMORY_LIMIT).is_err());
        assert_eq!(given(&BTreeMap::new(), GO_MEMORY_LIMIT), Ok(Given::Derived));
    }
}
