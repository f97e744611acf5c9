#!/bin/sh
# Copies the private swarm key from its mounted Secret into the IPFS repository.
# Input (environment): IPFS_PATH, KOTAL_SECRETS_PATH.
set -e

mkdir -p "$IPFS_PATH"
cp "$KOTAL_SECRETS_PATH/swarm.key" "$IPFS_PATH/swarm.key"
chmod 600 "$IPFS_PATH/swarm.key"
echo "kotalc: swarm key copied into $IPFS_PATH"
