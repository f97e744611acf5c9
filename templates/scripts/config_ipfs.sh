#!/bin/sh
# Brings the repository up to this image's kubo, then applies the profiles, the address
# configuration and the private-swarm settings, in that order, at every start.
# Input (environment): IPFS_PATH, IPFS_API_HOST, IPFS_API_PORT, IPFS_GATEWAY_HOST,
# IPFS_GATEWAY_PORT, IPFS_PROFILES (semicolon-separated, may be empty), KOTAL_PRIVATE_SWARM
# ("true" for a Peer with a swarm key), KOTAL_RESOURCE_MANAGER_MEMORY, KOTAL_STORAGE_MAX and
# KOTAL_STORAGE_GC_WATERMARK (each empty to leave the setting as the repository holds it),
# KOTAL_PUBLIC_GATEWAYS (kubo's Gateway.PublicGateways as JSON, for an exposed gateway).
set -e

# kubo's release decides which keys its configuration has: `ipfs version --number` prints it
# and needs no repository (core/commands/version.go:31 at v0.28.0).
kubo_release=$(ipfs version --number)
kubo_major=${kubo_release%%.*}
kubo_minor=${kubo_release#*.}
kubo_minor=${kubo_minor%%.*}
case "$kubo_major:$kubo_minor" in
  :* | *: | *[!0-9:]*)
    echo "kotalc: \`ipfs version --number\` printed \"$kubo_release\", not a release" >&2
    exit 1
    ;;
esac
# kubo_at_least MINOR: this kubo is v0.MINOR or later.
kubo_at_least() {
  [ "$kubo_major" -gt 0 ] || [ "$kubo_minor" -ge "$1" ]
}

# A repository made by an older kubo must be migrated before `ipfs config` opens it: fsrepo
# refuses an outdated repository with ErrNeedMigration (repo/fsrepo/fsrepo.go:172 at v0.28.0,
# :188 at v0.42.0), and the daemon's --migrate would never get to run. `repo migrate` does
# nothing on a current repository (core/commands/repo.go:389 at v0.28.0, :645 at v0.42.0).
# The step from repository 15 (kubo before v0.30) to 16 is the last one kubo does not carry:
# it runs fs-repo-15-to-16 from PATH, or downloads it from Migration.DownloadSources, public
# gateways by default (repo/fsrepo/migrations/migrations.go:238 and :404-433 at v0.38.2);
# later steps are built in.
repo_version=$(cat "$IPFS_PATH/version" 2>/dev/null || true)
if [ -n "$repo_version" ] && [ "$repo_version" -lt 16 ] 2>/dev/null && kubo_at_least 30 &&
  ! command -v fs-repo-15-to-16 > /dev/null; then
  echo "kotalc: the repository in $IPFS_PATH is version $repo_version and kubo $kubo_release needs the migration fs-repo-15-to-16, which is not on PATH: kubo downloads it"
  if ! ipfs repo migrate; then
    echo "kotalc: kubo $kubo_release cannot open the version $repo_version repository in $IPFS_PATH without the migration fs-repo-15-to-16, and could not download it (no egress?). Put fs-repo-15-to-16 (github.com/ipfs/fs-repo-migrations) on the image's PATH, or migrate the volume once with it, or go back to a kubo before v0.30; see kotalc's README, \"Upgrading kubo across repository version 16\"" >&2
    exit 1
  fi
else
  ipfs repo migrate
fi

# Profiles first: `test` and `default-networking` rewrite Addresses.API and Addresses.Gateway
# (config/profile.go:78 and :97 at v0.28.0, :93 and :119 at v0.42.0), and from v0.37
# `default-networking` switches AutoConf back on (config/profile.go:123 at v0.42.0).
if [ -n "$IPFS_PROFILES" ]; then
  saved_ifs=$IFS
  IFS=';'
  for profile in $IPFS_PROFILES; do
    IFS=$saved_ifs
    echo "kotalc: applying profile $profile"
    ipfs config profile apply "$profile"
  done
  IFS=$saved_ifs
fi

ipfs config Addresses.API "/ip4/$IPFS_API_HOST/tcp/$IPFS_API_PORT"
ipfs config Addresses.Gateway "/ip4/$IPFS_GATEWAY_HOST/tcp/$IPFS_GATEWAY_PORT"

# Local discovery and NAT port mapping, on in kubo's default config (config/init.go at v0.28.0
# and v0.43.0), look for a LAN and a home router that a pod does not have: mDNS queries
# 224.0.0.251:5353, UPnP sends SSDP to 239.255.255.250:1900 and NAT-PMP asks the pod's gateway
# (the node's bridge) for a port. The Service, not a mapped port, makes a Peer reachable. Off
# for every Peer, after the profiles, unless a public Peer's profiles name `local-discovery`,
# which asks for exactly these; a private Peer's NetworkPolicy drops them in any case.
case ";$IPFS_PROFILES;" in
  *";local-discovery;"*) [ "$KOTAL_PRIVATE_SWARM" = true ] && discovery=off || discovery=profile ;;
  *) discovery=off ;;
esac
if [ "$discovery" = off ]; then
  ipfs config --json Discovery.MDNS.Enabled false
  ipfs config --json Swarm.DisableNatPortMap true
fi
# Memory and storage from the pod's limits, after the profiles (none of which sets them):
# libp2p's resource manager otherwise plans for half of the node's memory
# (core/node/libp2p/rcmgr_defaults.go:22 at v0.28.0), and GC for kubo's 10GB whatever the
# claim. Each is a humanize size (`3276MiB`), parsed at every daemon start.
if [ -n "$KOTAL_RESOURCE_MANAGER_MEMORY" ]; then
  ipfs config Swarm.ResourceMgr.MaxMemory "$KOTAL_RESOURCE_MANAGER_MEMORY"
fi
# The exposed gateway's host: a subdomain gateway answers <cid>.ipfs.<host> and redirects
# <host>/ipfs/<cid> there; a path gateway answers <host>/ipfs/<cid> (config/gateway.go
# GatewaySpec at v0.28.0). Left as it is when the gateway is not exposed.
if [ -n "$KOTAL_PUBLIC_GATEWAYS" ]; then
  ipfs config --json Gateway.PublicGateways "$KOTAL_PUBLIC_GATEWAYS"
fi
if [ -n "$KOTAL_STORAGE_MAX" ]; then
  ipfs config Datastore.StorageMax "$KOTAL_STORAGE_MAX"
  ipfs config --json Datastore.StorageGCWatermark "$KOTAL_STORAGE_GC_WATERMARK"
fi

if [ "$KOTAL_PRIVATE_SWARM" = true ]; then
  # The public bootstrap list, and from v0.37 the "auto" placeholder (config/init.go:38 at
  # v0.42.0), have no place in a private swarm: its peering list does the finding. With a
  # swarm key the daemon refuses to start while AutoConf is on with the mainnet URL, or off with
  # only "auto" in Bootstrap (config/autoconf_client.go:64-125 at v0.42.0).
  ipfs config --json Bootstrap '[]'
  # AutoTLS (from v0.32, on by default from v0.34: config/autotls.go:39 at v0.38.2) would
  # register the peer with a public CA; kubo turns it off under a swarm key with an ERROR
  # (cmd/ipfs/kubo/daemon.go:446 at v0.38.2).
  if kubo_at_least 32; then
    ipfs config --json AutoTLS.Enabled false
  fi
  if kubo_at_least 37; then
    # AutoConf off, and the other "auto" placeholders (config/init.go:55-72 at v0.38.2)
    # replaced, each of which kubo reports as an ERROR with AutoConf off
    # (config/autoconf_client.go:98-117): the system's resolver (the cluster's DNS), no
    # delegated routers and no delegated IPNS publishers, all public hosts.
    ipfs config --json AutoConf.Enabled false
    ipfs config --json DNS.Resolvers '{}'
    ipfs config --json Routing.DelegatedRouters '[]'
    ipfs config --json Ipns.DelegatedPublishers '[]'
    # The telemetry plugin (from v0.37) POSTs to a public host, tagged private_network
    # (plugin/plugins/telemetry/telemetry.go:164-216 and :271 at v0.38.2, :77 at v0.43.0;
    # v0.43.1 ships no endpoint, and `off` still holds).
    ipfs config Plugins.Plugins.telemetry.Config.Mode off
  fi
  echo "kotalc: private swarm: Bootstrap emptied; AutoTLS, AutoConf, delegated routing and telemetry off where kubo has them"
elif [ -f "$IPFS_PATH/swarm.key" ]; then
  # A swarm key left from an earlier spec would keep the peer in its old private swarm. The
  # public settings come back first, so that an interrupted start is finished on the next
  # one: from v0.37 the "auto" values with AutoConf, before it the default peers
  # (`bootstrap add default`, core/commands/bootstrap.go:64 at v0.28.0); AutoTLS to kubo's
  # default (null). Telemetry stays off: kotalc never turns it on.
  if kubo_at_least 37; then
    ipfs config --json AutoConf.Enabled true
    ipfs config --json Bootstrap '["auto"]'
    ipfs config --json DNS.Resolvers '{".": "auto"}'
    ipfs config --json Routing.DelegatedRouters '["auto"]'
    ipfs config --json Ipns.DelegatedPublishers '["auto"]'
  else
    ipfs bootstrap add default
  fi
  if kubo_at_least 32; then
    ipfs config --json AutoTLS.Enabled null
  fi
  rm -f "$IPFS_PATH/swarm.key"
  echo "kotalc: the Peer has no swarm key any more: removed $IPFS_PATH/swarm.key, public bootstrap restored"
fi
