#!/bin/sh
# Creates the IPFS repository on the first start only; an existing repository is never touched.
# Input (environment): IPFS_PATH, IPFS_INIT_PROFILES (comma-separated, may be empty).
set -e

if [ -f "$IPFS_PATH/config" ]; then
  echo "kotalc: IPFS repository already initialised in $IPFS_PATH"
  exit 0
fi

echo "kotalc: initialising IPFS repository in $IPFS_PATH"
if [ -n "$IPFS_INIT_PROFILES" ]; then
  ipfs init --empty-repo --profile "$IPFS_INIT_PROFILES"
else
  ipfs init --empty-repo
fi
