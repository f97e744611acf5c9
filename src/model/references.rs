//! The Secrets each resource reads, and where it names them: what the set checks compare and
//! what `secrets` plans one object for.

use crate::diagnostic::source::Span;
use crate::model::defaults::Config;
use crate::model::parse::Resource;

/// One field of one resource that names a Secret.
pub struct Reference {
    pub resource: usize,
    /// The field path, for messages.
    pub field: String,
    pub span: Span,
    /// The data key the resource reads.
    pub key: &'static str,
    pub name: String,
    /// The peer ID that a private key must belong to.
    pub id: Option<String>,
}

/// Every Secret reference of the set, in resource order. A required name that is absent is
/// reported by the schema check and has no reference.
pub fn references(resources: &[Resource], configs: &[Option<Config>]) -> Vec<Reference> {
    let mut out = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let resource = &resources[i];
        let mut at = |path: &str, key: &'static str, name: &str, id: Option<&String>| {
            if let Some(node) = resource.root.at(path) {
                out.push(Reference {
                    resource: i,
                    field: path.to_string(),
                    span: node.span,
                    key,
                    name: name.to_string(),
                    id: id.cloned(),
                });
            }
        };
        match config {
            Some(Config::Peer(p)) => {
                if let Some(name) = &p.swarm_key_secret_name {
                    at("spec.swarmKeySecretName", "swarm.key", name, None);
                }
                if let Some(identity) = &p.identity
                    && let Some((_, node)) = crate::model::parse::annotation(
                        resource,
                        crate::model::annotations::IDENTITY_SECRET,
                    )
                {
                    out.push(Reference {
                        resource: i,
                        field: format!(
                            "metadata.annotations[{}]",
                            crate::model::annotations::IDENTITY_SECRET
                        ),
                        span: node.span,
                        key: "key",
                        name: identity.secret.clone(),
                        id: Some(identity.peer_id.clone()),
                    });
                }
            }
            Some(Config::ClusterPeer(c)) => {
                at(
                    "spec.clusterSecretName",
                    "secret",
                    &c.cluster_secret_name,
                    None,
                );
                if let Some(name) = &c.private_key_secret_name {
                    at("spec.privateKeySecretName", "key", name, c.id.as_ref());
                }
                let annotation = crate::model::annotations::REST_CREDENTIALS_SECRET;
                if let Some(name) = &c.rest_credentials_secret
                    && let Some((_, node)) = crate::model::parse::annotation(resource, annotation)
                {
                    out.push(Reference {
                        resource: i,
                        field: format!("metadata.annotations[{annotation}]"),
                        span: node.span,
                        key: "credentials",
                        name: name.clone(),
                        id: None,
                    });
                }
            }
            None => {}
        }
    }
    out
}
