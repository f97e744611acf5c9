#!/usr/bin/env bash
# The fuzz targets (compile, krm, seal) under libFuzzer, each for a bounded time, from a seed
# corpus: fuzz/corpus/<target> plus the fixtures' inputs (every fixture for compile, the
# fixtures as ResourceList items for krm). A crash fails the run and leaves its input in
# fuzz/artifacts/<target>/. `.ci/run` calls this; FUZZ_SECONDS bounds each target (default
# 60, so three targets take about three minutes once built).
#
# cargo-fuzz needs the nightly toolchain (sanitizers). Both, and the fuzz build, are cached
# outside the tree (KOTALC_FUZZ_CACHE, default ~/.cache/kotalc-fuzz), so that a fresh clone,
# as CI's, builds them once per machine.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-60}"
cache="${KOTALC_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kotalc-fuzz}"
tools="$cache/tools"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
    cargo install --quiet --locked --root "$tools" cargo-fuzz
fi
export PATH="$tools/bin:$PATH"

# Seeds from the fixtures, in a scratch corpus beside the committed one, so that what the
# fuzzer adds is never committed by accident.
scratch="$PWD/../target/fuzz-corpus"
rm -rf "$scratch"
for target in compile krm seal; do
    mkdir -p "$scratch/$target"
    cp corpus/"$target"/* "$scratch/$target/"
done
n=0
for file in ../fixtures/*/input/*.yaml ../fixtures/*/input/*.yml; do
    [ -f "$file" ] || continue
    n=$((n + 1))
    cp "$file" "$scratch/compile/fixture-$n.yaml"
    {
        printf 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n'
        # Each document of the fixture as one item.
        awk 'BEGIN { first = 1 }
             /^---/ { first = 1; next }
             { if (first) { printf "- %s\n", $0; first = 0 } else { printf "  %s\n", $0 } }' "$file"
    } >"$scratch/krm/fixture-$n.yaml"
done

mkdir -p artifacts
for target in compile krm seal; do
    echo "fuzz/run.sh: $target for ${seconds}s" >&2
    cargo +nightly fuzz run --target-dir "$cache/target" "$target" "$scratch/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 2>"$scratch/$target.log" || {
        tail -n 60 "$scratch/$target.log" >&2
        echo "fuzz/run.sh: $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$scratch/$target.log" >&2 || true
done
