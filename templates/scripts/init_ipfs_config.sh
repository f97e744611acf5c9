#!/bin/sh
# Creates the IPFS repository on the first start only; an existing repository is never touched.
# Input (environment): IPFS_PATH, IPFS_INIT_PROFILES (comma-separated, may be empty).
set -e

if [ -f "$IPFS_PATH/config" ]; then
  echo "kotalc: IPFS repository already initialised in $IPFS_PATH"
  exit 0
fi

# kubo refuses to init over an existing config (cmd/ipfs/kubo/init.go:158 at v0.28.0), but not
# a directory that already holds the swarm key copied by copy-swarm-key. --profile takes the
# comma-separated list (init.go:66 at v0.28.0 and v0.42.0).
echo "kotalc: initialising IPFS repository in $IPFS_PATH"
if [ -n "$IPFS_INIT_PROFILES" ]; then
  ipfs init --empty-repo --profile "$IPFS_INIT_PROFILES"
else
  ipfs init --empty-repo
fi
