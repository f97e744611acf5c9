#!/bin/sh
# Applies the address configuration and the profiles at every start.
# Input (environment): IPFS_PATH, IPFS_API_HOST, IPFS_API_PORT, IPFS_GATEWAY_HOST,
# IPFS_GATEWAY_PORT, IPFS_PROFILES (semicolon-separated, may be empty).
set -e

ipfs config Addresses.API "/ip4/$IPFS_API_HOST/tcp/$IPFS_API_PORT"
ipfs config Addresses.Gateway "/ip4/$IPFS_GATEWAY_HOST/tcp/$IPFS_GATEWAY_PORT"

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
