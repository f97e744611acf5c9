#!/bin/sh
# Sets kubo's Peering.Peers to exactly the list kotalc rendered, at every start: an entry
# removed from the resource is removed here too.
# Input (environment): IPFS_PATH, IPFS_PEERING (a JSON list of {"ID": ..., "Addrs": [...]}).
set -e

ipfs config --json Peering.Peers "$IPFS_PEERING"
echo "kotalc: Peering.Peers set"
