//! The command line: its clap definitions, and the compile options that `build`, `check`,
//! `validate` and `diff` read from them.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::compile::Options;
use crate::diagnostic::{Code, Format};
use crate::ipfs::keys::Material;
use crate::secrets::seal::Scope;
use crate::secrets::{SecretMode, SecretOptions, StoreKind};

#[derive(Debug, Parser)]
#[command(
    name = "kotalc",
    version = concat!(env!("CARGO_PKG_VERSION"), " (renders for Kubernetes API v1.33)"),
    about = "Compile Kotal IPFS resources (Peer, ClusterPeer) into plain Kubernetes manifests",
    long_about = "kotalc reads Kotal IPFS resources (ipfs.kotal.io/v1alpha1) and writes the \
                  StatefulSets, Services, ConfigMaps and PersistentVolumeClaims the Kotal \
                  operator would create, with least-privilege NetworkPolicies, as deterministic \
                  manifests for Argo CD, Flux or kustomize. No operator runs in the cluster."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render resources to Kubernetes manifests.
    #[command(after_help = "Example:\n  kotalc build peers/ -o rendered/")]
    Build(BuildArgs),
    /// Show what a change does, object by object, against a rendered tree or a git revision.
    #[command(
        after_help = "Examples:\n  kotalc diff ipfs/ --against rendered/\n  kotalc diff ipfs/ --against-ref origin/main --exit-code"
    )]
    Diff(DiffArgs),
    /// Run as a KRM function: a ResourceList on stdin, the rendered one on stdout.
    #[command(
        after_help = "Example (kustomize, with --enable-alpha-plugins --enable-exec):\n  \
        annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: kotalc-krm"
    )]
    Krm,
    /// Run as a kustomize legacy exec plugin: CONFIG names the inputs, output on stdout.
    #[command(after_help = "Example: see examples/kustomize/legacy-plugin")]
    KustomizePlugin(PluginArgs),
    /// Check resources without rendering anything.
    #[command(after_help = "Example:\n  kotalc validate peers/")]
    Validate(CheckArgs),
    /// Print fresh secret material from the operating system's randomness.
    #[command(after_help = "Examples:\n  kotalc keygen cluster-secret\n  \
                            kotalc keygen peer-identity --format json")]
    Keygen(KeygenArgs),
    /// Seal values into a SealedSecret offline, as `kubeseal --cert` does.
    #[command(after_help = "Examples:\n  \
        kotalc seal --cert controller.pem --namespace ipfs --name swarm-key --generate swarm-key\n  \
        kotalc seal --cert controller.pem --namespace ipfs --name cluster-0-identity \\\n      \
        --key key --from-file cluster-0.key --expect-id 12D3KooW...\n  \
        kubectl get secret swarm-key -n ipfs -o yaml | kotalc seal --cert controller.pem \\\n      \
        --from-secret --key swarm.key -o sealedsecret-swarm-key.yaml")]
    Seal(SealArgs),
    /// Rewrite deprecated Swarms as Peers, with each node's private key sealed.
    #[command(after_help = "Example:\n  kotalc migrate swarms/ --cert controller.pem -o migrated/")]
    Migrate(MigrateArgs),
    /// Write a new private swarm from fresh keys, sealed: Peers with fixed identities,
    /// peered with each other, and with --cluster a ClusterPeer for each.
    #[command(after_help = "Examples:\n  \
        kotalc new private-swarm ipfs-private --peers 3 --cert controller.pem -n ipfs -o ipfs/\n  \
        kotalc new private-swarm pinning --peers 3 --cluster --cert controller.pem -n ipfs -o pinning/\n\n\
        Then: kotalc build ipfs/ -o rendered/")]
    New(NewArgs),
    /// Turn Peers and ClusterPeers exported from a cluster into kotalc inputs.
    #[command(after_help = "Examples:\n  \
        kubectl get peers,clusterpeers -n ipfs -o yaml | kotalc import -o ipfs/\n  \
        kotalc import export.json > ipfs/peers.yaml")]
    Import(ImportArgs),
    /// Describe a resource or field, as `kubectl explain` does, without a cluster.
    #[command(
        after_help = "Examples:\n  kotalc explain peers.spec.routing\n  kotalc explain swarm --recursive"
    )]
    Explain(ExplainArgs),
    /// Print the JSON Schema of a kind, or of all kinds, for editors and CI.
    #[command(after_help = "Example:\n  kotalc schema -o .kotalc/kotal-ipfs.schema.json")]
    Schema(SchemaArgs),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  kotalc completions bash > /etc/bash_completion.d/kotalc")]
    Completions(CompletionsArgs),
    /// Print a man page (roff), or write every page into a directory.
    #[command(
        after_help = "Examples:\n  kotalc man > /usr/local/share/man/man1/kotalc.1\n  \
                            kotalc man build > /usr/local/share/man/man1/kotalc-build.1\n  \
                            kotalc man --dir /usr/local/share/man/man1"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print, `kotalc-SUBCOMMAND(1)`; kotalc(1) when absent.
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "dir")]
    pub subcommand: Option<String>,
    /// Write kotalc.1 and a kotalc-SUBCOMMAND.1 per subcommand into DIR.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// `peers`, `clusterpeers` or `swarms` (singular too, any case), then a field path:
    /// `peers.spec.resources.cpu`.
    #[arg(value_name = "RESOURCE[.FIELD...]")]
    pub target: String,
    /// Print every field below, as a tree.
    #[arg(long)]
    pub recursive: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// `peer`, `clusterpeer` or `swarm`; all kinds, dispatching on `kind`, when absent.
    #[arg(value_name = "KIND")]
    pub kind: Option<String>,
    /// Write the schema to FILE (replacing it), creating its directory, instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Files or directories to read (`-` for standard input); the current directory when
    /// none is given. They are never modified.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Namespace of Swarms that set none, for sealing their keys.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// The sealed-secrets controller's certificate: seal each node's private key from the
    /// Swarm. Without it the identities are placeholder SealedSecrets.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Write the migrated files into DIR, at their relative paths, instead of stdout.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Replace files in DIR even if they were edited by hand.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// How diagnostics are printed on stderr.
    #[arg(long, value_parser = plain_format(), default_value = "human")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Exports to read: YAML or JSON files, `kind: List` or several documents, directories
    /// (their `*.yaml`, `*.yml` and `*.json` files) or `-`; standard input when none is given.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write one file per resource into DIR (`<namespace>/<kind>-<name>.yaml`) instead of one
    /// YAML stream on stdout.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Replace files in DIR even if they were edited by hand.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Keep fields whose value is the operator's default.
    #[arg(long)]
    pub keep_defaults: bool,
    /// How diagnostics are printed on stderr.
    #[arg(long, value_parser = plain_format(), default_value = "human")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// What to generate.
    #[arg(value_enum)]
    pub material: Material,
    /// `human` or `github`: the value alone on stdout, and a peer identity's peer ID on
    /// stderr; `json`: one object on stdout, `{"kind", "value", "peerId"}`.
    #[arg(long, value_parser = plain_format(), default_value = "human", hide_possible_values = true)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SealArgs {
    /// The controller's certificate (`kubeseal --fetch-cert`), or a PEM RSA public key.
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// Name of the Secret the controller will create; with --from-secret, the Secret's own
    /// name when absent.
    #[arg(long, required_unless_present = "from_secret")]
    pub name: Option<String>,
    /// Namespace of the Secret; required unless the scope is cluster-wide (with
    /// --from-secret, the Secret's own namespace when absent).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Where the sealed value may be unsealed.
    #[arg(long, value_enum, default_value_t = Scope::Strict)]
    pub scope: Scope,
    /// Data key of a value; repeat it with --from-file for several keys. With --generate it
    /// defaults to the key Kotal reads (`swarm.key`, `secret` or `key`).
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// File holding the value of the matching --key.
    #[arg(long = "from-file", value_name = "FILE", conflicts_with_all = ["from_stdin", "generate"])]
    pub from_files: Vec<PathBuf>,
    /// Read the one value from standard input.
    #[arg(long, conflicts_with = "generate")]
    pub from_stdin: bool,
    /// Read a Secret manifest (YAML or JSON, as `kubectl get secret NAME -o yaml` prints it)
    /// on standard input and seal its values: every data key, or only those given with --key.
    /// The values are never printed.
    #[arg(long, conflicts_with_all = ["from_files", "from_stdin", "generate"])]
    pub from_secret: bool,
    /// Generate the value; the plaintext never touches disk.
    #[arg(long, value_enum, value_name = "MATERIAL")]
    pub generate: Option<Material>,
    /// Refuse a private key whose peer ID is not ID.
    #[arg(long, value_name = "ID")]
    pub expect_id: Option<String>,
    /// Write the SealedSecret to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// How a problem and a sealed identity's peer ID are printed on stderr: `human` as
    /// text, `json` as one object per line, `github` as a workflow command. The
    /// SealedSecret itself is YAML whatever the format.
    #[arg(long, value_parser = plain_format(), default_value = "human", hide_possible_values = true)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to read (`-` for standard input); the current directory when
    /// none is given.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Namespace for resources that set none.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Read the directory of each PATH (each directory once) instead of PATH: a pre-commit
    /// hook passes the files that changed, and their resources are checked with the others
    /// of their directory, which they reference.
    #[arg(long)]
    pub parent_dirs: bool,
    /// Copy documents that are not Kotal resources to the output unchanged.
    #[arg(long)]
    pub passthrough: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Silence a warning code for the whole run; repeat it or separate codes with commas.
    #[arg(long = "allow", value_name = "CODE", value_delimiter = ',', value_parser = AllowCode, hide_possible_values = true)]
    pub allow: Vec<Code>,
    /// Succeed even when the inputs hold no Kotal resource.
    #[arg(long)]
    pub allow_empty: bool,
    /// Render no NetworkPolicies, for a cluster whose network plugin enforces none (one
    /// resource: the annotation `kotalc.io/network-policies: "false"`).
    #[arg(long)]
    pub no_network_policies: bool,
    /// Where the NetworkPolicies let private Peers and ClusterPeers send DNS queries
    /// (53/UDP+TCP): NS:KEY=VALUE, NS:* or IP addresses and CIDRs, comma-separated. Default:
    /// kube-system:k8s-app=kube-dns (one resource: the annotation `kotalc.io/cluster-dns`).
    #[arg(long, value_name = "SERVERS", value_parser = cluster_dns)]
    pub cluster_dns: Option<String>,
    /// Prometheus pods that scrape every resource: a PodMonitor each, and a NetworkPolicy
    /// grant to its metrics port alone. `NS:KEY=VALUE` (pods of namespace NS with that label),
    /// `NS:*`, or `KEY=VALUE` (the resource's namespace), comma-separated; one resource:
    /// the annotation `kotalc.io/monitoring` (`off` leaves it out).
    #[arg(long, value_name = "SCRAPERS", value_parser = scrapers)]
    pub monitoring: Option<String>,
    /// How diagnostics are printed on stderr.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// How the Secrets that resources reference are rendered.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// `sealed`: SealedSecrets, from the inputs or as placeholders; `external`:
    /// ExternalSecrets; `none`: no Secret objects, only the checks.
    #[arg(long, value_enum, default_value_t = SecretMode::Sealed)]
    pub secret_mode: SecretMode,
    /// With `--secret-mode external`: the store the ExternalSecrets read from.
    #[arg(long, value_name = "NAME")]
    pub secret_store: Option<String>,
    /// The kind of that store.
    #[arg(long, value_enum, default_value_t = StoreKind::SecretStore)]
    pub secret_store_kind: StoreKind,
    /// The remote key of each Secret; `{namespace}`, `{name}` and `{key}` are replaced. Without
    /// `{key}`, each data key is read as a property of the remote secret.
    #[arg(long, value_name = "TEMPLATE", default_value = "{namespace}/{name}")]
    pub remote_key_template: String,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Write one file per object into DIR (with a kustomization.yaml) instead of stdout.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Replace files in DIR even if they were edited by hand.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Directory of templates that override the embedded ones by file name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// With -o: write nothing; exit 1, showing the difference, unless DIR is exactly what
    /// would be written.
    #[arg(long = "check", requires = "output", conflicts_with = "force")]
    pub check_only: bool,
    /// Run as an Argo CD config management plugin: options from ARGOCD_ENV_KOTALC_*
    /// variables, the default namespace from ARGOCD_APP_NAMESPACE.
    #[arg(long)]
    pub argocd: bool,
}

#[derive(Debug, Args)]
pub struct PluginArgs {
    /// The plugin's configuration file, which kustomize passes.
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Any further arguments kustomize passes are ignored.
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Compare with the objects of a rendered directory, or with what a cluster exports
    /// (`kubectl get sts,svc,cm,pvc,netpol -o yaml`, a file or a directory of YAML or JSON);
    /// exported Peers and ClusterPeers there are checked against the operator's immutable
    /// fields.
    #[arg(
        long,
        value_name = "FILE|DIR",
        required_unless_present = "against_ref",
        conflicts_with = "against_ref"
    )]
    pub against: Option<PathBuf>,
    /// Compare with what the same inputs rendered at a git revision of the repository: the
    /// work tree that holds the current directory, or the one --repo names.
    #[arg(long, value_name = "GITREF")]
    pub against_ref: Option<String>,
    /// The work tree whose revision --against-ref reads, instead of the one that holds the
    /// current directory; the inputs must lie inside it. A repository among the inputs is
    /// never opened.
    #[arg(long, value_name = "DIR", requires = "against_ref")]
    pub repo: Option<PathBuf>,
    /// Directory of templates that override the embedded ones, as `build --templates`.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Colour the diff: `auto` on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Exit 1 when there is a difference.
    #[arg(long)]
    pub exit_code: bool,
    /// Exit 1 on changes the API server or the operator refuses, or that lose data, unless
    /// the resource's `kotalc.io/allow-change` names the field.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Refused or destructive changes.
    Destructive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn cluster_dns(text: &str) -> Result<String, String> {
    crate::model::policy::dns(text).map(|_| text.to_string())
}

/// `--format` of the commands that print more than diagnostics (`keygen`, `seal`, `migrate`,
/// `import`, `new`): `human`, `json` or `github`. SARIF and Markdown are reports of a check,
/// for the commands that check.
fn plain_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["human", "json", "github"])
        .map(|name: String| <Format as clap::ValueEnum>::from_str(&name, false).unwrap_or_default())
}

fn allow_code(name: &str) -> Result<Code, String> {
    crate::model::annotations::run_allow(name)
}

/// What `kotalc new` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// N Peers sharing a sealed swarm key, each with a sealed fixed identity and a
    /// `kotalc.io/peering` list of all the others; with --cluster, a crdt ClusterPeer per Peer.
    PrivateSwarm,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// What to write.
    #[arg(value_enum, value_name = "TEMPLATE")]
    pub template: Template,
    /// The swarm's name: the Peers are NAME-0 to NAME-<N-1>, the ClusterPeers NAME-cluster-0
    /// to NAME-cluster-<N-1>, the Secrets NAME-swarm-key, NAME-cluster-secret and
    /// <peer>-identity.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// How many Peers, each peering with all the others (1 to 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub peers: u16,
    /// Add an IPFS Cluster: a ClusterPeer (crdt consensus) per Peer, reaching its Peer's RPC
    /// API, bootstrapping to and trusting the others, with a sealed cluster secret and
    /// sealed identities.
    #[arg(long)]
    pub cluster: bool,
    /// The Prometheus pods that scrape every resource written (`kotalc.io/monitoring`, in
    /// `--monitoring`'s syntax): the Peers' RPC APIs, where kubo serves its metrics, then
    /// listen on the pod's address, open to those pods and the cluster's peers alone.
    #[arg(long, value_name = "SCRAPERS", value_parser = scrapers)]
    pub monitoring: Option<String>,
    /// The sealed-secrets controller's certificate (`kubeseal --fetch-cert`): every secret is
    /// generated and sealed at once, and its plaintext never touches disk.
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The namespace of every resource; the Secrets are sealed for it.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: String,
    /// The directory to write, absent or empty: one file per resource and SealedSecret, which
    /// `kotalc build DIR` reads. A directory with anything in it is refused, one written by
    /// kotalc new included: new keys never replace a swarm's.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output: PathBuf,
    /// How diagnostics are printed on stderr.
    #[arg(long, value_parser = plain_format(), default_value = "human")]
    pub format: Format,
}

/// `--allow`'s values: parsed with kotalc's own messages, and listed for shell completion
/// (the warning codes, each with its meaning).
#[derive(Clone)]
struct AllowCode;

impl clap::builder::TypedValueParser for AllowCode {
    type Value = Code;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Code, clap::Error> {
        allow_code.parse_ref(command, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            Code::ALL
                .iter()
                .filter(|c| c.default_severity() == crate::diagnostic::Severity::Warning)
                .map(|c| clap::builder::PossibleValue::new(c.as_str()).help(c.summary())),
        ))
    }
}

pub fn options(args: &CheckArgs, render: bool) -> Options {
    Options {
        // The current directory when none is given, named so that messages can name it.
        paths: if args.paths.is_empty() {
            vec![".".into()]
        } else if args.parent_dirs {
            parent_dirs(&args.paths)
        } else {
            args.paths.clone()
        },
        namespace: args.namespace.clone(),
        passthrough: args.passthrough,
        templates: None,
        deny_warnings: args.deny_warnings,
        allow: args.allow.clone(),
        allow_empty: args.allow_empty,
        render,
        secrets: SecretOptions {
            mode: args.secrets.secret_mode,
            store: args.secrets.secret_store.clone(),
            store_kind: args.secrets.secret_store_kind,
            remote_key_template: args.secrets.remote_key_template.clone(),
        },
        lean: false,
        specs: false,
        no_network_policies: args.no_network_policies,
        cluster_dns: args
            .cluster_dns
            .as_deref()
            .and_then(|text| crate::model::policy::dns(text).ok()),
        monitoring: args.monitoring.clone(),
    }
}

/// The directory of each path, each once, in the order first named, less those inside another
/// of them: `.` for a bare file name, standard input as itself.
fn parent_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for path in paths {
        let dir = if path.as_os_str() == "-" {
            path.clone()
        } else {
            match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    // A directory is read with everything below it: one inside another named would be read
    // twice, its resources duplicates of themselves.
    let within = |inner: &Path, outer: &Path| {
        inner != outer
            && inner.as_os_str() != "-"
            && (outer.as_os_str() == "." && inner.is_relative() || inner.starts_with(outer))
    };
    dirs.iter()
        .filter(|d| !dirs.iter().any(|outer| within(d, outer)))
        .cloned()
        .collect()
}

/// `--monitoring`: a scraper list as the annotation takes it (without `off`).
fn scrapers(text: &str) -> Result<String, String> {
    crate::model::monitoring::parse(text, false).map(|_| text.to_string())
}

/// Secret options that cannot work together, as a usage error.
pub fn secret_usage(args: &CheckArgs, render: bool) -> Option<String> {
    let s = &args.secrets;
    if render && s.secret_mode == SecretMode::External && s.secret_store.is_none() {
        return Some("--secret-mode external needs --secret-store NAME".into());
    }
    crate::secrets::check_remote_key_template(&s.remote_key_template)
        .map(|problem| format!("--remote-key-template {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_dirs_name_each_directory_once_and_none_inside_another() {
        let dirs = |paths: &[&str]| {
            parent_dirs(&paths.iter().map(PathBuf::from).collect::<Vec<_>>())
                .into_iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            dirs(&["ipfs/a.yaml", "ipfs/b.yaml", "other/c.yaml"]),
            ["ipfs", "other"]
        );
        assert_eq!(dirs(&["ipfs/peers/a.yaml", "ipfs/b.yaml"]), ["ipfs"]);
        assert_eq!(dirs(&["ipfs/a.yaml", "c.yaml", "-"]), [".", "-"]);
    }
}
