//! `kotalc new private-swarm`: a private swarm from fresh keys, sealed as they are made, so
//! that no peer ID is copied by hand and no plaintext touches disk. The Peers are the ones
//! `kotalc migrate` writes for a Swarm: fixed identities and full-mesh peering.

use std::collections::BTreeMap;

use serde_json::json;

use super::report::{EXIT_OK, EXIT_USAGE, summary_of};
use crate::check::set::CLUSTER_SWARM_PORT;
use crate::check::swarm::{self, Member};
use crate::commands::cli::{NewArgs, Template};
use crate::diagnostic::path::display;
use crate::diagnostic::{Code, Diagnostic, Format};
use crate::ipfs::keys::{self, Material};
use crate::kube::names::MAX_NAME;
use crate::secrets::seal::{self, Scope};

/// A problem of the command as a whole, then the summary.
fn fail(d: &Diagnostic, format: Format) -> u8 {
    super::report::fail_output(&crate::compile::Outcome::default(), d, format)
}

pub fn new(args: &NewArgs) -> u8 {
    let Template::PrivateSwarm = args.template;
    let usage = |message: String| {
        eprintln!("error: {message}");
        EXIT_USAGE
    };
    if let Some(problem) = crate::kube::names::namespace(&args.namespace) {
        return usage(format!("--namespace {:?}: {problem}", args.namespace));
    }
    let name = &args.name;
    let last = args.peers - 1;
    let longest = if args.cluster {
        format!("{name}-cluster-{last}")
    } else {
        format!("{name}-{last}")
    };
    if let Some(problem) = crate::kube::names::dns1035_label(&longest, MAX_NAME) {
        return usage(format!(
            "NAME {name:?} gives resources names such as {longest:?}, which is not a valid \
             name: {problem}"
        ));
    }
    // Fresh keys never replace a swarm's: a running peer keeps the identity its repository
    // was created with, and would no longer match its Peer.
    if crate::output::emit::holds_entries(&args.output) {
        return fail(
            &Diagnostic::new(
                Code::OutputDir,
                format!(
                    "{} is not empty: kotalc new writes only into a new or empty directory",
                    display(&args.output)
                ),
            )
            .path(display(&args.output))
            .help(
                "name a new directory; a swarm's keys are made once, and kotalc never replaces \
                 them",
            ),
            args.format,
        );
    }
    let key = match super::secrets::certificate(&args.cert) {
        Ok(key) => key,
        Err(d) => return fail(&d, args.format),
    };
    let files = match private_swarm(args, &key) {
        Ok(files) => files,
        Err(d) => return fail(&d, args.format),
    };
    let resources = usize::from(args.peers) * if args.cluster { 2 } else { 1 };
    match crate::output::emit::write_dir(
        &args.output,
        &files,
        false,
        crate::output::emit::GENERATED_MARKER,
    ) {
        Ok(written) => {
            summary_of(
                &[],
                resources,
                args.format,
                Some(format!(
                    "wrote {} to {}",
                    super::report::files(written.files),
                    display(&args.output)
                )),
            );
            EXIT_OK
        }
        Err(d) => fail(&d, args.format),
    }
}

/// The files of a new swarm, its Secrets among them, each generated and sealed as it is made.
struct Files<'a> {
    key: &'a rsa::PublicKey,
    namespace: &'a str,
    files: BTreeMap<String, String>,
}

impl Files<'_> {
    /// Generates a value and files it sealed, named as the placeholders' commands name it;
    /// returns a peer identity's ID.
    fn secret(&mut self, name: &str, material: Material) -> Result<String, Diagnostic> {
        let generated = keys::generate(material).map_err(|e| Diagnostic::new(Code::Io, e))?;
        let values = BTreeMap::from([(material.data_key().to_string(), generated.value)]);
        let peer_id = generated.peer_id.map(|id| id.to_base58());
        let yaml = seal::sealed_yaml(
            self.key,
            Scope::Strict,
            Some(self.namespace),
            name,
            &values,
            &seal::peer_id_annotation(peer_id.as_deref()),
        )
        .map_err(|e| Diagnostic::new(Code::InvalidCertificate, e))?;
        self.files.insert(
            crate::kube::manifest::file("SealedSecret", None, name),
            yaml,
        );
        Ok(peer_id.unwrap_or_default())
    }

    /// `count` peers named `<prefix><i>`, each with a sealed identity of its own.
    fn members(&mut self, prefix: &str, count: u16) -> Result<Vec<Member>, Diagnostic> {
        (0..count)
            .map(|i| {
                let name = format!("{prefix}{i}");
                let peer_id =
                    self.secret(&swarm::identity_secret(&name), Material::PeerIdentity)?;
                Ok(Member { name, peer_id })
            })
            .collect()
    }

    /// A resource's file, `<kind>-<name>.yaml`, with a comment on where it came from.
    fn resource(&mut self, object: &serde_json::Value, comment: &str) -> Result<(), Diagnostic> {
        let yaml = crate::diagnostic::manifest_text(object).map_err(|e| {
            Diagnostic::new(
                Code::OutputFile,
                format!("cannot write a resource as YAML: {e}"),
            )
        })?;
        let key = crate::kube::manifest::Key::of(object);
        let file = crate::kube::manifest::file(&key.kind, None, &key.name);
        self.files.insert(file, format!("{comment}{yaml}"));
        Ok(())
    }
}

/// The swarm's files by name: each Peer and ClusterPeer, and each SealedSecret.
fn private_swarm(
    args: &NewArgs,
    key: &rsa::PublicKey,
) -> Result<BTreeMap<String, String>, Diagnostic> {
    let name = &args.name;
    let namespace = args.namespace.as_str();
    let mut files = Files {
        key,
        namespace,
        files: BTreeMap::new(),
    };
    let swarm_key = format!("{name}-swarm-key");
    files.secret(&swarm_key, Material::SwarmKey)?;
    let peers = files.members(&format!("{name}-"), args.peers)?;
    for (i, peer) in peers.iter().enumerate() {
        let mut annotations = swarm::mesh_annotations(&peers, i);
        // A swarm of one lists no peer, and says so: it is not isolated by mistake.
        annotations
            .entry(crate::model::annotations::PEERING.to_string())
            .or_default();
        let mut spec = json!({ "swarmKeySecretName": swarm_key });
        if args.cluster || args.monitoring.is_some() {
            spec["api"] = json!(true);
        }
        if let Some(scrapers) = &args.monitoring {
            annotations.insert(
                crate::model::annotations::MONITORING.to_string(),
                scrapers.clone(),
            );
        }
        let object = json!({
            "apiVersion": crate::model::API_VERSION,
            "kind": "Peer",
            "metadata": { "name": peer.name, "namespace": namespace, "annotations": annotations },
            "spec": spec,
        });
        files.resource(
            &object,
            &format!(
                "# Peer {i} of the private swarm {name:?}, written by `kotalc new private-swarm`.\n\
                 # Its identity and the swarm key are sealed beside it; a new peer needs its own\n\
                 # identity and an entry in every other Peer's kotalc.io/peering.\n"
            ),
        )?;
    }
    if !args.cluster {
        return Ok(files.files);
    }

    let cluster_secret = format!("{name}-cluster-secret");
    files.secret(&cluster_secret, Material::ClusterSecret)?;
    let members = files.members(&format!("{name}-cluster-"), args.peers)?;
    let trusted: Vec<&str> = members.iter().map(|m| m.peer_id.as_str()).collect();
    for (i, (member, peer)) in members.iter().zip(&peers).enumerate() {
        let mut spec = json!({
            "consensus": "crdt",
            "id": member.peer_id,
            "privateKeySecretName": swarm::identity_secret(&member.name),
            "clusterSecretName": cluster_secret,
            "peerEndpoint": format!("/dns4/{}/tcp/5001", peer.name),
            "trustedPeers": trusted,
        });
        let bootstrap = swarm::others(&members, i, CLUSTER_SWARM_PORT);
        if !bootstrap.is_empty() {
            spec["bootstrapPeers"] = json!(bootstrap);
        }
        let object = json!({
            "apiVersion": crate::model::API_VERSION,
            "kind": "ClusterPeer",
            "metadata": { "name": member.name, "namespace": namespace },
            "spec": spec,
        });
        let mut object = object;
        if let Some(scrapers) = &args.monitoring {
            object["metadata"]["annotations"] =
                json!({ crate::model::annotations::MONITORING: scrapers });
        }
        files.resource(
            &object,
            &format!(
                "# Cluster peer {i} of {name:?}, for Peer {:?}, written by `kotalc new \
                 private-swarm --cluster`.\n",
                peer.name
            ),
        )?;
    }
    Ok(files.files)
}
