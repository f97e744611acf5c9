#!/bin/sh
# Starts a Raft cluster peer, joining its bootstrap peers only while it has no Raft state:
# ipfs-cluster-service moves the Raft state aside whenever --bootstrap is given.
# Input (environment): IPFS_CLUSTER_PATH, KOTAL_BOOTSTRAP_PEERS; arguments: extra daemon flags.
set -e

# Raft keeps its log and stable store in raft.db and its snapshots in snapshots/<id>/ under
# <config folder>/raft. A peer has state, as hashicorp/raft's HasExistingState decides, once
# it has a snapshot or a current term (the "CurrentTerm" key of raft.db, written when it
# joins or bootstraps a cluster); raft.db alone is made by any start, joined or not.
raft="$IPFS_CLUSTER_PATH/raft"
has_raft_state() {
  for meta in "$raft"/snapshots/*/meta.json; do
    if [ -f "$meta" ]; then
      return 0
    fi
  done
  [ -f "$raft/raft.db" ] && tr -d '\000' < "$raft/raft.db" | grep -qF CurrentTerm
}

if has_raft_state; then
  echo "kotalc: Raft state found in $raft; starting without --bootstrap"
  exec ipfs-cluster-service daemon "$@"
fi
echo "kotalc: no Raft state in $raft; joining $KOTAL_BOOTSTRAP_PEERS"
exec ipfs-cluster-service daemon --bootstrap "$KOTAL_BOOTSTRAP_PEERS" "$@"
