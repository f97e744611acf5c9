#!/usr/bin/env bash
# Installs the tools that the CI entries' tests (tests/ci_entries.rs) run, from PyPI and npm,
# into the same cache as build.sh (~/.cache/kotalc-tools), and prints `NAME=PATH` for each.
# Only what is missing is installed: an install is complete when its `.installed` mark is
# there, which is written last.
#
#   pre-commit 4.7.0            PyPI, in a virtual environment
#   the SARIF 2.1.0 schema      sarif-2.1.0.json of npm's @microsoft/sarif-multitool-linux
#   action-validator 0.6.0      npm's @action-validator/cli, which validates action.yml
#                               against SchemaStore's github-action schema
set -euo pipefail
cache="${KOTALC_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/kotalc-tools}"
mkdir -p "$cache"

log() { printf 'tests/tools/ci-tools.sh: %s\n' "$*" >&2; }

# install NAME FILE STEP: unless NAME is complete, runs STEP in the empty directory $dir
# ($cache/NAME; a virtual environment cannot be moved once made), then marks it complete.
# Prints NAME's FILE.
install() {
    dir="$cache/$1"
    if [ ! -e "$dir/.installed" ]; then
        log "installing $1 (once; cached in $dir)"
        rm -rf "$dir"
        mkdir -p "$dir"
        "$3" >&2
        touch "$dir/.installed"
    fi
    printf '%s=%s\n' "$(printf '%s' "$1" | tr 'a-z.-' 'A-Z__')" "$dir/$2"
}

pre_commit() {
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q pre-commit==4.7.0
}

sarif_schema() {
    (cd "$dir" && npm pack -q @microsoft/sarif-multitool-linux@5.7.0 >/dev/null \
        && tar -xzf microsoft-sarif-multitool-linux-5.7.0.tgz package/sarif-2.1.0.json \
        && mv package/sarif-2.1.0.json . && rm -rf package ./*.tgz)
}

action_validator() {
    npm install -q --no-audit --no-fund --prefix "$dir" @action-validator/cli@0.6.0 >/dev/null
}

install pre-commit-4.7.0 bin/pre-commit pre_commit
install sarif-2.1.0 sarif-2.1.0.json sarif_schema
install action-validator-0.6.0 node_modules/.bin/action-validator action_validator
