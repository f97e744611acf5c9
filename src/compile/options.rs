//! A run's options, from the settings of whichever front end started it. Each front end (the
//! command line, a KRM functionConfig, the kustomize plugin's configuration, Argo CD's plugin
//! env) reads its own syntax into [`Settings`]; [`Options::new`] checks them once, and names a
//! setting that is wrong in that front end's words.

use std::path::PathBuf;

use crate::diagnostic::Code;
use crate::diagnostic::settings::{Front, Setting};
use crate::secrets::{SecretMode, SecretOptions};

/// The settings as a front end read them, their values not yet checked.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub front: Front,
    pub paths: Vec<PathBuf>,
    pub namespace: Option<String>,
    pub passthrough: bool,
    pub templates: Option<PathBuf>,
    pub deny_warnings: bool,
    /// Warning codes, by name.
    pub allow: Vec<String>,
    pub allow_empty: bool,
    /// `false` for `validate`: every check, no objects.
    pub render: bool,
    pub no_network_policies: bool,
    pub cluster_dns: Option<String>,
    pub monitoring: Option<String>,
    /// `sealed`, `external` or `none`; `sealed` when absent.
    pub secret_mode: Option<String>,
    pub secret_store: Option<String>,
    /// `SecretStore` or `ClusterSecretStore`; `SecretStore` when absent.
    pub secret_store_kind: Option<String>,
    pub remote_key_template: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where the settings came from: the words a hint names a setting in.
    pub front: Front,
    pub paths: Vec<PathBuf>,
    /// Namespace for resources that name none.
    pub namespace: Option<String>,
    /// Copy non-Kotal documents to the output instead of refusing them.
    pub passthrough: bool,
    /// Directory of template overrides.
    pub templates: Option<PathBuf>,
    pub deny_warnings: bool,
    /// Warning and note codes silenced for the whole run (`--allow`).
    pub allow: Vec<Code>,
    pub allow_empty: bool,
    /// `false` for `validate`: every check, no objects.
    pub render: bool,
    pub secrets: SecretOptions,
    /// Keep only each object's YAML, not its data: a build that writes the output needs no
    /// more, and at scale the data would be several times the output's size.
    pub lean: bool,
    /// Keep what the webhook rules read of each resource, Swarms lowered to their Peers: what
    /// `diff` compares specs on.
    pub specs: bool,
    /// Render no NetworkPolicy, for a cluster whose network plugin enforces none.
    pub no_network_policies: bool,
    /// Where the policies let pods send DNS queries, unless a resource's
    /// `kotalc.io/cluster-dns` says otherwise; `None`: kube-system's kube-dns pods.
    pub cluster_dns: Option<Vec<crate::model::policy::Client>>,
    /// `--monitoring`: the Prometheus pods that scrape every resource without its own
    /// `kotalc.io/monitoring`.
    pub monitoring: Option<String>,
}

impl Options {
    /// The inputs to read: the paths given, or the current directory.
    pub fn inputs(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths.clone()
        }
    }

    /// Checks the settings; a problem is a usage error, which names the setting as the front
    /// end spells it. The default namespace is checked by the pipeline, which reports it as a
    /// diagnostic of the run.
    pub fn new(settings: Settings) -> Result<Options, String> {
        let front = settings.front;
        let name = |setting: Setting| front.name(setting);
        let mode = parse_name(settings.secret_mode.as_deref(), "sealed, external or none")
            .map_err(|problem| format!("{}: {problem}", name(Setting::SecretMode)))?;
        let store_kind = parse_name(
            settings.secret_store_kind.as_deref(),
            "SecretStore or ClusterSecretStore",
        )
        .map_err(|problem| format!("{}: {problem}", name(Setting::SecretStoreKind)))?;
        let secrets = SecretOptions {
            mode,
            store: settings.secret_store,
            store_kind,
            remote_key_template: settings
                .remote_key_template
                .unwrap_or_else(|| crate::secrets::DEFAULT_REMOTE_KEY.to_string()),
        };
        if settings.render && mode == SecretMode::External && secrets.store.is_none() {
            return Err(format!(
                "{} external needs {}",
                name(Setting::SecretMode),
                name(Setting::SecretStore)
            ));
        }
        if let Some(problem) =
            crate::secrets::check_remote_key_template(&secrets.remote_key_template)
        {
            return Err(format!("{} {problem}", name(Setting::RemoteKeyTemplate)));
        }
        let cluster_dns = match &settings.cluster_dns {
            Some(servers) => Some(
                crate::model::policy::dns(servers)
                    .map_err(|problem| format!("{}: {problem}", name(Setting::ClusterDns)))?,
            ),
            None => None,
        };
        if let Some(scrapers) = &settings.monitoring {
            crate::model::monitoring::parse(scrapers, false)
                .map_err(|problem| format!("{}: {problem}", name(Setting::Monitoring)))?;
        }
        let allow = settings
            .allow
            .iter()
            .map(|code| code.trim())
            .filter(|code| !code.is_empty())
            .map(|code| {
                crate::model::annotations::run_allow(code)
                    .map_err(|problem| format!("{}: {problem}", name(Setting::Allow)))
            })
            .collect::<Result<Vec<Code>, String>>()?;
        Ok(Options {
            front,
            paths: settings.paths,
            namespace: settings.namespace,
            passthrough: settings.passthrough,
            templates: settings.templates,
            deny_warnings: settings.deny_warnings,
            allow,
            allow_empty: settings.allow_empty,
            render: settings.render,
            secrets,
            lean: false,
            specs: false,
            no_network_policies: settings.no_network_policies,
            cluster_dns,
            monitoring: settings.monitoring,
        })
    }
}

/// One of a setting's names (as the command line's flag takes them), its default when absent.
fn parse_name<T: clap::ValueEnum + Default>(name: Option<&str>, names: &str) -> Result<T, String> {
    match name {
        None => Ok(T::default()),
        Some(name) => T::from_str(name, false).map_err(|_| format!("{name:?} is not {names}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_setting_is_named_as_its_front_end_spells_it() {
        let external = |front| {
            Options::new(Settings {
                front,
                render: true,
                secret_mode: Some("external".into()),
                ..Settings::default()
            })
            .err()
        };
        assert_eq!(
            external(Front::Cli).as_deref(),
            Some("--secret-mode external needs --secret-store")
        );
        assert_eq!(
            external(Front::Krm).as_deref(),
            Some("config secretMode external needs config secretStore")
        );
        assert_eq!(
            external(Front::ArgoCd).as_deref(),
            Some("ARGOCD_ENV_KOTALC_SECRET_MODE external needs ARGOCD_ENV_KOTALC_SECRET_STORE")
        );
        let validate = Options::new(Settings {
            secret_mode: Some("external".into()),
            ..Settings::default()
        });
        assert!(validate.is_ok(), "validate renders no ExternalSecret");
    }
}
