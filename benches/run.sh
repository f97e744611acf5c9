#!/bin/sh
# kotalc's benchmark: generates N Peers and N/4 ClusterPeers (fixed seed) for N = 1,000 and
# 10,000, and times, in one run on this machine:
#   - kotalc build to stdout and to -o DIR, and kotalc validate;
#   - the floor: a bare serde YAML load and dump of kotalc's own rendered output;
#   - kubectl kustomize re-emitting the already-rendered tree (N = 1,000 only: it grows
#     faster than linearly);
#   - the CI paths: build -o DIR --check and diff --against DIR on an up-to-date tree, diff
#     --against-ref HEAD on a repository of the inputs, and krm on the same resources as one
#     ResourceList, each against build and reading the tree (`cat`, the file system's floor);
#   - diff --against-ref HEAD on 20,000 inputs of one resource each, 1% of the Peers changed,
#     against reading them, and its peak memory against the output;
#   - build -o DIR onto DIR up to date, and onto DIR after 1% of the Peers changed (inputs
#     alternating between two versions), each against --check on the same tree; the first
#     build -o into an absent DIR against cp -r of the same tree; diff --against DIR with 1% of
#     the Peers changed, against --check, and its peak memory against the output;
#   - output bytes per resource at N = 1,000, 10,000 and 40,000 (BYTES_40K=no: without 40,000).
# Each time is the median of $RUNS runs (5; kustomize: 1); peak memory is the largest
# resident set.
#
#   benches/run.sh               print the tables
#   benches/run.sh --docs        also replace the tables in docs/performance.md
#   KOTALC=path BENCH_WORK=dir benches/run.sh   measure another kotalc binary (an older
#                                build, to compare), working in dir
#   RUNS=n KUSTOMIZE=no          fewer runs per median; no kustomize row (on a busy machine)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet --bench floor --bench generate
floor=$(find target/release/deps -maxdepth 1 -type f -name 'floor-*' ! -name '*.d' | head -n 1)
generate=$(find target/release/deps -maxdepth 1 -type f -name 'generate-*' ! -name '*.d' | head -n 1)
kotalc=${KOTALC:-target/release/kotalc}
runs=${RUNS:-5}
work=${BENCH_WORK:-target/bench}
rm -rf "$work"
mkdir -p "$work"

# median SECONDS of COMMAND run $runs times; the largest peak RSS (KiB) goes to $work/rss
median() {
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$work/time" sh -c "$1" >/dev/null 2>&1
    cat "$work/time"
  done | sort -n | awk -v mid=$(((runs + 1) / 2)) 'NR == mid { print $1 } { if ($2 > max) max = $2 } END { print max > "'"$work/rss"'" }'
}

# commit_all DIR: DIR as a git repository whose HEAD holds every file, for --against-ref
commit_all() {
  git -C "$1" init -q
  git -C "$1" add .
  git -C "$1" -c user.name=bench -c user.email=bench@example.invalid \
    -c commit.gpgsign=false commit -q -m inputs
}

# middle FILE: the median of the times in FILE, one a line
middle() {
  sort -n "$1" | awk -v mid=$((($(wc -l < "$1") + 1) / 2)) 'NR == mid { print $1 }'
}

once() {
  /usr/bin/time -f '%e %M' -o "$work/time" sh -c "$1" >/dev/null 2>&1
  awk '{ print $1 }' "$work/time"
}

# flip_one_percent FROM TO: TO is FROM with the gateway of every 100th Peer switched.
flip_one_percent() {
  cp -r "$1" "$2"
  find "$2" -name '*.yaml' -type f | while read -r f; do
    awk '/^  name: peer-/ { split($2, a, "-"); hit = (a[2] % 100 == 0) }
      /^  name: cluster-/ { hit = 0 }
      hit && /^  gateway: / { $0 = ($2 == "true") ? "  gateway: false" : "  gateway: true" }
      { print }' "$f" > "$f.new" && mv "$f.new" "$f"
  done
}

rows=""
ci=""
writes=""
for n in 1000 10000; do
  "$generate" "$n" "$work/in-$n" "$work/list-$n.yaml" 2>/dev/null
  flip_one_percent "$work/in-$n" "$work/changed-$n"
  "$kotalc" build "$work/in-$n" > "$work/out-$n.yaml" 2>/dev/null
  bytes=$(wc -c < "$work/out-$n.yaml")
  objects=$(grep -c '^kind:' "$work/out-$n.yaml")
  build=$(median "$kotalc build $work/in-$n > /dev/null")
  rss=$(cat "$work/rss")
  dir=$(median "rm -rf $work/dir-$n; $kotalc build $work/in-$n -o $work/dir-$n")
  validate=$(median "$kotalc validate $work/in-$n")
  floor_time=$(median "$floor < $work/out-$n.yaml > /dev/null")
  "$kotalc" build "$work/in-$n" -o "$work/dir-$n" 2>/dev/null
  if [ "$n" = 1000 ] && [ "${KUSTOMIZE:-yes}" != no ] && command -v kubectl >/dev/null; then
    kustomize=$(once "kubectl kustomize $work/dir-$n")
  else
    kustomize="-"
  fi
  rows="$rows$n $objects $bytes $build $dir $validate $floor_time $kustomize $rss
"
  cat_time=$(median "find $work/dir-$n -type f -exec cat {} + > /dev/null")
  check=$(median "$kotalc build $work/in-$n -o $work/dir-$n --check")
  check_rss=$(cat "$work/rss")
  against=$(median "$kotalc diff $work/in-$n --against $work/dir-$n")
  against_rss=$(cat "$work/rss")
  commit_all "$work/in-$n"
  files=$(git -C "$work/in-$n" ls-files | wc -l)
  against_ref=$(median "$kotalc diff $work/in-$n --against-ref HEAD --repo $work/in-$n")
  krm=$(median "$kotalc krm < $work/list-$n.yaml")
  krm_rss=$(cat "$work/rss")
  ci="$ci$n $bytes $build $cat_time $check $check_rss $against $against_rss $files $against_ref $krm $krm_rss
"
  # -o onto the up-to-date tree, then onto a tree 1% out of date: each run switches the
  # inputs, so that each is an update of 1% of the Peers.
  unchanged=$(median "$kotalc build $work/in-$n -o $work/dir-$n")
  rm -f "$work/flip"
  one_percent=$(median "if [ -e $work/flip ]; then rm $work/flip; $kotalc build $work/in-$n -o $work/dir-$n; else touch $work/flip; $kotalc build $work/changed-$n -o $work/dir-$n; fi")
  "$kotalc" build "$work/in-$n" -o "$work/dir-$n" 2>/dev/null
  check_again=$(median "$kotalc build $work/in-$n -o $work/dir-$n --check")
  # diff against the up-to-date tree with 1% of the Peers changed: it renders a second time
  # to keep only the objects that differ.
  against_changed=$(median "$kotalc diff $work/changed-$n --against $work/dir-$n")
  against_changed_rss=$(cat "$work/rss")
  # The first -o into a new directory, and cp -r of the same tree, each into a new name,
  # interleaved, and nothing removed until both are measured: on a disk mounted with
  # `discard`, the next writer pays for a removed tree's discards.
  rm -f "$work/firsts" "$work/copies"
  for _ in $(seq "$runs"); do
    once "$kotalc build $work/in-$n -o \$(mktemp -u -p $work first.XXXXXX)" >> "$work/firsts"
    once "cp -r $work/dir-$n \$(mktemp -u -p $work copy.XXXXXX)" >> "$work/copies"
  done
  first=$(middle "$work/firsts")
  copy=$(middle "$work/copies")
  rm -rf "$work"/first.* "$work"/copy.*
  writes="$writes$n $check_again $unchanged $one_percent $first $copy $against_changed $against_changed_rss $bytes
"
done

# Output bytes per resource (N Peers and N/4 ClusterPeers), one build each.
per_resource=""
for n in 1000 10000 40000; do
  if [ "$n" = 40000 ] && [ "${BYTES_40K:-yes}" = no ]; then continue; fi
  if [ "$n" = 40000 ]; then "$generate" "$n" "$work/in-$n" 2>/dev/null; fi
  out_bytes=$("$kotalc" build "$work/in-$n" 2>/dev/null | wc -c)
  per_resource="$per_resource$n $((n + n / 4)) $out_bytes
"
  if [ "$n" = 40000 ]; then rm -rf "$work/in-$n"; fi
done

# The revision's files as many as they come: 16,000 Peers and 4,000 ClusterPeers, one a file.
# --against-ref compiles both sides and reads the revision with two git processes, so it is
# set against two builds plus reading the same files from disk.
"$generate" 16000 "$work/files" --one-per-file 2>/dev/null
commit_all "$work/files"
many_files=$(git -C "$work/files" ls-files | wc -l)
many_read=$(median "find $work/files -name '*.yaml' -type f -exec cat {} + > /dev/null")
many_build=$(median "$kotalc build $work/files > /dev/null")
# The working tree with 1% of the Peers changed against HEAD, as a pull request's CI sees it;
# its peak memory against the output.
flip_one_percent "$work/files" "$work/files-changed"
many_ref=$(median "$kotalc diff $work/files-changed --against-ref HEAD --repo $work/files-changed")
many_ref_rss=$(cat "$work/rss")
many_bytes=$("$kotalc" build "$work/files-changed" 2>/dev/null | wc -c)

machine="$(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(free -g | awk '/Mem:/ { print $2 }') GiB"
table=$(printf '%s' "$rows" | awk -v machine="$machine" -v runs="$runs" '
  BEGIN {
    print "Measured on " machine " with `benches/run.sh` (medians of " runs " runs; kustomize 1 run)."
    print ""
    print "| N | objects | output | build (stdout) | build -o | validate | floor | kubectl kustomize | build / floor | kustomize / build | validate / build | peak memory / output |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|"
  }
  NF {
    k = ($8 == "-") ? "-" : sprintf("%.0fx", $8 / $4)
    printf "| %d | %d | %.1f MB | %.2f s | %.2f s | %.2f s | %.2f s | %s | %.2f | %s | %.2f | %.2f (%.0f MB) |\n", \
      $1, $2, $3 / 1e6, $4, $5, $6, $7, ($8 == "-") ? "-" : $8 " s", $4 / $7, k, $6 / $4, $9 * 1024 / $3, $9 / 1024
    t[$1] = $4
  }
  END { printf "\nTime for N = 10,000 over N = 1,000: %.1fx.\n", t[10000] / t[1000] }')
# The CI paths, against build (stdout) and reading the tree: the goals are --check and diff
# --against DIR within 1.5 x (build + read), krm within 1.5 x build, each within 2 x the
# output in memory; diff --against-ref compiles twice and reads the revision with two git
# processes, so it is set against 2 x build + read.
table="$table

| N | read tree | build -o --check | / (build + read) | memory / output | diff --against DIR | / (build + read) | memory / output | input files | diff --against-ref | / (2 x build + read) | krm | / build | memory / output |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
$(printf '%s' "$ci" | awk 'NF {
    base = $3 + $4
    printf "| %d | %.2f s | %.2f s | %.2f | %.2f | %.2f s | %.2f | %.2f | %d | %.2f s | %.2f | %.2f s | %.2f | %.2f |\n", \
      $1, $4, $5, $5 / base, $6 * 1024 / $2, $7, $7 / base, $8 * 1024 / $2, $9, $10, $10 / (2 * $3 + $4), $11, $11 / $3, $12 * 1024 / $2
  }')"
table="$table

| input files, one resource each | read files | build (stdout) | diff --against-ref, 1% changed | / (2 x build + read) | memory / output |
|---|---|---|---|---|---|
$(awk -v f="$many_files" -v r="$many_read" -v b="$many_build" -v a="$many_ref" -v m="$many_ref_rss" -v o="$many_bytes" 'BEGIN {
    printf "| %d | %.2f s | %.2f s | %.2f s | %.2f | %.2f |\n", f, r, b, a, a / (2 * b + r), m * 1024 / o
  }')"
# A private swarm of N Peers sharing one key: each NetworkPolicy selects the swarm by its
# label, so the output per Peer does not grow with N (it once listed every member).
swarm_rows=""
for n in 500 2000; do
  "$generate" "$n" "$work/swarm-$n" --private-swarm 2>/dev/null
  "$kotalc" build "$work/swarm-$n" > "$work/swarm-$n.yaml" 2>/dev/null
  bytes=$(wc -c < "$work/swarm-$n.yaml")
  largest=$(awk '/^kind: NetworkPolicy/ { p = 1 } /^---/ { if (p && size > max) max = size; p = 0; size = 0; next } { size += length($0) + 1 } END { print max + 0 }' "$work/swarm-$n.yaml")
  swarm_rows="$swarm_rows| $n | $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }') | $(awk -v b="$bytes" -v n="$n" 'BEGIN { printf "%d", b / n }') | $largest |
"
done
table="$table

| private Peers, one swarm key | output | bytes per Peer | largest NetworkPolicy (bytes) |
|---|---|---|---|
$swarm_rows"
table="$table

| N | build -o --check | -o, up to date | / --check | -o, 1% of Peers changed | / --check | first -o | cp -r of the tree | / cp -r | diff --against DIR, 1% changed | / --check | memory / output |
|---|---|---|---|---|---|---|---|---|---|---|---|
$(printf '%s' "$writes" | awk 'NF {
    printf "| %d | %.2f s | %.2f s | %.2f | %.2f s | %.2f | %.2f s | %.2f s | %.2f | %.2f s | %.2f | %.2f |\n", \
      $1, $2, $3, $3 / $2, $4, $4 / $2, $5, $6, $5 / $6, $7, $7 / $2, $8 * 1024 / $9
  }')"
table="$table

| N | resources | output | bytes per resource | / N = 1,000 |
|---|---|---|---|---|
$(printf '%s' "$per_resource" | awk 'NF {
    per = $3 / $2
    if (!base) base = per
    printf "| %d | %d | %.1f MB | %.0f | %.2f |\n", $1, $2, $3 / 1e6, per, per / base
  }')"
# Diagnostics at scale: 100,000 documents that are not objects, and a Peer with 100,000
# unknown fields (one a line, then all on one line), in the human and JSON formats. Rendering is linear in the input and shown
# diagnostics are capped, so the two formats take about the same time.
printf -- '--- 1\n%.0s' $(seq 100000) > "$work/documents.yaml"
{ printf 'apiVersion: ipfs.kotal.io/v1alpha1\nkind: Peer\nmetadata:\n  name: p\nspec:\n'
  seq 100000 | awk '{ print "  unknown" $1 ": x" }'; } > "$work/fields.yaml"
# And the worst case for snippets: one 31 MB line, a flow mapping with 150,000 unknown fields
# of 200 characters, every shown diagnostic pointing into it.
{ printf '{apiVersion: ipfs.kotal.io/v1alpha1, kind: Peer, metadata: {name: p}, spec: {'
  seq 150000 | awk '{ printf "%su%0199d: x", (NR > 1 ? ", " : ""), $1 }'
  printf '}}\n'; } > "$work/one-line.yaml"
diagnostics=""
for input in documents fields one-line; do
  # These builds fail by design (exit 1), and time(1) would then print an extra status line.
  human=$(median "$kotalc build $work/$input.yaml --format human || true")
  json=$(median "$kotalc build $work/$input.yaml --format json || true")
  diagnostics="$diagnostics| $input.yaml | $human s | $json s | $(awk -v h="$human" -v j="$json" 'BEGIN { printf "%.1f", (j > 0) ? h / j : 0 }') |
"
done
table="$table

| many diagnostics | human | JSON | human / JSON |
|---|---|---|---|
$diagnostics"
# One top-level sequence of 80,000 scalars, on one line (a flow sequence) and one item a
# line: a document whose kind cannot be read, so every value is marked as possibly secret.
# Marking reaches each value's column from the previous one's, so the one-line form costs
# what the block form costs (the target: within 4 x).
awk 'BEGIN { printf "["; for (i = 0; i < 80000; i++) printf "%sitem%06d", (i ? ", " : ""), i; print "]" }' > "$work/flow.yaml"
awk 'BEGIN { for (i = 0; i < 80000; i++) printf "- item%06d\n", i }' > "$work/block.yaml"
flow=$(median "$kotalc build $work/flow.yaml || true")
block=$(median "$kotalc build $work/block.yaml || true")
table="$table

| a sequence of 80,000 scalars | one a line | all on one line | one line / one a line |
|---|---|---|---|
$(awk -v b="$block" -v f="$flow" 'BEGIN { printf "| build (not an object: fails) | %.2f s | %.2f s | %.1f |\n", b, f, (b > 0) ? f / b : 0 }')"
printf '%s\n' "$table"

if [ "${1:-}" = "--docs" ]; then
  printf '%s\n' "$table" > "$work/table.md"
  awk -v table="$work/table.md" '
    /<!-- bench:start -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip' docs/performance.md > "$work/performance.md"
  mv "$work/performance.md" docs/performance.md
fi
