#!/usr/bin/env bash
# Installs the pinned kotalc for the action (action.yml) and puts it on the job's PATH.
#
#   install.sh locate    the version, its install root, and the release's binary if it has
#                        one: writes version=, source= (a hash of the action's source),
#                        root= and found= (installed already) to $GITHUB_OUTPUT
#   install.sh install   kotalc in $KOTALC_ROOT unless it is there already (restored from
#                        the cache): `cargo install --locked` from the action's own source
#                        when the version is the action's, else from crates.io
#
# The version is $KOTALC_VERSION, or the action's own (its Cargo.toml), which the workflow's
# `uses: OWNER/kotalc@REF` pins. A release's binary is kotalc-VERSION-TARGET.tar.gz beside
# kotalc-VERSION-TARGET.tar.gz.sha256; it is used only if its checksum matches.
set -euo pipefail
action="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"

log() { printf 'kotalc action: %s\n' "$*" >&2; }

own_version() {
    sed -n 's/^version = "\(.*\)"$/\1/p' "$action/Cargo.toml" | head -n 1
}

version="${KOTALC_VERSION:-}"
[ -n "$version" ] || version="$(own_version)"
case "$version" in
    '' | *[!0-9A-Za-z.+-]*) log "not a kotalc version: '$version'"; exit 2 ;;
esac
# What the install root and the cache key name besides the version: the action's source,
# which a branch reference (`@main`) moves without a new version.
sha256() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }
source="$(cd "$action" && find Cargo.toml Cargo.lock src templates -type f -print0 \
    | sort -z | xargs -0 cat | sha256 | cut -c 1-16)"
root="${KOTALC_ROOT:-${RUNNER_TOOL_CACHE:-$HOME/.cache}/kotalc/$version-$source}"

installed() {
    [ -x "$root/bin/kotalc" ] \
        && "$root/bin/kotalc" --version 2>/dev/null | grep -qF "kotalc $version "
}

release() {
    local target url tmp
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
        Linux-aarch64) target=aarch64-unknown-linux-gnu ;;
        Darwin-arm64) target=aarch64-apple-darwin ;;
        Darwin-x86_64) target=x86_64-apple-darwin ;;
        *) return 1 ;;
    esac
    [ -n "${GITHUB_ACTION_REPOSITORY:-}" ] || return 1
    url="${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_ACTION_REPOSITORY/releases/download/v$version/kotalc-$version-$target.tar.gz"
    tmp="$(mktemp -d)"
    if ! curl -fsSL --retry 3 -o "$tmp/kotalc.tar.gz" "$url" \
        || ! curl -fsSL --retry 3 -o "$tmp/kotalc.tar.gz.sha256" "$url.sha256"; then
        rm -rf "$tmp"
        return 1
    fi
    local want got
    want="$(cut -d ' ' -f 1 <"$tmp/kotalc.tar.gz.sha256")"
    got="$(sha256 "$tmp/kotalc.tar.gz")"
    if [ "${got%% *}" != "$want" ]; then
        log "the release's kotalc-$version-$target.tar.gz does not match its checksum; not used"
        rm -rf "$tmp"
        return 1
    fi
    mkdir -p "$root/bin"
    tar -xzf "$tmp/kotalc.tar.gz" -C "$root/bin" kotalc
    rm -rf "$tmp"
}

case "${1:-}" in
    locate)
        found=false
        if installed || release; then
            found=true
            log "kotalc $version: the release's binary"
        fi
        {
            echo "version=$version"
            echo "source=$source"
            echo "root=$root"
            echo "found=$found"
        } >>"${GITHUB_OUTPUT:-/dev/null}"
        ;;
    install)
        if installed; then
            log "kotalc $version is installed in $root"
        elif [ "$version" = "$(own_version)" ]; then
            log "building kotalc $version from the action's source (cached for later runs)"
            cargo install --locked --root "$root" --path "$action"
        else
            log "building kotalc $version from crates.io (cached for later runs)"
            cargo install --locked --root "$root" --version "=$version" kotalc
        fi
        installed || { log "kotalc $version did not install into $root"; exit 1; }
        # For the workflow's later steps; the action's run step names the binary itself.
        echo "$root/bin" >>"${GITHUB_PATH:-/dev/null}"
        ;;
    *)
        log "usage: install.sh locate|install"
        exit 2
        ;;
esac
