//! Warnings for configurations the operator accepts but that misbehave at run time (spec
//! section 3). Each has a stable code that `kotalc.io/allow` can name and `--deny-warnings`
//! turns into an error.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::defaults::Config;
use crate::model::parse::Resource;
use crate::model::parse::{items, span_of};

pub fn resource(resource: &Resource, config: &Config, diagnostics: &mut Vec<Diagnostic>) {
    if let Config::ClusterPeer(cluster) = config {
        raft_trusted_peers(resource, cluster, diagnostics);
    }
    if let Config::Peer(peer) = config {
        let warn = |code: Code, path: &str, message: String| {
            Diagnostic::new(code, message)
                .at(span_of(resource, path))
                .field(path)
        };
        if resource.root.at("spec.logging").is_some()
            && peer.logging == crate::model::PeerLogging::Notice
        {
            diagnostics.push(
                warn(
                    Code::LoggingNotice,
                    "spec.logging",
                    "kubo has no log level \"notice\" and falls back to \"error\"".into(),
                )
                .help("use \"info\" for the same messages, or \"error\" to say what happens"),
            );
        }
        for (list, once) in [("initProfiles", true), ("profiles", false)] {
            for (path, profile) in items(resource, &format!("spec.{list}")) {
                profile_lints(&path, profile, once, &warn, diagnostics);
            }
        }
        let peers_in_cluster = peer.swarm_key_secret_name.is_some()
            || peer.peering.as_deref().is_some_and(|p| p != "[]");
        if peers_in_cluster {
            for list in ["initProfiles", "profiles"] {
                for (path, _) in items(resource, &format!("spec.{list}"))
                    .into_iter()
                    .filter(|(_, profile)| *profile == "server")
                {
                    diagnostics.push(
                        warn(
                            Code::ServerProfileFiltersCluster,
                            &path,
                            "the \"server\" profile filters 10.0.0.0/8, 100.64.0.0/10, \
                             172.16.0.0/12 and 192.168.0.0/16 out of the swarm, where pod and \
                             Service addresses live: this peer never connects to the peers it is \
                             meant to find inside the cluster"
                                .into(),
                        )
                        .help(
                            "remove \"server\" (kubo's Swarm.AddrFilters blocks dialling and \
                             accepting alike); a private swarm's key already keeps outsiders out",
                        ),
                    );
                }
            }
        }
        if resource.root.at("spec.image").is_some()
            && let Some(release) = crate::ipfs::kubo::release(&peer.image)
            && release >= crate::ipfs::kubo::REPO_16
        {
            diagnostics.push(
                warn(
                    Code::KuboRepoMigration,
                    "spec.image",
                    format!(
                        "kubo {release} needs repository version 16 or later: a repository made \
                         by kubo before v0.30 (version 15) is migrated at start by the external \
                         fs-repo-15-to-16, which kubo downloads from public gateways unless the \
                         image has it on its PATH; without egress config-ipfs fails"
                    ),
                )
                .help(
                    "a new volume needs nothing: silence this with `kotalc.io/allow: \
                     kubo-repo-migration`; to upgrade an existing one, see the README, \
                     \"Upgrading kubo across repository version 16\"",
                ),
            );
        }
        if resource.root.at("spec.swarmKeySecretName").is_some() && peer.peering.is_none() {
            diagnostics.push(
                warn(
                    Code::PrivateSwarmIsolated,
                    "spec.swarmKeySecretName",
                    "a private swarm has no public bootstrap peers, and Kotal configures none of \
                     its own: its peers never find each other"
                        .into(),
                )
                .help(
                    "list the peers to connect to in the annotation `kotalc.io/peering`, as \
                     /dns4/<peer>/tcp/4001/p2p/<peer ID>; a peer's ID stays the same only when \
                     it has a fixed identity, the annotations `kotalc.io/peer-id` and \
                     `kotalc.io/identity-secret` (`kotalc new private-swarm` writes a swarm \
                     wired this way). Or silence this with `kotalc.io/allow: \
                     private-swarm-isolated` if they are connected another way",
                ),
            );
        }
    }
}

/// Under raft every peer is trusted (consensus/raft/consensus.go:234 `IsTrustedPeer` returns
/// true at v1.0.8 and v1.1.6), and `CLUSTER_CRDT_*` configures a component a raft peer does
/// not load: a trust list there restricts nothing.
fn raft_trusted_peers(
    resource: &Resource,
    cluster: &crate::model::defaults::ClusterPeerConfig,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let path = "spec.trustedPeers";
    if cluster.consensus != crate::model::Consensus::Raft || items(resource, path).is_empty() {
        return;
    }
    diagnostics.push(
        Diagnostic::new(
            Code::RaftTrustedPeers,
            "trustedPeers only apply to crdt consensus: under raft every peer of the peerset \
             is trusted, and this list restricts nothing",
        )
        .at(span_of(resource, path))
        .field(path)
        .help("remove trustedPeers, or use `consensus: crdt` to limit who may modify the pinset"),
    );
}

fn profile_lints(
    path: &str,
    profile: &str,
    once: bool,
    warn: &impl Fn(Code, &str, String) -> Diagnostic,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let datastore = matches!(profile, "flatfs" | "badgerds" | "default-datastore");
    if datastore && !once {
        diagnostics.push(
            warn(
                Code::InitOnlyProfile,
                path,
                // kubo applies the profile, and every later command that opens the repository
                // fails (repo/fsrepo/fsrepo.go checkDatastoreSpec): the next one is config-ipfs's.
                format!(
                    "the datastore profile {profile:?} is re-applied on every start: once it \
                     differs from the repository's datastore, the init container config-ipfs \
                     fails with \"datastore configuration ... does not match what is on \
                     disk\" and the pod never starts"
                ),
            )
            .help("move it to initProfiles, which apply once, when the repository is created"),
        );
    }
    if profile == "randomports" {
        let when = if once {
            "a random port when the repository is created"
        } else {
            "a new random port on every start"
        };
        diagnostics.push(
            warn(
                Code::RandomportsProfile,
                path,
                format!("\"randomports\" gives the swarm {when}, but the Service exposes 4001"),
            )
            .help("remove it; other peers reach this one through the Service's port 4001"),
        );
    }
    if profile == "badgerds" {
        diagnostics.push(
            warn(
                Code::Badgerds,
                path,
                "the badger datastore is deprecated in kubo and slated for removal".into(),
            )
            .help("use the default flatfs datastore (\"default-datastore\" or \"flatfs\")"),
        );
    }
}
