#!/bin/sh
# Brings the repository up to this image's kubo, then applies the profiles, the address
# configuration and the private-swarm settings, in that order, at every start.
# Input (environment): IPFS_PATH, IPFS_API_HOST, IPFS_API_PORT, IPFS_GATEWAY_HOST,
# IPFS_GATEWAY_PORT, IPFS_PROFILES (semicolon-separated, may be empty), KOTAL_PRIVATE_SWARM
# ("true" for a Peer with a swarm key).
set -e

# AutoConf exists from repository version 17 (kubo v0.37, version.go:17 at v0.37.0); an older
# kubo keeps no such key. `version --repo` needs no repository (core/commands/version.go:63 at
# v0.28.0, :72 at v0.42.0).
knows_autoconf() {
  repo_version=$(ipfs version --repo)
  case "$repo_version" in
    "" | *[!0-9]*)
      echo "kotalc: \`ipfs version --repo\` printed \"$repo_version\", not a number" >&2
      exit 1
      ;;
  esac
  [ "$repo_version" -ge 17 ]
}

# A repository made by an older kubo must be migrated before `ipfs config` opens it: fsrepo
# refuses an outdated repository with ErrNeedMigration (repo/fsrepo/fsrepo.go:172 at v0.28.0,
# :188 at v0.42.0), and the daemon's --migrate would never get to run. `repo migrate` does
# nothing on a current repository (core/commands/repo.go:389 at v0.28.0, :645 at v0.42.0).
ipfs repo migrate

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

if [ "$KOTAL_PRIVATE_SWARM" = true ]; then
  # The public bootstrap list, and from v0.37 the "auto" placeholder (config/init.go:38 at
  # v0.42.0), have no place in a private swarm: its peering list does the finding. With a
  # swarm key the daemon refuses to start while AutoConf is on with the mainnet URL, or off with
  # only "auto" in Bootstrap (config/autoconf_client.go:64-125 at v0.42.0).
  ipfs config --json Bootstrap '[]'
  if knows_autoconf; then
    ipfs config --json AutoConf.Enabled false
  fi
  echo "kotalc: private swarm: Bootstrap emptied, AutoConf off where kubo has it"
elif [ -f "$IPFS_PATH/swarm.key" ]; then
  # A swarm key left from an earlier spec would keep the peer in its old private swarm. The
  # public bootstrap settings come back first, so that an interrupted start is finished on
  # the next one: from v0.37 the "auto" list with AutoConf, before it the default peers
  # (`bootstrap add default`, core/commands/bootstrap.go:64 at v0.28.0).
  if knows_autoconf; then
    ipfs config --json AutoConf.Enabled true
    ipfs config --json Bootstrap '["auto"]'
  else
    ipfs bootstrap add default
  fi
  rm -f "$IPFS_PATH/swarm.key"
  echo "kotalc: the Peer has no swarm key any more: removed $IPFS_PATH/swarm.key, public bootstrap restored"
fi
