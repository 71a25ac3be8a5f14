#!/usr/bin/env bash
# Fuzzes the operator API of `airlock serve --http` against docs/openapi.yaml with schemathesis.
#
#   AIRLOCK_BIN=/path/to/airlock tests/python/run_schemathesis.sh SCRATCH_DIR
#
# Makes a fresh AIRLOCK_HOME in SCRATCH_DIR, registers examples/tools/word-count, creates an
# operator token and a few steps in different states (succeeded, awaiting approval, in doubt,
# under the keys and run the document's examples name), starts the server on a free loopback
# port, and runs schemathesis against every documented operation (/mcp is not in the document,
# so it is never fuzzed). Exits with schemathesis' status.
#
# Environment:
#   AIRLOCK_BIN             the airlock binary (required)
#   AIRLOCK_TEST_VENV       the virtualenv with schemathesis (default /opt/airlock/test-venv;
#                           created with /usr/bin/python3 -m venv, and schemathesis installed, if missing)
#   SCHEMATHESIS_VERSION    the version installed into a new venv (default 4.32.5)
#   SCHEMATHESIS_EXAMPLES   examples per operation in the fuzzing phase (default 300)
#   SCHEMATHESIS_CHECKS     the checks (default: see `checks=` below)
#   SCHEMATHESIS_SEED       the seed (default: a fixed one, so a run can be repeated)
#   SCHEMATHESIS_MAX_TIME   a time budget in seconds; with one, fuzzing repeats until it is spent
#                           (default: none, so each operation gets SCHEMATHESIS_EXAMPLES examples)
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: AIRLOCK_BIN=PATH $0 SCRATCH_DIR" >&2
    exit 2
fi
: "${AIRLOCK_BIN:?set AIRLOCK_BIN to the airlock binary}"
if [[ ! -x "$AIRLOCK_BIN" ]]; then
    echo "run_schemathesis: AIRLOCK_BIN=$AIRLOCK_BIN is not an executable" >&2
    exit 2
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
spec="$repo/docs/openapi.yaml"
airlock_bin="$(cd "$(dirname "$AIRLOCK_BIN")" && pwd)/$(basename "$AIRLOCK_BIN")"
mkdir -p "$1"
scratch="$(cd "$1" && pwd)"
venv="${AIRLOCK_TEST_VENV:-/opt/airlock/test-venv}"
version="${SCHEMATHESIS_VERSION:-4.32.5}"
examples="${SCHEMATHESIS_EXAMPLES:-300}"
seed="${SCHEMATHESIS_SEED:-20261127}"
max_time=()
if [[ -n "${SCHEMATHESIS_MAX_TIME:-}" ]]; then max_time=(--max-time "$SCHEMATHESIS_MAX_TIME"); fi

log() { echo "run_schemathesis: $*" >&2; }

# --- schemathesis --------------------------------------------------------------------------
# The CLI's flags change between versions: use the pinned one.
installed=""
if [[ -x "$venv/bin/schemathesis" ]]; then
    installed="$("$venv/bin/schemathesis" --version 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p')"
fi
if [[ "$installed" != "$version" ]]; then
    log "installing schemathesis $version into $venv${installed:+ (it has $installed)}"
    [[ -x "$venv/bin/pip" ]] || /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
log "$("$venv/bin/schemathesis" --version)"

# --- a fresh home with a tool, a token and some steps --------------------------------------
export AIRLOCK_HOME="$scratch/home"
rm -rf "$AIRLOCK_HOME" "$scratch/plugins" "$scratch/report"
mkdir -p "$scratch/plugins"
cp -R "$repo/examples/tools/word-count" "$scratch/plugins/"
# The tool runs as an unprivileged user, which must read the plugin's files (and so reach them:
# SCRATCH_DIR's parents must be searchable by all, as /tmp is).
chmod -R a+rX "$scratch/plugins"
chmod a+rX "$scratch"

airlock() { "$airlock_bin" "$@"; }

airlock tools add "$scratch/plugins/word-count/airlock-tool.yaml" --approval never --by schemathesis >&2
secret="$(airlock tokens create --name op --role operator 2>/dev/null)"
if [[ "$secret" != airlock_* ]]; then
    log "tokens create printed no secret"
    exit 1
fi

# Steps the document's examples name: wc-1 (succeeded, run demo-run), deploy-1 and deploy-2
# (awaiting approval), charge-1 (in doubt).
airlock call word-count --input '{"text":"a b"}' --key wc-1 --run demo-run >/dev/null
airlock call word-count --input '{"text":"one two three"}' --run demo-run >/dev/null
airlock call word-count --input '{"text":"x"}' >/dev/null
for key in deploy-1 deploy-2; do
    status=0
    airlock call deploy --exec --effect idempotent --require-approval --key "$key" -- /bin/true >/dev/null || status=$?
    if [[ $status -ne 3 ]]; then
        log "call --require-approval exited $status, not 3 (awaiting approval)"
        exit 1
    fi
done
# An in-doubt step: a non-idempotent call whose host dies while it runs, then `resume`.
"$airlock_bin" call charge --exec --effect non-idempotent --key charge-1 -- /bin/sleep 30 >/dev/null 2>&1 &
caller=$!
for _ in $(seq 1 100); do
    if airlock steps --state started --json 2>/dev/null | grep -q '"charge-1"'; then break; fi
    sleep 0.1
done
kill -KILL "$caller" 2>/dev/null || true
wait "$caller" 2>/dev/null || true
airlock resume --json >/dev/null
if ! airlock steps --state in_doubt --json | grep -q '"charge-1"'; then
    log "could not put step charge-1 in doubt; carrying on without it"
fi

# --- the server ----------------------------------------------------------------------------
server_log="$scratch/serve.log"
"$airlock_bin" serve --http 127.0.0.1:0 --log-level warning 2>"$server_log" &
server=$!
cleanup() {
    if kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
    fi
    wait "$server" 2>/dev/null || true
}
trap cleanup EXIT

url=""
for _ in $(seq 1 100); do
    url="$(sed -n 's|^airlock serve: listening on \(http://[^ ]*\).*|\1|p' "$server_log" | head -n 1)"
    [[ -n "$url" ]] && break
    if ! kill -0 "$server" 2>/dev/null; then
        log "the server exited:"; cat "$server_log" >&2; exit 1
    fi
    sleep 0.1
done
if [[ -z "$url" ]]; then
    log "the server did not say where it listens:"; cat "$server_log" >&2; exit 1
fi
log "server at $url"

# --- schemathesis --------------------------------------------------------------------------
# Checks: no 5xx; every status, content type, declared header and body as documented; input
# the document calls invalid refused, and valid input not refused as invalid; a request without
# the token refused. Left out: unsupported_method and allow_header_conformance (the router
# answers a method a path does not have with 404, not 405 with Allow).
checks="${SCHEMATHESIS_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,positive_data_acceptance,missing_required_header,ignored_auth}"
# One worker: with several threads, hypothesis' lambda descriptions (ast.parse) failed under
# Python 3.11 with "AST constructor recursion depth mismatch", an error of the tool, not the API.
status=0
(
    cd "$scratch"
    "$venv/bin/schemathesis" run "$spec" \
        --url "$url" \
        --header "Authorization: Bearer $secret" \
        --checks "$checks" \
        --phases examples,coverage,fuzzing \
        --max-examples "$examples" \
        --seed "$seed" \
        "${max_time[@]}" \
        --workers 1 \
        --request-timeout 10 \
        --generation-database none \
        --no-color \
        --report junit \
        --report-dir "$scratch/report"
) || status=$?

if ! kill -0 "$server" 2>/dev/null; then
    log "the server died during the run:"
    cat "$server_log" >&2
    [[ $status -ne 0 ]] || status=1
fi
if grep -q 'error' "$server_log"; then
    log "the server logged errors:"
    grep 'error' "$server_log" >&2 || true
fi
log "schemathesis exited $status"
exit "$status"
