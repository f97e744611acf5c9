#!/usr/bin/env bash
# Builds the real programs that kotalc's output runs on, from the package registries only,
# into a cache outside the source tree, and prints `NAME=PATH` for each. Only what is
# missing is built: a finished build is its binary, moved into place after it succeeded.
#
#   tests/tools/build.sh            build what is missing, print the paths
#   KOTALC_TOOLS=DIR                the cache (default ~/.cache/kotalc-tools)
#
# The Go module proxy serves each program by module path and version; kube-apiserver and
# kube-controller-manager come from a wrapper module (kube-apiserver/go.mod) because
# k8s.io/kubernetes cannot be `go install`ed. etcd comes from Debian's etcd-server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KOTALC_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/kotalc-tools}"
mkdir -p "$cache"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

log() { printf 'tests/tools/build.sh: %s\n' "$*" >&2; }

# go_install NAME VERSION MODULE/PKG [TAGS]: $cache/NAME-VERSION/BIN
go_install() {
    local name=$1 version=$2 pkg=$3 tags=${4:-}
    local dir="$cache/$name-$version" bin
    bin="$dir/$(basename "$pkg")"
    if [ ! -x "$bin" ]; then
        log "building $pkg@$version (once; cached in $dir)"
        local start=$SECONDS tmp
        tmp="$(mktemp -d "$cache/.build.XXXXXX")"
        GOBIN="$tmp" go install ${tags:+-tags "$tags"} "$pkg@$version" >&2
        mkdir -p "$dir"
        mv "$tmp/$(basename "$pkg")" "$bin"
        rmdir "$tmp"
        log "built $name $version in $((SECONDS - start)) s"
    fi
    printf '%s=%s\n' "$(printf '%s_%s' "$(basename "$pkg")" "$version" | tr 'a-z.-' 'A-Z__')" "$bin"
}

# The kubo versions the tests run: the default image's, one with AutoConf, the newest served.
go_install kubo v0.28.0 github.com/ipfs/kubo/cmd/ipfs
go_install kubo v0.38.2 github.com/ipfs/kubo/cmd/ipfs
go_install kubo v0.43.1 github.com/ipfs/kubo/cmd/ipfs
# The repo migration kubo 0.29+ needs for a v0.28 repository (it downloads it otherwise).
go_install fs-repo-migrations v1.0.1 github.com/ipfs/fs-repo-migrations/fs-repo-15-to-16
# cockroachdb/swiss refuses unknown Go versions without this tag.
go_install ipfs-cluster v1.1.6 github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-service untested_go_version
go_install ipfs-cluster v1.1.6 github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-ctl untested_go_version
# The NetworkPolicy evaluator the policy tests ask. SIG network-policy-api's policy-assistant
# (module sigs.k8s.io/network-policy-api/policy-assistant) is not on the proxy (404 for its
# version list, 403 for every branch and commit); cyclonus, the simulator it grew from, is.
go_install cyclonus v0.5.6 github.com/mattfenwick/cyclonus/cmd/cyclonus

# kube-apiserver, and kube-controller-manager for its garbage collector (which orphans objects
# for `kubectl delete --cascade=orphan`), from the wrapper module; encoding/json v2 breaks the
# API server's OpenAPI handler.
k8s=v1.33.13
for program in kube-apiserver kube-controller-manager; do
    dir="$cache/$program-$k8s"
    if [ ! -x "$dir/$program" ]; then
        log "building $program $k8s (once; cached in $dir)"
        start=$SECONDS
        tmp="$(mktemp -d "$cache/.build.XXXXXX")"
        cp "$here/kube-apiserver/go.mod" "$here/kube-apiserver/tools.go" "$tmp/"
        [ -f "$here/kube-apiserver/go.sum" ] && cp "$here/kube-apiserver/go.sum" "$tmp/"
        (cd "$tmp" && GOEXPERIMENT=nojsonv2 go build -o "$program" "k8s.io/kubernetes/cmd/$program" >&2)
        mkdir -p "$dir"
        mv "$tmp/$program" "$dir/$program"
        rm -rf "$tmp"
        log "built $program $k8s in $((SECONDS - start)) s"
    fi
    printf '%s=%s\n' "$(printf '%s' "$program" | tr 'a-z-' 'A-Z_')" "$dir/$program"
done

if ! command -v etcd >/dev/null 2>&1; then
    log "installing etcd-server (Debian)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null
fi
printf 'ETCD=%s\n' "$(command -v etcd)"
