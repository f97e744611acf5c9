//! `kotalc new private-swarm`: a private swarm from fresh keys, sealed as they are made, so
//! that no peer ID is copied by hand and no plaintext touches disk. The Peers are the ones
//! `kotalc migrate` writes for a Swarm: fixed identities and full-mesh peering.

use std::collections::BTreeMap;

use serde_json::json;

use super::{EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, summary_of};
use crate::cli::{NewArgs, Template};
use crate::diagnostic::{Code, Diagnostic, Format};
use crate::keys::{self, Material};
use crate::load::display;
use crate::seal::{self, Scope};
use crate::swarm::{self, Member};
use crate::validate::{self, MAX_NAME};

/// The port a ClusterPeer's Service exposes for other cluster peers.
const CLUSTER_SWARM_PORT: u16 = 9096;

pub fn new(args: &NewArgs) -> u8 {
    let Template::PrivateSwarm = args.template;
    let usage = |message: String| {
        eprintln!("error: {message}");
        EXIT_USAGE
    };
    if let Some(problem) = crate::names::namespace(&args.namespace) {
        return usage(format!("--namespace {:?}: {problem}", args.namespace));
    }
    let name = &args.name;
    let last = args.peers - 1;
    let longest = if args.cluster {
        format!("{name}-cluster-{last}")
    } else {
        format!("{name}-{last}")
    };
    if let Some(problem) = validate::dns1035_label(&longest, MAX_NAME) {
        return usage(format!(
            "NAME {name:?} gives resources names such as {longest:?}, which is not a valid \
             name: {problem}"
        ));
    }
    // Fresh keys never replace a swarm's: a running peer keeps the identity its repository
    // was created with, and would no longer match its Peer.
    if let Ok(mut entries) = std::fs::read_dir(&args.output)
        && entries.next().is_some()
    {
        return fail_with(
            Diagnostic::new(
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
        Err(d) => return fail_with(d, args.format),
    };
    let files = match private_swarm(args, &key) {
        Ok(files) => files,
        Err(d) => return fail_with(d, args.format),
    };
    let resources = usize::from(args.peers) * if args.cluster { 2 } else { 1 };
    match crate::emit::write_dir(&args.output, &files, false, crate::emit::GENERATED_MARKER) {
        Ok(written) => {
            summary_of(
                &[],
                resources,
                args.format,
                Some(format!(
                    "wrote {} to {}",
                    super::files(written.files),
                    display(&args.output)
                )),
            );
            EXIT_OK
        }
        Err(d) => fail_with(d, args.format),
    }
}

/// Prints a problem of the command as a whole, then the summary.
fn fail_with(d: Diagnostic, format: Format) -> u8 {
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        crate::diagnostic::render(&d, &crate::source::Sources::default(), format).as_bytes(),
    );
    summary_of(&[d], 0, format, Some("nothing written".into()));
    EXIT_PROBLEMS
}

/// The swarm's files by name: each Peer and ClusterPeer, and each SealedSecret, in its own
/// file named as the placeholders' commands name them.
fn private_swarm(
    args: &NewArgs,
    key: &rsa::PublicKey,
) -> Result<BTreeMap<String, String>, Diagnostic> {
    let name = &args.name;
    let namespace = args.namespace.as_str();
    let mut files = BTreeMap::new();
    let sealed = |secret: &str,
                  material: Material,
                  generated: &keys::Generated,
                  files: &mut BTreeMap<String, String>|
     -> Result<(), Diagnostic> {
        let values = BTreeMap::from([(material.data_key().to_string(), generated.value.clone())]);
        let annotations = generated
            .peer_id
            .as_ref()
            .map(|id| seal::peer_id_annotation(&id.to_base58()))
            .unwrap_or_default();
        let yaml = seal::sealed_yaml(
            key,
            Scope::Strict,
            Some(namespace),
            secret,
            &values,
            &annotations,
        )
        .map_err(|e| Diagnostic::new(Code::InvalidCertificate, e))?;
        files.insert(format!("sealedsecret-{secret}.yaml"), yaml);
        Ok(())
    };
    let generate =
        |material: Material| keys::generate(material).map_err(|e| Diagnostic::new(Code::Io, e));
    let identities = |prefix: &str| -> Result<Vec<(Member, keys::Generated)>, Diagnostic> {
        (0..args.peers)
            .map(|i| {
                let generated = generate(Material::PeerIdentity)?;
                let peer_id = generated
                    .peer_id
                    .as_ref()
                    .map(|id| id.to_base58())
                    .unwrap_or_default();
                let member = Member {
                    name: format!("{prefix}{i}"),
                    peer_id,
                };
                Ok((member, generated))
            })
            .collect()
    };

    let swarm_key = format!("{name}-swarm-key");
    sealed(
        &swarm_key,
        Material::SwarmKey,
        &generate(Material::SwarmKey)?,
        &mut files,
    )?;
    let (peers, peer_keys): (Vec<Member>, Vec<keys::Generated>) =
        identities(&format!("{name}-"))?.into_iter().unzip();
    for (i, (peer, generated)) in peers.iter().zip(&peer_keys).enumerate() {
        let secret = swarm::identity_secret(&peer.name);
        sealed(&secret, Material::PeerIdentity, generated, &mut files)?;
        let mut annotations = swarm::mesh_annotations(&peers, i);
        // A swarm of one lists no peer, and says so: it is not isolated by mistake.
        annotations
            .entry(crate::annotations::PEERING.to_string())
            .or_default();
        let mut spec = json!({ "swarmKeySecretName": swarm_key });
        if args.cluster {
            spec["api"] = json!(true);
        }
        let peer_object = json!({
            "apiVersion": crate::model::API_VERSION,
            "kind": "Peer",
            "metadata": { "name": peer.name, "namespace": namespace, "annotations": annotations },
            "spec": spec,
        });
        files.insert(
            format!("peer-{}.yaml", peer.name),
            format!(
                "# Peer {i} of the private swarm {name:?}, written by `kotalc new private-swarm`.\n\
                 # Its identity and the swarm key are sealed beside it; a new peer needs its own\n\
                 # identity and an entry in every other Peer's kotalc.io/peering.\n{}",
                to_yaml(&peer_object)?
            ),
        );
    }
    if !args.cluster {
        return Ok(files);
    }

    let cluster_secret = format!("{name}-cluster-secret");
    sealed(
        &cluster_secret,
        Material::ClusterSecret,
        &generate(Material::ClusterSecret)?,
        &mut files,
    )?;
    let (members, member_keys): (Vec<Member>, Vec<keys::Generated>) =
        identities(&format!("{name}-cluster-"))?.into_iter().unzip();
    let trusted: Vec<&str> = members.iter().map(|m| m.peer_id.as_str()).collect();
    for (i, (member, generated)) in members.iter().zip(&member_keys).enumerate() {
        let secret = swarm::identity_secret(&member.name);
        sealed(&secret, Material::PeerIdentity, generated, &mut files)?;
        let bootstrap: Vec<String> = members
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, other)| {
                format!(
                    "/dns4/{}/tcp/{CLUSTER_SWARM_PORT}/p2p/{}",
                    other.name, other.peer_id
                )
            })
            .collect();
        let mut spec = json!({
            "consensus": "crdt",
            "id": member.peer_id,
            "privateKeySecretName": secret,
            "clusterSecretName": cluster_secret,
            "peerEndpoint": format!("/dns4/{}/tcp/5001", peers[i].name),
            "trustedPeers": trusted,
        });
        if !bootstrap.is_empty() {
            spec["bootstrapPeers"] = json!(bootstrap);
        }
        let object = json!({
            "apiVersion": crate::model::API_VERSION,
            "kind": "ClusterPeer",
            "metadata": { "name": member.name, "namespace": namespace },
            "spec": spec,
        });
        files.insert(
            format!("clusterpeer-{}.yaml", member.name),
            format!(
                "# Cluster peer {i} of {name:?}, for Peer {:?}, written by `kotalc new \
                 private-swarm --cluster`.\n{}",
                peers[i].name,
                to_yaml(&object)?
            ),
        );
    }
    Ok(files)
}

fn to_yaml(value: &serde_json::Value) -> Result<String, Diagnostic> {
    serde_saphyr::to_string(value).map_err(|e| {
        Diagnostic::new(
            Code::OutputFile,
            format!("cannot write a resource as YAML: {e}"),
        )
    })
}
