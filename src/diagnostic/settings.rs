//! The run's settings as the user gives them: a flag of the command line, a key of a
//! `KotalcBuild` configuration (a KRM function's functionConfig, or the kustomize plugin's
//! file), or a variable of Argo CD's plugin env. A message that asks the user to change a
//! setting names it in the words of the front end they run, so every layer that writes such
//! a hint asks [`Front`] for them.

/// Where the settings come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Front {
    /// The command line's flags.
    #[default]
    Cli,
    /// `kotalc krm`: the functionConfig's `spec` (or a ConfigMap's `data`).
    Krm,
    /// `kotalc kustomize-plugin`: the `KotalcBuild` file's `spec`.
    Plugin,
    /// `build --argocd`: the Application's plugin env and the plugin's parameters.
    ArgoCd,
}

/// A setting every front end has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Namespace,
    Passthrough,
    DenyWarnings,
    Allow,
    AllowEmpty,
    NetworkPolicies,
    ClusterDns,
    Monitoring,
    SecretMode,
    SecretStore,
    SecretStoreKind,
    RemoteKeyTemplate,
}

impl Setting {
    pub const ALL: [Setting; 12] = [
        Setting::Namespace,
        Setting::Passthrough,
        Setting::DenyWarnings,
        Setting::Allow,
        Setting::AllowEmpty,
        Setting::NetworkPolicies,
        Setting::ClusterDns,
        Setting::Monitoring,
        Setting::SecretMode,
        Setting::SecretStore,
        Setting::SecretStoreKind,
        Setting::RemoteKeyTemplate,
    ];

    /// The command line's flag; the network policies are on unless it is given.
    pub fn flag(self) -> &'static str {
        match self {
            Setting::Namespace => "--namespace",
            Setting::Passthrough => "--passthrough",
            Setting::DenyWarnings => "--deny-warnings",
            Setting::Allow => "--allow",
            Setting::AllowEmpty => "--allow-empty",
            Setting::NetworkPolicies => "--no-network-policies",
            Setting::ClusterDns => "--cluster-dns",
            Setting::Monitoring => "--monitoring",
            Setting::SecretMode => "--secret-mode",
            Setting::SecretStore => "--secret-store",
            Setting::SecretStoreKind => "--secret-store-kind",
            Setting::RemoteKeyTemplate => "--remote-key-template",
        }
    }

    /// The key of a `KotalcBuild` configuration's `spec`.
    pub fn key(self) -> &'static str {
        match self {
            Setting::Namespace => "namespace",
            Setting::Passthrough => "passthrough",
            Setting::DenyWarnings => "denyWarnings",
            Setting::Allow => "allow",
            Setting::AllowEmpty => "allowEmpty",
            Setting::NetworkPolicies => "networkPolicies",
            Setting::ClusterDns => "clusterDns",
            Setting::Monitoring => "monitoring",
            Setting::SecretMode => "secretMode",
            Setting::SecretStore => "secretStore",
            Setting::SecretStoreKind => "secretStoreKind",
            Setting::RemoteKeyTemplate => "remoteKeyTemplate",
        }
    }

    /// The Argo CD option, `KOTALC_<variable>` in the Application's plugin env.
    pub fn variable(self) -> &'static str {
        match self {
            Setting::Namespace => "NAMESPACE",
            Setting::Passthrough => "PASSTHROUGH",
            Setting::DenyWarnings => "DENY_WARNINGS",
            Setting::Allow => "ALLOW",
            Setting::AllowEmpty => "ALLOW_EMPTY",
            Setting::NetworkPolicies => "NETWORK_POLICIES",
            Setting::ClusterDns => "CLUSTER_DNS",
            Setting::Monitoring => "MONITORING",
            Setting::SecretMode => "SECRET_MODE",
            Setting::SecretStore => "SECRET_STORE",
            Setting::SecretStoreKind => "SECRET_STORE_KIND",
            Setting::RemoteKeyTemplate => "REMOTE_KEY_TEMPLATE",
        }
    }
}

/// Argo CD passes the Application's plugin env `KOTALC_<NAME>` as this prefix and the name.
pub const ARGOCD_ENV: &str = "ARGOCD_ENV_KOTALC_";

impl Front {
    /// The setting as a message about its value names it: `--secret-mode`,
    /// `config secretMode`, `ARGOCD_ENV_KOTALC_SECRET_MODE`.
    pub fn name(self, setting: Setting) -> String {
        match self {
            Front::Cli => setting.flag().to_string(),
            Front::Krm | Front::Plugin => format!("config {}", setting.key()),
            Front::ArgoCd => format!("{ARGOCD_ENV}{}", setting.variable()),
        }
    }

    /// What the user does to set `setting` to `value` (to a value of their own when `None`),
    /// as a clause of a hint: `pass --passthrough`, `set passthrough: true in the
    /// functionConfig`, `set KOTALC_PASSTHROUGH to "true" in the Application's plugin
    /// env ...`.
    pub fn set(self, setting: Setting, value: Option<&str>) -> String {
        let spec = |place: &str| match value {
            Some(value) => format!("set {}: {value} in {place}", setting.key()),
            None => format!("set {} in {place}", setting.key()),
        };
        match self {
            Front::Cli => format!("pass {}", setting.flag()),
            Front::Krm => spec("the functionConfig"),
            Front::Plugin => spec("the plugin's KotalcBuild spec"),
            Front::ArgoCd => {
                let variable = setting.variable();
                let parameter = variable.to_lowercase().replace('_', "-");
                let to = value.map(|v| format!(" to {v:?}")).unwrap_or_default();
                format!(
                    "set KOTALC_{variable}{to} in the Application's plugin env \
                     ({ARGOCD_ENV}{variable}) or the plugin's {parameter} parameter"
                )
            }
        }
    }

    /// Where the default namespace of the run came from, as a message names it.
    pub fn default_namespace(self) -> String {
        match self {
            Front::ArgoCd => format!("{} or ARGOCD_APP_NAMESPACE", self.name(Setting::Namespace)),
            _ => self.name(Setting::Namespace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_front_end_names_a_setting_in_its_own_words() {
        let on = |front: Front| front.set(Setting::Passthrough, Some("true"));
        assert_eq!(on(Front::Cli), "pass --passthrough");
        assert_eq!(
            on(Front::Krm),
            "set passthrough: true in the functionConfig"
        );
        assert_eq!(
            on(Front::ArgoCd),
            "set KOTALC_PASSTHROUGH to \"true\" in the Application's plugin env \
             (ARGOCD_ENV_KOTALC_PASSTHROUGH) or the plugin's passthrough parameter"
        );
        assert_eq!(
            Front::ArgoCd.set(Setting::AllowEmpty, Some("true")),
            "set KOTALC_ALLOW_EMPTY to \"true\" in the Application's plugin env \
             (ARGOCD_ENV_KOTALC_ALLOW_EMPTY) or the plugin's allow-empty parameter"
        );
        assert_eq!(Front::Krm.name(Setting::SecretMode), "config secretMode");
    }
}
