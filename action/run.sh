#!/usr/bin/env bash
# The action's run step (action.yml): runs kotalc as the inputs say, with GitHub annotations
# in the log, a Markdown summary in $GITHUB_STEP_SUMMARY and in a file named on the step's
# `markdown` output, and exits with kotalc's exit code (also the `exit-code` output).
#
# Inputs, from the environment: KOTALC (the binary; `kotalc` on PATH by default),
# KOTALC_COMMAND (check, diff or build), KOTALC_PATHS, KOTALC_OUTPUT, KOTALC_BASE_REF,
# KOTALC_FAIL_ON_DESTRUCTIVE, KOTALC_ARGS, KOTALC_SUMMARY; and the runner's GITHUB_BASE_REF,
# GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP.
set -uo pipefail
kotalc="${KOTALC:-kotalc}"
command="${KOTALC_COMMAND:-check}"

fail() { printf '::error title=kotalc action::%s\n' "$*"; exit 2; }

# Paths and options split on whitespace only, never globbed or evaluated.
set -f
IFS=$' \t\n' read -r -d '' -a paths <<<"${KOTALC_PATHS:-.}" || true
IFS=$' \t\n' read -r -d '' -a extra <<<"${KOTALC_ARGS:-}" || true
set +f
[ "${#paths[@]}" -gt 0 ] || paths=(.)

dir="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/kotalc.XXXXXX")"
markdown="$dir/summary.md"

case "$command" in
    check)
        run=(validate "${extra[@]}")
        report=("${run[@]}")
        ;;
    diff)
        base="${KOTALC_BASE_REF:-}"
        if [ -z "$base" ]; then
            [ -n "${GITHUB_BASE_REF:-}" ] \
                || fail "command: diff needs base-ref outside a pull request"
            base="$GITHUB_BASE_REF"
            # actions/checkout fetches the base as a remote branch.
            if git rev-parse --verify --quiet "refs/remotes/origin/$base^{commit}" >/dev/null; then
                base="origin/$base"
            fi
        fi
        run=(diff --against-ref "$base" "${extra[@]}")
        case "${KOTALC_FAIL_ON_DESTRUCTIVE:-true}" in
            true) run+=(--fail-on destructive) ;;
            false) ;;
            *) fail "fail-on-destructive is '$KOTALC_FAIL_ON_DESTRUCTIVE': true or false" ;;
        esac
        report=("${run[@]}")
        ;;
    build)
        run=(build -o "${KOTALC_OUTPUT:-rendered}" "${extra[@]}")
        # The summary reports the diagnostics; the tree is written once.
        report=(validate "${extra[@]}")
        ;;
    *)
        fail "command is '$command': check, diff or build"
        ;;
esac

# The run that decides: its annotations on stderr, which the runner reads, and with diff the
# text of the change in the log.
"$kotalc" "${run[@]}" --format github -- "${paths[@]}"
code=$?

if [ "${KOTALC_SUMMARY:-true}" = true ]; then
    # The same run as Markdown: with diff, the change object by object on stdout; then the
    # diagnostics and the counts on stderr.
    "$kotalc" "${report[@]}" --format markdown -- "${paths[@]}" >"$dir/stdout.md" 2>"$dir/stderr.md"
    if [ "$command" = diff ]; then
        cat "$dir/stdout.md" "$dir/stderr.md" >"$markdown"
    else
        { printf '### kotalc %s\n\n' "${report[0]}"; cat "$dir/stderr.md"; } >"$markdown"
    fi
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        cat "$markdown" >>"$GITHUB_STEP_SUMMARY"
    fi
fi

{
    echo "exit-code=$code"
    if [ -f "$markdown" ]; then
        echo "markdown=$markdown"
    fi
} >>"${GITHUB_OUTPUT:-/dev/null}"
exit "$code"
