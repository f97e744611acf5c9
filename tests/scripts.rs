//! The container scripts: shellcheck-clean POSIX sh, and doing what spec 2.3 says when run
//! under `sh` against a stub `ipfs` that records its calls.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use kotalc::render::SCRIPTS;

use crate::common::scratch;

#[test]
fn scripts_pass_shellcheck() {
    let shellcheck = crate::common::debian_program("shellcheck", "shellcheck");
    for (name, _) in SCRIPTS {
        let path = crate::common::root().join("templates").join(name);
        let out = Command::new(&shellcheck)
            .args(["--shell=sh", "--severity=style"])
            .arg(&path)
            .output()
            .expect("shellcheck");
        assert!(
            out.status.success(),
            "{name}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

const STUB_IPFS: &str = r#"#!/bin/sh
# Records every call; `init` writes a config file as kubo would.
echo "$*" >> "$CALLS"
if [ "$1" = init ]; then
  printf '{"Identity":{}}\n' > "$IPFS_PATH/config"
fi
if [ "$1 $2" = "version --number" ]; then
  echo 0.42.0
fi
"#;

fn script(name: &str) -> &'static str {
    SCRIPTS
        .iter()
        .find(|(n, _)| n.ends_with(name))
        .map(|(_, s)| *s)
        .expect("script")
}

fn sh(dir: &Path, name: &str, env: &[(&str, &str)]) {
    let file = dir.join(name);
    fs::write(&file, script(name)).expect("write script");
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg(&file)
        .envs(env.iter().copied())
        .env("PATH", path)
        .env("CALLS", dir.join("calls"))
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn peer_scripts_initialise_once_and_configure_every_start() {
    let dir = scratch("scripts-peer");
    let data = dir.join("data");
    let secrets = dir.join("secrets");
    fs::create_dir_all(dir.join("bin")).expect("mkdir");
    fs::create_dir_all(&data).expect("mkdir");
    fs::create_dir_all(&secrets).expect("mkdir");
    let stub = dir.join("bin/ipfs");
    fs::write(&stub, STUB_IPFS).expect("stub");
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(
        secrets.join("swarm.key"),
        "/key/swarm/psk/1.0.0/\n/base16/\n00\n",
    )
    .expect("key");
    let data_s = data.to_string_lossy().into_owned();
    let secrets_s = secrets.to_string_lossy().into_owned();
    let start = || {
        sh(
            &dir,
            "copy_swarm_key.sh",
            &[("IPFS_PATH", &data_s), ("KOTAL_SECRETS_PATH", &secrets_s)],
        );
        sh(
            &dir,
            "init_ipfs_config.sh",
            &[
                ("IPFS_PATH", &data_s),
                ("IPFS_INIT_PROFILES", "server,flatfs"),
            ],
        );
        sh(
            &dir,
            "config_ipfs.sh",
            &[
                ("IPFS_PATH", &data_s),
                ("IPFS_API_HOST", "0.0.0.0"),
                ("IPFS_API_PORT", "5001"),
                ("IPFS_GATEWAY_HOST", "127.0.0.1"),
                ("IPFS_GATEWAY_PORT", "8080"),
                ("IPFS_PROFILES", "lowpower;local-discovery"),
                ("KOTAL_PRIVATE_SWARM", "true"),
            ],
        );
    };
    start();
    let first = fs::read_to_string(dir.join("calls")).expect("calls");
    assert_eq!(
        first,
        "init --empty-repo --profile server,flatfs\n\
         version --number\n\
         repo migrate\n\
         config profile apply lowpower\n\
         config profile apply local-discovery\n\
         config Addresses.API /ip4/0.0.0.0/tcp/5001\n\
         config Addresses.Gateway /ip4/127.0.0.1/tcp/8080\n\
         config --json Discovery.MDNS.Enabled false\n\
         config --json Swarm.DisableNatPortMap true\n\
         config --json Bootstrap []\n\
         config --json AutoTLS.Enabled false\n\
         config --json AutoConf.Enabled false\n\
         config --json DNS.Resolvers {}\n\
         config --json Routing.DelegatedRouters []\n\
         config --json Ipns.DelegatedPublishers []\n\
         config Plugins.Plugins.telemetry.Config.Mode off\n"
    );
    assert_eq!(
        fs::read_to_string(data.join("swarm.key")).expect("copied"),
        "/key/swarm/psk/1.0.0/\n/base16/\n00\n"
    );
    fs::write(data.join("config"), "{\"kept\":true}\n").expect("config");
    start();
    let second = fs::read_to_string(dir.join("calls")).expect("calls");
    assert_eq!(
        second.matches("init").count(),
        1,
        "the repository was initialised twice"
    );
    assert_eq!(
        second.matches("config Addresses.API").count(),
        2,
        "addresses are set on every start"
    );
    assert_eq!(
        fs::read_to_string(data.join("config")).expect("config"),
        "{\"kept\":true}\n"
    );
}

/// Local discovery and NAT port mapping are off for every Peer (a private one's
/// `local-discovery` profile included), except a public Peer whose profiles ask for them.
#[test]
fn discovery_is_off_unless_a_public_peer_asks_for_it() {
    for (profiles, private, off) in [
        ("", "false", true),
        ("lowpower", "false", true),
        ("lowpower;local-discovery", "false", false),
        ("local-discovery-extra", "false", true),
        ("local-discovery", "true", true),
        ("", "true", true),
    ] {
        let dir = scratch("scripts-discovery");
        let data = dir.join("data");
        fs::create_dir_all(dir.join("bin")).expect("mkdir");
        fs::create_dir_all(&data).expect("mkdir");
        let stub = dir.join("bin/ipfs");
        fs::write(&stub, STUB_IPFS).expect("stub");
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).expect("chmod");
        sh(
            &dir,
            "config_ipfs.sh",
            &[
                ("IPFS_PATH", &data.to_string_lossy()),
                ("IPFS_API_HOST", "0.0.0.0"),
                ("IPFS_API_PORT", "5001"),
                ("IPFS_GATEWAY_HOST", "0.0.0.0"),
                ("IPFS_GATEWAY_PORT", "8080"),
                ("IPFS_PROFILES", profiles),
                ("KOTAL_PRIVATE_SWARM", private),
            ],
        );
        let calls = fs::read_to_string(dir.join("calls")).expect("calls");
        for line in [
            "config --json Discovery.MDNS.Enabled false\n",
            "config --json Swarm.DisableNatPortMap true\n",
        ] {
            assert_eq!(
                calls.contains(line),
                off,
                "profiles {profiles:?}, private {private}:\n{calls}"
            );
        }
    }
}
