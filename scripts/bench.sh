#!/usr/bin/env bash
# The project's benchmark command: prints one table with issue 6's targets.
#
#   bash scripts/bench.sh
#
# 1. builds the Lambda binaries, the bench programs and the criterion bench
#    (release profile, as Lambda gets them: opt-level "z", fat LTO, 1 codegen
#    unit, stripped) in one cargo command, so that step 5 reuses every
#    artifact; then the local runner and the load generator with the `runner`
#    profile (opt-level 3: the runner is not a Lambda, it is built for speed);
# 2. starts moto's server as scripts/test.sh does (.venv + scripts/moto_server.py);
# 3. lambda-startup: size, cold start to the first poll of a local Lambda
#    Runtime API, peak RSS after 10,000 invocations, for every Lambda binary;
# 4. aws-requests: AWS requests, DynamoDB capacity, events, schedules and Graph
#    API sends per operation, against moto; latency: wall times with every AWS
#    request given a 5 ms round trip (moto behind wadesk_proxy::LatencyProxy);
# 5. criterion (bench/benches/handlers.rs): warm handler cost on the embedded store;
# 6. loadgen against wadesk-local on a free loopback port: a fixed offered load,
#    then a closed-loop saturation run, each on a fresh runner;
# 7. bench-report: the table (also kept in target/wadesk-bench/report.md).
#
# Knobs (environment): BENCH_RUNS (cold starts per binary, 21),
# BENCH_INVOCATIONS (10000), BENCH_RATE (offered messages/s, 20000),
# BENCH_SECONDS (per load run, 10), BENCH_ROUND_TRIP_MS (latency, 5). Everything runs on 127.0.0.1 and stops by
# itself; moto and the runner are stopped on any exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${BENCH_RUNS:-21}"
INVOCATIONS="${BENCH_INVOCATIONS:-10000}"
RATE="${BENCH_RATE:-20000}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
ROUND_TRIP_MS="${BENCH_ROUND_TRIP_MS:-5}"
OUT="$ROOT/target/wadesk-bench"
RELEASE="$ROOT/target/release"
RUNNER_BUILD="$ROOT/target/runner"
RUNNER_PID=""

# ensure_venv, free_port, start_moto, stop_moto, aws_test_env: the test
# command's own helpers (sourcing it defines them and runs nothing).
# shellcheck source=scripts/test.sh
source "$ROOT/scripts/test.sh"

bench_log() { printf '[bench.sh] %s\n' "$*" >&2; }

stop_runner() {
    if [[ -n "$RUNNER_PID" ]] && kill -0 "$RUNNER_PID" 2>/dev/null; then
        kill "$RUNNER_PID" 2>/dev/null || true
        wait "$RUNNER_PID" 2>/dev/null || true
    fi
    RUNNER_PID=""
}

cleanup() {
    stop_runner
    stop_moto
}

# Starts a fresh wadesk-local (embedded store) on a free port; sets RUNNER_URL.
start_runner() {
    local port
    port="$(free_port)"
    RUNNER_URL="http://127.0.0.1:$port"
    # Warnings only: the table measures the handlers, not the terminal logger.
    WADESK_LISTEN="127.0.0.1:$port" RUST_LOG=warn \
        "$RUNNER_BUILD/wadesk-local" >"$OUT/logs/wadesk-local.log" 2>&1 &
    RUNNER_PID=$!
    local deadline=$((SECONDS + 20))
    until "$VENV/bin/python" - "$RUNNER_URL/openapi.json" <<'PY' 2>/dev/null; do
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
PY
        if ! kill -0 "$RUNNER_PID" 2>/dev/null || ((SECONDS >= deadline)); then
            bench_log "wadesk-local did not start; $OUT/logs/wadesk-local.log says:"
            cat "$OUT/logs/wadesk-local.log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
}

machine() {
    local cpu
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
    printf '%s cores (%s), %s GiB, %s, %s\n' "$(nproc)" "${cpu:-unknown CPU}" \
        "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
        "$(uname -sr)" "$(rustc --version)"
}

main() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local packages=(-p webhook -p agent-api -p reopen -p timers -p opt-out -p event-relay -p analytics -p media-fetcher -p erasure -p live -p wadesk-local-runner -p wadesk-bench)
    if [[ -d functions/analytics ]]; then
        packages+=(-p analytics)
    fi
    # The criterion bench is built here too: its dev-dependencies then take
    # part in feature resolution once, and `cargo bench --profile release`
    # below finds everything built.
    bench_log "cargo build --release ${packages[*]} --bins --bench handlers"
    cargo build --release "${packages[@]}" --bins --bench handlers
    bench_log "cargo build --profile runner -p wadesk-local-runner -p wadesk-bench --bin wadesk-local --bin loadgen"
    cargo build --profile runner -p wadesk-local-runner -p wadesk-bench --bin wadesk-local --bin loadgen

    mkdir -p "$OUT/logs"
    rm -f "$OUT/startup.json" "$OUT/aws-requests.json" "$OUT/latency.json" "$OUT/loadgen.json" "$OUT/report.md"

    ensure_venv
    aws_test_env
    start_moto
    LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

    bench_log "lambda-startup ($RUNS cold starts, $INVOCATIONS invocations per binary)"
    "$RELEASE/lambda-startup" --bin-dir "$RELEASE" --runs "$RUNS" --invocations "$INVOCATIONS" \
        --moto-endpoint "$WADESK_MOTO_ENDPOINT" --out "$OUT"

    bench_log "aws-requests (moto at $WADESK_MOTO_ENDPOINT)"
    "$RELEASE/aws-requests" --moto-endpoint "$WADESK_MOTO_ENDPOINT" --out "$OUT"

    bench_log "latency ($ROUND_TRIP_MS ms per AWS request, moto at $WADESK_MOTO_ENDPOINT)"
    "$RELEASE/latency" --moto-endpoint "$WADESK_MOTO_ENDPOINT" --round-trip-ms "$ROUND_TRIP_MS" --out "$OUT"
    stop_moto

    bench_log "criterion: cargo bench --profile release -p wadesk-bench --bench handlers"
    cargo bench --profile release -p wadesk-bench --bench handlers

    bench_log "loadgen: $RATE messages/s for $SECONDS_PER_RUN s"
    start_runner
    "$RUNNER_BUILD/loadgen" --url "$RUNNER_URL" --mode fixed --rate "$RATE" \
        --seconds "$SECONDS_PER_RUN" --out "$OUT"
    stop_runner
    bench_log "loadgen: saturation for $SECONDS_PER_RUN s"
    start_runner
    "$RUNNER_BUILD/loadgen" --url "$RUNNER_URL" --mode saturation \
        --seconds "$SECONDS_PER_RUN" --out "$OUT"
    stop_runner

    local load_after
    load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
    {
        printf '# wadesk benchmarks\n\n'
        printf '`bash scripts/bench.sh`, %s UTC, on %s\n\n' "$(date -u '+%Y-%m-%d %H:%M')" "$(machine)"
        printf 'Load average (1, 5, 15 min) when measuring began: %s; at the end: %s.\n\n' "$LOAD_BEFORE" "$load_after"
        "$RELEASE/bench-report" --out "$OUT" --criterion-dir "$ROOT/target/criterion"
    } | tee "$OUT/report.md"
}

main "$@"
