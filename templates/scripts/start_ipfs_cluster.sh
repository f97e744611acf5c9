#!/bin/sh
# Starts a Raft cluster peer, joining its bootstrap peers only while it has no Raft state:
# ipfs-cluster-service moves the Raft state aside whenever --bootstrap is given.
# Input (environment): IPFS_CLUSTER_PATH, KOTAL_BOOTSTRAP_PEERS; arguments: extra daemon flags.
set -e

# Raft keeps its log and stable store in raft.db and its snapshots in snapshots/<id>/ under
# <config folder>/raft. A peer has joined or bootstrapped a cluster once it has a snapshot or
# a non-zero current term, as hashicorp/raft's HasExistingState decides (api.go:462 at v1.7.3,
# the version ipfs-cluster v1.1.6 uses). The "CurrentTerm" key alone proves nothing: NewRaft
# writes it, 0 on a new store, at every start (api.go:589 setCurrentTerm), joined or not; it
# becomes non-zero when the peer bootstraps (api.go:262) or hears from a leader (raft.go:1465).
# A log entry always comes with its leader's term, so the term covers "has log entries" too.
raft="$IPFS_CLUSTER_PATH/raft"

# Whether raft.db holds "CurrentTerm" with a non-zero value: bolt stores a key's value right
# after it (raft-boltdb stores the term as 8 big-endian bytes). Terms only grow, so a stale
# copy in a freed page is never larger than the live one. Streams the file: constant memory.
has_term() {
  od -An -v -tx1 "$1" | awk '
    BEGIN { n = split("43 75 72 72 65 6e 74 54 65 72 6d", key, " "); m = 0; v = -1 }
    {
      for (i = 1; i <= NF; i++) {
        if (v >= 0) {
          if ($i != "00") { found = 1; exit }
          if (++v == 8) v = -1
        } else if ($i == key[m + 1]) {
          if (++m == n) { m = 0; v = 0 }
        } else {
          m = ($i == key[1]) ? 1 : 0
        }
      }
    }
    END { exit !found }'
}

has_raft_state() {
  for meta in "$raft"/snapshots/*/meta.json; do
    if [ -f "$meta" ]; then
      return 0
    fi
  done
  [ -f "$raft/raft.db" ] && has_term "$raft/raft.db"
}

if has_raft_state; then
  echo "kotalc: Raft state found in $raft; starting without --bootstrap"
  exec ipfs-cluster-service daemon "$@"
fi
echo "kotalc: no Raft state in $raft; joining $KOTAL_BOOTSTRAP_PEERS"
exec ipfs-cluster-service daemon --bootstrap "$KOTAL_BOOTSTRAP_PEERS" "$@"
