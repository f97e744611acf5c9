#!/usr/bin/env bash
# Builds the real programs that kotalc's output runs on, from the package registries only,
# into a cache outside the source tree, and prints `NAME=PATH` for each. Only what is
# missing is built: a finished build is its binary, moved into place after it succeeded.
#
#   tests/tools/build.sh            build what is missing, print the paths
#   KOTALC_TOOLS=DIR                the cache (default ~/.cache/kotalc-tools)
#
# The Go module proxy serves each program by module path and version. `go install` refuses a
# module whose go.mod has replace or exclude directives (kubo v0.43.0, k8s.io/kubernetes):
# those are built from a wrapper module here (tests/tools/NAME-VERSION/) that requires the
# program and carries the directives. etcd comes from Debian's etcd-server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KOTALC_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/kotalc-tools}"
mkdir -p "$cache"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

log() { printf 'tests/tools/build.sh: %s\n' "$*" >&2; }

# cockroachdb/swiss (through pebble, in kubo 0.3x+ and ipfs-cluster) refuses Go versions it
# has not been tested with unless this tag is set.
tags=untested_go_version
rm -rf "$cache"/.build.*

# build NAME VERSION PKG [WRAPPER]: $cache/NAME-VERSION/<PKG's last element>, by
# `go install PKG@VERSION`, or by `go build PKG` inside the wrapper module
# tests/tools/WRAPPER (default NAME-VERSION) where there is one.
build() {
    local name=$1 version=$2 pkg=$3
    local dir="$cache/$name-$version" exe wrapper="$here/${4:-$name-$version}"
    exe="$(basename "$pkg")"
    if [ ! -f "$dir/$exe" ] || [ ! -x "$dir/$exe" ]; then
        log "building $pkg $version (once; cached in $dir)"
        local start=$SECONDS tmp
        tmp="$(mktemp -d "$cache/.build.XXXXXX")"
        if [ -d "$wrapper" ]; then
            cp -R "$wrapper/." "$tmp/"
            # A wrapper whose tools.go is a main package is the program itself.
            local target=$pkg
            if [ -f "$wrapper/tools.go" ] && grep -q '^package main$' "$wrapper/tools.go"; then
                target=.
            fi
            # Into bin/: the wrapper may hold a package directory of the program's name, and
            # `go build -o` into an existing directory writes inside it.
            (cd "$tmp" && go build -tags "$tags" -o "$tmp/bin/$exe" "$target" >&2)
        else
            GOBIN="$tmp/bin" go install -tags "$tags" "$pkg@$version" >&2
        fi
        mkdir -p "$dir"
        rm -rf "${dir:?}/$exe"
        mv "$tmp/bin/$exe" "$dir/$exe"
        rm -rf "$tmp"
        log "built $name $version in $((SECONDS - start)) s"
    fi
    printf '%s=%s\n' "$(printf '%s_%s' "$exe" "$version" | tr 'a-z.-' 'A-Z__')" "$dir/$exe"
}

# The kubo versions the tests run: the default image's, one with AutoConf, the newest served.
build kubo v0.28.0 github.com/ipfs/kubo/cmd/ipfs
build kubo v0.38.2 github.com/ipfs/kubo/cmd/ipfs
# v0.43.0, from a wrapper for its excludes; v0.43.1 replaces go-libp2p with a fork that the
# proxy does not serve.
build kubo v0.43.0 github.com/ipfs/kubo/cmd/ipfs
# The repo migration kubo 0.30+ needs for a v0.28 repository (it downloads it otherwise). From a
# wrapper: `go install` reads the module's version list, which the proxy refuses, and the
# checksum database does not know its tools module, whose hash the wrapper's go.sum pins.
build fs-repo-migrations v1.0.1 github.com/ipfs/fs-repo-migrations/fs-repo-15-to-16
# v1.1.6: the newest the Go module proxy serves (it refuses v1.1.4); from a wrapper, since
# `go install` reads its version list, which the proxy refuses.
build ipfs-cluster v1.1.6 github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-service
build ipfs-cluster v1.1.6 github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-ctl
# The NetworkPolicy evaluator the policy tests ask. SIG network-policy-api's policy-assistant
# (module sigs.k8s.io/network-policy-api/policy-assistant) is not on the proxy; cyclonus, the
# simulator it grew from, is.
build cyclonus v0.5.6 github.com/mattfenwick/cyclonus/cmd/cyclonus

# kube-apiserver, at the API version kotalc targets, and kube-controller-manager for its garbage
# collector (the takeover's --cascade=orphan), from one wrapper; encoding/json v2 breaks the API
# server's OpenAPI handler, hence nojsonv2.
GOEXPERIMENT=nojsonv2 build kube-apiserver v1.33.13 k8s.io/kubernetes/cmd/kube-apiserver
GOEXPERIMENT=nojsonv2 build kube-controller-manager v1.33.13 \
    k8s.io/kubernetes/cmd/kube-controller-manager kube-apiserver-v1.33.13

# The cluster DNS of the pod runner: CoreDNS with its hosts plugin, from a wrapper that
# registers only the plugins the runner's Corefile names (the full build compiles every cloud
# provider's SDK).
build coredns v1.15.0 github.com/coredns/coredns

# in_module NAME VERSION MODULE PKG: $cache/NAME-VERSION/<PKG's last element>, built inside
# MODULE@VERSION itself (as the module proxy serves it, checked against go.sum), for a program
# that a wrapper cannot build: one whose package imports its module's internal packages, or a
# module served under a path other than the one its go.mod declares.
in_module() {
    local name=$1 version=$2 module=$3 pkg=$4
    local dir="$cache/$name-$version" exe src tmp start=$SECONDS
    exe="$(basename "$pkg")"
    if [ ! -f "$dir/$exe" ] || [ ! -x "$dir/$exe" ]; then
        log "building $module/$pkg $version (once; cached in $dir)"
        src="$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
        tmp="$(mktemp -d "$cache/.build.XXXXXX")"
        mkdir -p "$tmp/src"
        cp -R "$src/." "$tmp/src/"
        chmod -R u+w "$tmp/src"
        if [ "$name" = flux ]; then
            # cmd/flux embeds the controllers' install manifests, which its release downloads
            # and the module does not hold; `flux install` and `bootstrap` use them, the
            # commands the tests run (build kustomization, push and pull artifact) do not.
            mkdir -p "$tmp/src/cmd/flux/manifests"
            printf '# The install manifests are not part of the Go module.\n' \
                >"$tmp/src/cmd/flux/manifests/not-in-module.yaml"
        fi
        (cd "$tmp/src" && go build -o "$tmp/$exe" "./$pkg" >&2)
        mkdir -p "$dir"
        rm -rf "${dir:?}/$exe"
        mv "$tmp/$exe" "$dir/$exe"
        rm -rf "$tmp"
        log "built $name $version in $((SECONDS - start)) s"
    fi
    printf '%s=%s\n' "$(printf '%s_%s' "$exe" "$version" | tr 'a-z.-' 'A-Z__')" "$dir/$exe"
}

# The GitOps consumers. Flux's CLI v2.9.5, whose `build kustomization` runs the post-build
# substitution of kustomize-controller v1.9.5 (both link fluxcd/pkg/kustomize v1.35.6), with
# that controller's Kustomization CRD for the API server (kustomize-controller's module holds
# it).
in_module flux v2.9.5 github.com/fluxcd/flux2/v2 cmd/flux
crd="$cache/flux-v2.9.5/kustomize.toolkit.fluxcd.io_kustomizations.yaml"
if [ ! -f "$crd" ]; then
    src="$(go mod download -json github.com/fluxcd/kustomize-controller@v1.9.5 |
        sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    cp "$src/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml" "$crd.tmp"
    chmod u+w "$crd.tmp"
    mv "$crd.tmp" "$crd"
fi
printf 'FLUX_KUSTOMIZATION_CRD=%s\n' "$crd"
# The OCI registry `flux push artifact` pushes to and `flux pull artifact` pulls from.
build distribution v3.1.2 github.com/distribution/distribution/v3/cmd/registry
# The sealed-secrets controller and kubeseal, one release. v0.40.0's go.mod names the module
# github.com/bitnami/sealed-secrets, which the proxy serves only under its old path
# github.com/bitnami-labs/sealed-secrets: `go install` refuses the mismatch, a build inside the
# module does not mind it.
in_module sealed-secrets v0.40.0 github.com/bitnami-labs/sealed-secrets cmd/controller
in_module sealed-secrets v0.40.0 github.com/bitnami-labs/sealed-secrets cmd/kubeseal
crd="$cache/sealed-secrets-v0.40.0/bitnami.com_sealedsecrets.yaml"
if [ ! -f "$crd" ]; then
    src="$(go mod download -json github.com/bitnami-labs/sealed-secrets@v0.40.0 |
        sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    cp "$src/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml" "$crd.tmp"
    chmod u+w "$crd.tmp"
    mv "$crd.tmp" "$crd"
fi
printf 'SEALEDSECRET_CRD=%s\n' "$crd"
# Argo CD's config-management-plugin server and a client made of the repo server's own code
# (tests/tools/argo-cd-v3.6.2/kotalc-cmp-client), from one wrapper for Argo CD's replace
# directives. v3.6 needs Go 1.27, which the go command takes from the module proxy.
GOTOOLCHAIN=go1.27.3 build argo-cd v3.6.2 ./argocd-cmp-server
GOTOOLCHAIN=go1.27.3 build argo-cd v3.6.2 ./kotalc-cmp-client

# The CRDs of the opt-in objects kotalc renders, for the API server to check them against: the
# PodMonitor of prometheus-operator v0.84.0 and the HTTPRoute of Gateway API v1.3.0 (its
# standard channel), each file as its Go module holds it.
crds="$cache/crds-v1"
if [ ! -f "$crds/done" ]; then
    mkdir -p "$crds"
    for file in \
        github.com/prometheus-operator/prometheus-operator@v0.84.0:example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml \
        sigs.k8s.io/gateway-api@v1.3.0:config/crd/standard/gateway.networking.k8s.io_httproutes.yaml; do
        src="$(go mod download -json "${file%%:*}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
        cp "$src/${file#*:}" "$crds/"
        chmod u+w "$crds/$(basename "${file#*:}")"
    done
    touch "$crds/done"
fi
printf 'CRDS=%s\n' "$crds"

if ! command -v etcd >/dev/null 2>&1; then
    log "installing etcd-server (Debian)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null
fi
printf 'ETCD=%s\n' "$(command -v etcd)"
