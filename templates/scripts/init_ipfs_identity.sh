#!/bin/sh
# Creates the IPFS repository with a fixed identity, on the first start only. kubo's API cannot
# change Identity.PrivKey, so the config file is rewritten here, before the daemon ever runs.
# An existing repository keeps its identity; a creation that was interrupted is completed.
# Input (environment): IPFS_PATH, IPFS_INIT_PROFILES, IPFS_PEER_ID, KOTAL_IDENTITY_FILE.
set -e

pending="$IPFS_PATH/.kotalc-identity-pending"
if [ -f "$IPFS_PATH/config" ] && [ ! -f "$pending" ]; then
  echo "kotalc: IPFS repository already initialised in $IPFS_PATH; its identity is kept"
  exit 0
fi

key=$(cat "$KOTAL_IDENTITY_FILE")
case "$key" in
  "" | *[!A-Za-z0-9+/=]*)
    echo "kotalc: the identity Secret's key is not a base64 private key" >&2
    exit 1
    ;;
esac
case "$IPFS_PEER_ID" in
  "" | *[!A-Za-z0-9]*)
    echo "kotalc: IPFS_PEER_ID is not a peer ID" >&2
    exit 1
    ;;
esac

mkdir -p "$IPFS_PATH"
touch "$pending"
if [ ! -f "$IPFS_PATH/config" ]; then
  sh "$(dirname "$0")/init_ipfs_config.sh"
fi

# `ipfs config` refuses Identity.PrivKey (core/commands/config.go:83 at v0.28.0, :92 at v0.42.0), so the file is
# edited; kubo writes it with json.MarshalIndent, one `"Key": "value"` per line
# (config/serialize/serialize.go:54 at v0.28.0 and v0.42.0).
echo "kotalc: setting the repository's identity to $IPFS_PEER_ID"
sed -e "s|\"PeerID\": *\"[^\"]*\"|\"PeerID\": \"$IPFS_PEER_ID\"|" \
  -e "s|\"PrivKey\": *\"[^\"]*\"|\"PrivKey\": \"$key\"|" \
  "$IPFS_PATH/config" > "$IPFS_PATH/config.kotalc-new"
if ! grep -q "\"PeerID\": \"$IPFS_PEER_ID\"" "$IPFS_PATH/config.kotalc-new" ||
  ! grep -q "\"PrivKey\": \"$key\"" "$IPFS_PATH/config.kotalc-new"; then
  rm -f "$IPFS_PATH/config.kotalc-new"
  echo "kotalc: could not find Identity.PeerID and Identity.PrivKey in $IPFS_PATH/config" >&2
  exit 1
fi
chmod 600 "$IPFS_PATH/config.kotalc-new"
mv "$IPFS_PATH/config.kotalc-new" "$IPFS_PATH/config"
rm -f "$pending"
