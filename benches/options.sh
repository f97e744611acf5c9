#!/bin/sh
# The cost per resource of build with the opt-in options, against plain build, on the
# benchmark's generated inputs (N Peers and N/4 ClusterPeers, fixed seed): --monitoring on every
# resource, and every Peer whose gateway is on exposed (kotalc.io/gateway-host and
# kotalc.io/gateway-controller-namespace), which adds a PodMonitor, an Ingress and policy rules.
# The options add objects, so the cost is set per object rendered: the options keep it where
# plain build has it, at N = 1,000 as at 10,000. Each time is the median of $RUNS runs (5).
#
#   benches/options.sh            print the table
#   benches/options.sh --docs     also replace the table in docs/performance.md
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet --bench generate
generate=$(find target/release/deps -maxdepth 1 -type f -name 'generate-*' ! -name '*.d' | head -n 1)
kotalc=${KOTALC:-target/release/kotalc}
runs=${RUNS:-5}
work=${BENCH_WORK:-target/bench-options}
rm -rf "$work"
mkdir -p "$work"

median() {
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e' -o "$work/time" sh -c "$1" >/dev/null 2>&1
    cat "$work/time"
  done | sort -n | awk -v mid=$(((runs + 1) / 2)) 'NR == mid { print $1 }'
}

# expose DIR: every Peer document with `gateway: true` gets the gateway annotations.
expose() {
  find "$1" -name '*.yaml' | while read -r file; do
    awk '
      function flush() {
        if (doc ~ /\nkind: Peer\n/ && doc ~ /\n  gateway: true\n/)
          sub(/\n  labels:\n/, "\n  annotations:\n    kotalc.io/gateway-host: ipfs.example.com\n    kotalc.io/gateway-controller-namespace: ingress-nginx\n  labels:\n", doc)
        if (doc != "") printf "%s\n", substr(doc, 2)
        doc = ""
      }
      /^---$/ { flush(); print; next }
      { doc = doc "\n" $0 }
      END { flush() }
    ' "$file" > "$file.new"
    mv "$file.new" "$file"
  done
}

table() {
  printf '| N | resources | build | objects | per object | with the options | objects | per object | options / build, per object |\n'
  printf '|---|---|---|---|---|---|---|---|---|\n'
  for n in 1000 10000; do
    "$generate" "$n" "$work/in-$n" >/dev/null 2>&1
    cp -r "$work/in-$n" "$work/opted-$n"
    expose "$work/opted-$n"
    resources=$((n + n / 4))
    "$kotalc" build "$work/in-$n" > "$work/in-$n.yaml" 2>/dev/null
    "$kotalc" build "$work/opted-$n" --monitoring monitoring:app.kubernetes.io/name=prometheus \
      > "$work/opted-$n.yaml" 2>/dev/null
    objects=$(grep -c '^kind:' "$work/in-$n.yaml")
    opted_objects=$(grep -c '^kind:' "$work/opted-$n.yaml")
    plain=$(median "$kotalc build $work/in-$n")
    opted=$(median "$kotalc build $work/opted-$n --monitoring monitoring:app.kubernetes.io/name=prometheus")
    awk -v n="$n" -v r="$resources" -v p="$plain" -v o="$opted" -v a="$objects" -v b="$opted_objects" 'BEGIN {
      printf "| %d | %d | %.2f s | %d | %.0f us | %.2f s | %d | %.0f us | %.2f |\n", n, r, p, a, p / a * 1e6, o, b, o / b * 1e6, (o / b) / (p / a)
    }'
  done
  printf '\nObjects with the options at N = 10,000: %s PodMonitors, %s Ingresses.\n' \
    "$(grep -c '^kind: PodMonitor' "$work/opted-10000.yaml")" \
    "$(grep -c '^kind: Ingress' "$work/opted-10000.yaml")"
}
table > "$work/table.md"
cat "$work/table.md"

if [ "${1:-}" = "--docs" ]; then
  awk -v table="$work/table.md" '
    /<!-- options:start -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /<!-- options:end -->/ { skip = 0 }
    !skip' docs/performance.md > "$work/performance.md"
  mv "$work/performance.md" docs/performance.md
fi
