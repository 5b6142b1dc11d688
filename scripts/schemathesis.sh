#!/usr/bin/env bash
# The contract test: schemathesis against the local runner with the OpenAPI
# document. Sourced by scripts/test.sh (which stops the runner on any exit,
# with moto); also runs alone:
#
#   bash scripts/schemathesis.sh            # needs .venv with schemathesis (scripts/test.sh makes it)
#
# 1. builds the runner (`cargo build -p wadesk-local-runner`) and starts
#    target/debug/wadesk-local on a free loopback port with its embedded store
#    (log: target/schemathesis/runner.log);
# 2. mints a token for the bootstrap admin (`POST /_local/token`), makes the admin an available
#    agent and lets three customers write, so lists and ids are not all empty;
# 3. runs schemathesis on docs/openapi.json (which must equal what the runner
#    serves at /openapi.json) with every response check: no 5xx, every status,
#    content type, header and body as documented, auth enforced, no 404 for
#    what the API just returned. Excluded, because they are about how strictly
#    *requests* are validated, not about what is answered:
#    positive_data_acceptance and negative_data_rejection (business rules
#    answer 400 to schema-valid bodies, e.g. an unknown queue; some values the
#    schema forbids are read leniently, e.g. an empty `agent=` filter), and
#    unsupported_method (TRACE and other undeclared methods never reach the
#    functions behind API Gateway; the local runner answers them 404/405).
#    Every route is tested, the local-only ones included: `/_local/clock/advance`
#    answers any value at once (out-of-range ones with 400), so it stays in.
#
# Bounded: one worker (parallel workers trip a CPython 3.11 `ast` bug inside
# Hypothesis: "AST constructor recursion depth mismatch"), a fixed seed and a
# fixed number of examples per operation, and a hard time limit.
# Settings: WADESK_SCHEMATHESIS_EXAMPLES (default 50), WADESK_SCHEMATHESIS_SEED
# (default fixed, "random" for a new one), WADESK_SCHEMATHESIS_TIMEOUT (s, default 150).
set -euo pipefail

SCHEMATHESIS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNNER_PID=""

st_log() { printf '[schemathesis] %s\n' "$*" >&2; }

stop_runner() {
    if [[ -n "$RUNNER_PID" ]] && kill -0 "$RUNNER_PID" 2>/dev/null; then
        kill "$RUNNER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$RUNNER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$RUNNER_PID" 2>/dev/null || true
        wait "$RUNNER_PID" 2>/dev/null || true
    fi
    RUNNER_PID=""
}

# Starts the runner; sets RUNNER_URL.
start_runner() {
    local python="$1" out="$2"
    (cd "$SCHEMATHESIS_ROOT" && cargo build --quiet -p wadesk-local-runner)
    local port
    port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    RUNNER_URL="http://127.0.0.1:$port"
    # The embedded store: never a DynamoDB endpoint from the environment.
    env -u AWS_ENDPOINT_URL WADESK_LISTEN="127.0.0.1:$port" RUST_LOG="${RUST_LOG:-warn}" \
        "$SCHEMATHESIS_ROOT/target/debug/wadesk-local" >"$out/runner.log" 2>&1 &
    RUNNER_PID=$!
    local deadline=$((SECONDS + 20))
    until "$python" - "$RUNNER_URL/openapi.json" <<'PY' 2>/dev/null; do
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
PY
        if ! kill -0 "$RUNNER_PID" 2>/dev/null; then
            st_log "the runner exited during start-up; $out/runner.log says:"
            cat "$out/runner.log" >&2 || true
            RUNNER_PID=""
            return 1
        fi
        if ((SECONDS >= deadline)); then
            st_log "the runner did not answer on $RUNNER_URL within 20 s"
            return 1
        fi
        sleep 0.2
    done
    st_log "runner ready at $RUNNER_URL (log: ${out#"$SCHEMATHESIS_ROOT/"}/runner.log)"
}

# Checks the served document, mints the admin token and seeds a little data;
# prints the token.
prepare_runner() {
    local python="$1"
    "$python" - "$RUNNER_URL" "$SCHEMATHESIS_ROOT/docs/openapi.json" <<'PY'
import json, sys, urllib.request

base, document = sys.argv[1], sys.argv[2]

def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")

with open(document, encoding="utf-8") as f:
    if call("GET", "/openapi.json") != json.load(f):
        sys.exit("the runner serves an /openapi.json that differs from docs/openapi.json")
# `admin` is the runner's bootstrap admin (WADESK_BOOTSTRAP_ADMINS): the only
# subject that may act before the directory lists anyone.
token = call("POST", "/_local/token", {"sub": "admin"})["token"]
call("PUT", "/admin/agents/admin",
     {"name": "Admin", "role": "admin", "queues": ["default"], "max_concurrent": 5}, token)
call("PUT", "/me/state", {"state": "available"}, token)
for n in range(3):
    call("POST", "/_local/inbound", {"from": f"3469900000{n}", "name": f"Customer {n}", "text": "Hola"})
print(token)
PY
}

run_schemathesis() {
    local venv="$1"
    local out="$SCHEMATHESIS_ROOT/target/schemathesis"
    mkdir -p "$out"
    start_runner "$venv/bin/python" "$out"
    local token
    token="$(prepare_runner "$venv/bin/python")"
    local examples="${WADESK_SCHEMATHESIS_EXAMPLES:-50}"
    local seed="${WADESK_SCHEMATHESIS_SEED:-20261123}"
    local limit="${WADESK_SCHEMATHESIS_TIMEOUT:-150}"
    local -a seed_args=(--seed "$seed")
    [[ "$seed" == "random" ]] && seed_args=()
    local -a cmd=(
        "$venv/bin/schemathesis" run "$SCHEMATHESIS_ROOT/docs/openapi.json"
        --url "$RUNNER_URL"
        --header "Authorization: Bearer $token"
        --checks all
        --exclude-checks positive_data_acceptance,negative_data_rejection,unsupported_method
        --max-examples "$examples"
        "${seed_args[@]}"
        --workers 1
        --request-timeout 10
        --generation-database none
        --report junit --report-junit-path "$out/junit.xml"
        --no-color
    )
    st_log "schemathesis run docs/openapi.json --url $RUNNER_URL --checks all --exclude-checks positive_data_acceptance,negative_data_rejection,unsupported_method --max-examples $examples ${seed_args[*]} --workers 1 (limit ${limit} s)"
    local started=$SECONDS status=0
    # Its cache goes under target/, not into the work tree.
    (cd "$out" && timeout --kill-after=10 "$limit" "${cmd[@]}") || status=$?
    st_log "finished in $((SECONDS - started)) s with exit code $status (junit: ${out#"$SCHEMATHESIS_ROOT/"}/junit.xml)"
    stop_runner
    if ((status == 124 || status == 137)); then
        st_log "schemathesis did not finish within ${limit} s"
    fi
    return "$status"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    trap stop_runner EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    run_schemathesis "$SCHEMATHESIS_ROOT/.venv"
fi
