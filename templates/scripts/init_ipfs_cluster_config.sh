#!/bin/sh
# Creates the IPFS Cluster configuration on the first start only.
# Input (environment): IPFS_CLUSTER_PATH, IPFS_CLUSTER_CONSENSUS; ipfs-cluster-service reads
# the CLUSTER_* variables itself, here and again at every daemon start.
set -e

if [ -f "$IPFS_CLUSTER_PATH/service.json" ]; then
  echo "kotalc: IPFS Cluster already initialised in $IPFS_CLUSTER_PATH"
  exit 0
fi

echo "kotalc: initialising IPFS Cluster in $IPFS_CLUSTER_PATH"
ipfs-cluster-service init --consensus "$IPFS_CLUSTER_CONSENSUS"
