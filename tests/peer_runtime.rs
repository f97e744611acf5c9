//! The rendered Peer pods against a stub `ipfs` that keeps kubo's state (tests/stub/ipfs): the
//! init containers run in order with their env and mounts, as a kubelet runs them, and the
//! repository they leave is checked, on kubo v0.28 and v0.42, for a fresh repository, a
//! restart, an image upgrade and a swarm key removed from the spec.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as J, json};

use kotalc::compile::{Options, compile};
use kotalc::kube::manifest::Object;

use crate::common::{Run, root, scratch, text};

const PEER_ID: &str = "12D3KooWKrYWmMJ6gX34U25D7XhkFv1JunL33ETgK5ypBK1x12iq";
const SWARM_KEY: &str = "/key/swarm/psk/1.0.0/\n/base16/\n0c3a5bb9c5b1b9d0c0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0\n";

/// A Peer that asks for everything the ordering can get wrong: profiles that rewrite the
/// addresses and AutoConf, api and gateway open, and (optionally) a private swarm.
fn peer(dir: &Path, private: bool) -> Vec<Object> {
    let key = if private {
        "  swarmKeySecretName: swarm-key\n"
    } else {
        ""
    };
    let input = dir.join("input");
    fs::create_dir_all(&input).expect("mkdir");
    fs::write(
        input.join("peer.yaml"),
        format!(
            "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: node-1\n  \
             annotations:\n    kotalc.io/peering: /dns4/node-2/tcp/4001/p2p/{PEER_ID}\n\
             spec:\n{key}  api: true\n  gateway: true\n  routing: dht\n  \
             initProfiles: [test]\n  profiles: [default-networking, test]\n"
        ),
    )
    .expect("input");
    let mut outcome = compile(&Options {
        paths: vec![input],
        render: true,
        ..Options::default()
    });
    let objects = outcome.take_objects();
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    objects
}

struct Pod {
    dir: PathBuf,
    /// Whether the image has the external migration fs-repo-15-to-16 on its PATH.
    migration: bool,
}

impl Pod {
    fn new(name: &str) -> Pod {
        Pod {
            dir: scratch(name),
            migration: false,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("home/kotal-data")
    }

    fn config(&self) -> J {
        serde_json::from_str(&fs::read_to_string(self.data().join("config")).expect("config"))
            .expect("config is JSON")
    }

    fn calls(&self) -> Vec<Vec<String>> {
        fs::read_to_string(self.dir.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("call"))
            .collect()
    }

    /// Mounts the pod's volumes under the scratch directory (the swarm key only where the
    /// StatefulSet mounts it) and runs its init containers in order, on the given kubo.
    fn start(&self, objects: &[Object], kubo: &str) -> Result<(), String> {
        let find = |kind: &str| {
            &objects
                .iter()
                .find(|o| o.kind == kind && o.name == "node-1")
                .unwrap_or_else(|| panic!("no {kind}"))
                .value
        };
        let home = self.dir.join("home");
        let local = home.to_string_lossy().into_owned();
        let _ = fs::remove_dir_all(home.join("kotal-config"));
        let _ = fs::remove_dir_all(home.join(".kotal-secrets"));
        fs::create_dir_all(home.join("kotal-config")).expect("mkdir");
        for (name, script) in find("ConfigMap")["data"].as_object().expect("data") {
            fs::write(
                home.join("kotal-config").join(name),
                script.as_str().expect("script"),
            )
            .expect("script");
        }
        let pod = &find("StatefulSet")["spec"]["template"]["spec"];
        for volume in pod["volumes"].as_array().expect("volumes") {
            if volume["name"] == "swarm-key" {
                fs::create_dir_all(home.join(".kotal-secrets")).expect("mkdir");
                fs::write(home.join(".kotal-secrets/swarm.key"), SWARM_KEY).expect("key");
            }
        }
        let mut path = format!("{}:", root().join("tests/stub").display());
        if self.migration {
            path += &format!("{}:", root().join("tests/stub/migrations").display());
        }
        path += &std::env::var("PATH").unwrap_or_default();
        for container in pod["initContainers"].as_array().expect("init") {
            let argv: Vec<String> = container["command"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(container["args"].as_array().into_iter().flatten())
                .map(|a| a.as_str().expect("arg").replace("/home/ipfs", &local))
                .collect();
            let mut command = Command::new(if argv[0] == "/bin/sh" { "sh" } else { &argv[0] });
            command.args(&argv[1..]).env_clear();
            for var in container["env"].as_array().expect("env") {
                let value = var["value"].as_str().unwrap_or_default();
                command.env(
                    var["name"].as_str().expect("name"),
                    value.replace("/home/ipfs", &local),
                );
            }
            let out = command
                .env("PATH", &path)
                .env("HOME", &local)
                .env("KUBO_STUB_VERSION", kubo)
                .env("IPFS_STUB_CALLS", self.dir.join("calls"))
                .output()
                .expect("sh");
            if !out.status.success() {
                return Err(format!("{}: {}", container["name"], text(&out.stderr)));
            }
        }
        Ok(())
    }
}

/// Where in the calls the first `ipfs config` (of any kind) is, and the last `repo migrate`.
fn first(calls: &[Vec<String>], what: &[&str]) -> Option<usize> {
    calls.iter().position(|c| {
        c.iter()
            .map(String::as_str)
            .take(what.len())
            .eq(what.iter().copied())
    })
}

fn assert_private(config: &J, kubo: &str) {
    assert_eq!(config["Addresses"]["API"], json!("/ip4/0.0.0.0/tcp/5001"));
    assert_eq!(
        config["Addresses"]["Gateway"],
        json!("/ip4/0.0.0.0/tcp/8080")
    );
    assert_eq!(config["Bootstrap"], json!([]));
    assert_eq!(config["Discovery"]["MDNS"]["Enabled"], json!(false));
    assert_eq!(config["Swarm"]["DisableNatPortMap"], json!(true));
    if kubo == "0.28" {
        for key in ["AutoConf", "AutoTLS", "Plugins"] {
            assert!(config.get(key).is_none(), "v0.28 has no {key}: {config}");
        }
    } else {
        // What kubo v0.38 and later report as ERROR under a swarm key, or send to public hosts.
        assert_eq!(config["AutoConf"]["Enabled"], json!(false), "{config}");
        assert_eq!(config["AutoTLS"]["Enabled"], json!(false), "{config}");
        assert_eq!(config["DNS"]["Resolvers"], json!({}));
        assert_eq!(config["Routing"]["DelegatedRouters"], json!([]));
        assert_eq!(config["Ipns"]["DelegatedPublishers"], json!([]));
        assert_eq!(
            config["Plugins"]["Plugins"]["telemetry"]["Config"]["Mode"],
            json!("off")
        );
    }
    assert_eq!(
        config["Peering"]["Peers"],
        json!([{"ID": PEER_ID, "Addrs": ["/dns4/node-2/tcp/4001"]}])
    );
}

#[test]
fn a_fresh_private_peer_holds_its_addresses_autoconf_off_and_no_bootstrap() {
    for kubo in ["0.28", "0.42"] {
        let pod = Pod::new(&format!("runtime-fresh-{kubo}"));
        let objects = peer(&pod.dir, true);
        pod.start(&objects, kubo).expect("starts");
        assert_private(&pod.config(), kubo);
        assert_eq!(
            fs::read_to_string(pod.data().join("swarm.key")).expect("key"),
            SWARM_KEY
        );
        let calls = pod.calls();
        let migrate = first(&calls, &["repo", "migrate"]).expect("migrated");
        let config = first(&calls, &["config"]).expect("configured");
        assert!(migrate < config, "{calls:?}");
    }
}

#[test]
fn a_restart_keeps_the_repository_and_its_settings() {
    let pod = Pod::new("runtime-restart");
    let objects = peer(&pod.dir, true);
    pod.start(&objects, "0.42").expect("first start");
    let before = pod.config();
    pod.start(&objects, "0.42").expect("restart");
    assert_eq!(pod.config(), before);
    let inits = pod.calls().iter().filter(|c| c[0] == "init").count();
    assert_eq!(inits, 1, "initialised twice");
}

/// The repository made by v0.28 (version 15) is migrated by the v0.42 image before any
/// `ipfs config`, and the 16-to-17 migration's AutoConf and `auto` bootstrap are undone. The
/// image has fs-repo-15-to-16 on its PATH, as docs/rendering.md says to provide it.
#[test]
fn an_image_upgrade_migrates_before_configuring() {
    let pod = Pod {
        migration: true,
        ..Pod::new("runtime-upgrade")
    };
    let objects = peer(&pod.dir, true);
    pod.start(&objects, "0.28").expect("v0.28 start");
    assert_eq!(
        fs::read_to_string(pod.data().join("version")).expect("version"),
        "15\n"
    );
    let before = pod.calls().len();
    pod.start(&objects, "0.42").expect("v0.42 start");
    assert_eq!(
        fs::read_to_string(pod.data().join("version")).expect("version"),
        "18\n"
    );
    assert_private(&pod.config(), "0.42");
    let calls = &pod.calls()[before..];
    let migrate = first(calls, &["repo", "migrate"]).expect("migrated");
    let config = first(calls, &["config"]).expect("configured");
    assert!(migrate < config, "{calls:?}");
}

/// Without fs-repo-15-to-16 and without egress the upgrade stops in config-ipfs, and the
/// failure names what it needs and where the docs say how to provide it.
#[test]
fn an_upgrade_without_the_migration_names_it() {
    let pod = Pod::new("runtime-upgrade-no-migration");
    let objects = peer(&pod.dir, false);
    pod.start(&objects, "0.28").expect("v0.28 start");
    let err = pod
        .start(&objects, "0.42")
        .expect_err("no migration, no egress");
    assert!(err.starts_with("\"config-ipfs\""), "{err}");
    for needed in [
        "fs-repo-15-to-16",
        "on the image's PATH",
        "Upgrading kubo across repository version 16",
    ] {
        assert!(err.contains(needed), "{needed:?} in {err}");
    }
    assert_eq!(
        fs::read_to_string(pod.data().join("version")).expect("version"),
        "15\n",
        "the repository is left as it was"
    );
}

/// Without the migration the same upgrade fails: the stub refuses as kubo does, so the test
/// above can fail.
#[test]
fn the_stub_refuses_configuring_an_unmigrated_repository() {
    let pod = Pod::new("runtime-unmigrated");
    let objects = peer(&pod.dir, true);
    pod.start(&objects, "0.28").expect("v0.28 start");
    let out = Run::of(
        Command::new(root().join("tests/stub/ipfs"))
            .args(["config", "Addresses.API", "/ip4/0.0.0.0/tcp/5001"])
            .env("IPFS_PATH", pod.data())
            .env("KUBO_STUB_VERSION", "0.42")
            .env("IPFS_STUB_CALLS", pod.dir.join("calls")),
        "stub",
    );
    out.fails().stderr_has("needs migration");
}

#[test]
fn removing_the_swarm_key_makes_the_peer_public_again() {
    for kubo in ["0.28", "0.42"] {
        let pod = Pod::new(&format!("runtime-key-removed-{kubo}"));
        pod.start(&peer(&pod.dir, true), kubo)
            .expect("private start");
        assert!(pod.data().join("swarm.key").is_file());
        let public = peer(&pod.dir, false);
        let sts = public
            .iter()
            .find(|o| o.kind == "StatefulSet")
            .expect("sts");
        let daemon_env = &sts.value["spec"]["template"]["spec"]["containers"][0]["env"];
        assert!(!daemon_env.to_string().contains("LIBP2P_FORCE_PNET"));
        pod.start(&public, kubo).expect("public start");
        assert!(
            !pod.data().join("swarm.key").exists(),
            "stale swarm.key kept"
        );
        let config = pod.config();
        if kubo == "0.28" {
            assert_eq!(config["Bootstrap"].as_array().expect("list").len(), 6);
        } else {
            assert_eq!(config["Bootstrap"], json!(["auto"]));
            assert_eq!(config["AutoConf"]["Enabled"], json!(true));
            assert_eq!(config["DNS"]["Resolvers"], json!({".": "auto"}));
            assert_eq!(config["Routing"]["DelegatedRouters"], json!(["auto"]));
            assert_eq!(config["Ipns"]["DelegatedPublishers"], json!(["auto"]));
            assert_eq!(config["AutoTLS"]["Enabled"], J::Null);
        }
        assert_eq!(config["Addresses"]["API"], json!("/ip4/0.0.0.0/tcp/5001"));
        // The restore is a one-time transition: a later start leaves the bootstrap list to
        // the user (and the profiles).
        let restores = |calls: &[Vec<String>]| {
            calls
                .iter()
                .filter(|c| c.contains(&"Bootstrap".to_string()) || c[0] == "bootstrap")
                .count()
        };
        let before = restores(&pod.calls());
        pod.start(&public, kubo).expect("restart");
        assert_eq!(restores(&pod.calls()), before);
    }
}

/// `server` filters the pod and Service ranges (config/profile.go defaultServerFilters): a Peer
/// that peers inside the cluster is warned, in either profile list, and a lone public one not.
#[test]
fn server_profile_on_a_peer_that_peers_in_the_cluster_is_warned() {
    let dir = scratch("lint-server-profile");
    let code = "server-profile-filters-cluster";
    let cases = [
        ("  swarmKeySecretName: k\n  initProfiles: [server]\n", "", 1),
        (
            "  profiles: [lowpower, server]\n",
            &*format!("  annotations:\n    kotalc.io/peering: /dns4/b/tcp/4001/p2p/{PEER_ID}\n"),
            1,
        ),
        ("  profiles: [server]\n", "", 0),
    ];
    for (i, (spec, annotations, expected)) in cases.iter().enumerate() {
        let file = dir.join(format!("peer-{i}.yaml"));
        fs::write(
            &file,
            format!(
                "apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\n\
                 {annotations}spec:\n{spec}"
            ),
        )
        .expect("input");
        let outcome = compile(&Options {
            paths: vec![file],
            ..Options::default()
        });
        let found: Vec<_> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.code.as_str() == code)
            .collect();
        assert_eq!(
            found.len(),
            *expected,
            "case {i}: {:?}",
            outcome.diagnostics
        );
    }
    // The shipped private swarm example peers inside the cluster without `server`.
    let example = compile(&Options {
        paths: vec![root().join("examples/ipfs/peers/private-swarm.yaml")],
        ..Options::default()
    });
    assert!(
        !example.diagnostics.iter().any(|d| d.code.as_str() == code),
        "{:?}",
        example.diagnostics
    );
}
