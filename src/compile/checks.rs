//! The pipeline's stages before rendering, for the commands that write inputs rather than
//! objects: `migrate` parses and checks Swarms as `build` does before it lowers them, and
//! `import` resolves and checks an export's resources as `build` does each one.

use crate::check::swarm::{self, Lowered};
use crate::check::validate;
use crate::diagnostic::Diagnostic;
use crate::diagnostic::settings::Front;
use crate::diagnostic::source::Sources;
use crate::model::annotations;
use crate::model::defaults::{self, Config};
use crate::model::parse::{self, Object as Typed};

/// The inputs' documents as `build` parses them (`passthrough`: every one, Kotal or not), and
/// the nodes of each Swarm that passes its checks: the Peers `build` lowers it to and
/// `migrate` writes.
pub fn parse(
    sources: &mut Sources,
    passthrough: bool,
    front: Front,
    namespace: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (parse::Parsed, Vec<Lowered>) {
    let parsed = parse::parse(sources, passthrough, front, namespace, diagnostics);
    let swarms = swarm::check_all(&parsed, diagnostics);
    (parsed, swarms)
}

/// A resource's configuration: its spec with the defaults resolved, as every later stage
/// reads it. None for a Swarm (checked and lowered to Peers by `swarm::lower`) or a resource
/// whose structure is invalid.
pub fn configure(resource: &parse::Resource) -> Option<Config> {
    match resource.object.as_ref()? {
        Typed::Peer(peer) => Some(Config::Peer(defaults::peer(
            &peer.spec,
            &peer.metadata.annotations,
        ))),
        Typed::ClusterPeer(cluster) => Some(Config::ClusterPeer(defaults::cluster_peer(
            &cluster.spec,
            &cluster.metadata.annotations,
        ))),
        Typed::Swarm(_) => None,
    }
}

/// Each resource's configuration, each one checked alone as `build` checks it, and the set
/// for duplicates. `build`'s other checks need what an export lacks: its Secrets, and the
/// peers around it.
pub fn validated(
    resources: &[parse::Resource],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Option<Config>> {
    let configs = resources
        .iter()
        .map(|resource| {
            annotations::allowed(resource, diagnostics);
            let config = configure(resource)?;
            validate::resource(resource, &config, diagnostics);
            Some(config)
        })
        .collect();
    validate::duplicates(resources, diagnostics);
    configs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;

    fn parsed(text: &str, diagnostics: &mut Vec<Diagnostic>) -> (parse::Parsed, Vec<Lowered>) {
        let mut sources = Sources::default();
        sources.add("peers.yaml".into(), text.into());
        parse(&mut sources, false, Front::Cli, Some("ipfs"), diagnostics)
    }

    #[test]
    fn each_resource_is_resolved_and_the_set_checked_for_duplicates() {
        let peer = format!(
            "apiVersion: {}\nkind: Peer\nmetadata:\n  name: p\n",
            crate::model::API_VERSION
        );
        let mut diagnostics = Vec::new();
        let (parsed, swarms) = parsed(&format!("{peer}---\n{peer}"), &mut diagnostics);
        assert!(swarms.is_empty());
        let configs = validated(&parsed.resources, &mut diagnostics);
        assert!(configs.iter().all(|c| matches!(c, Some(Config::Peer(_)))));
        let codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&Code::DuplicateResource), "{codes:?}");
    }
}
