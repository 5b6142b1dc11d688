#!/usr/bin/env bash
# The project's test command.
#
#   scripts/test.sh [extra cargo test args...]     e.g. scripts/test.sh -p wadesk-domain
#
# 1. makes .venv (repo root) with the pinned moto[server] and cfn-lint,
# 2. lints infra/template.yaml, then runs the deployment checks
#    (scripts/template_checks.sh: infra/tests, `sam validate --lint`, `cdk synth`)
#    when no extra arguments were given, or whenever WADESK_TEMPLATE_CHECKS=1,
# 3. starts moto's server on a free loopback port (log: target/moto.log) and
#    exports WADESK_MOTO_ENDPOINT plus dummy AWS credentials; starts a second
#    one with IAM enforcement on (log: target/moto-iam.log) for the tests that
#    run each function under its generated policy (tests/tests/it/iam.rs) and
#    exports WADESK_IAM_MOTO_ENDPOINT and its admin's WADESK_IAM_MOTO_ADMIN_KEY,
# 4. runs `cargo test --workspace --all-targets` then `cargo test --workspace --doc`
#    (extra arguments go to both),
# 5. runs the contract test (scripts/schemathesis.sh: schemathesis against the
#    local runner with docs/openapi.json) when no extra arguments were given,
#    or whenever WADESK_SCHEMATHESIS=1 (WADESK_SCHEMATHESIS=0 skips it),
# and stops moto and the runner on any exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
REQS="$ROOT/scripts/requirements-test.txt"
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
SCHEMATHESIS_VERSION="4.32.5"
MOTO_PID=""
IAM_MOTO_PID=""

# run_schemathesis and stop_runner.
# shellcheck source=scripts/schemathesis.sh
source "$ROOT/scripts/schemathesis.sh"

log() { printf '[test.sh] %s\n' "$*" >&2; }

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating virtualenv at .venv"
        python3 -m venv "$VENV"
    fi
    # Skip pip entirely when the pinned versions are already there.
    if "$VENV/bin/python" - "$MOTO_VERSION" "$CFN_LINT_VERSION" "$SCHEMATHESIS_VERSION" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
want_moto, want_lint, want_st = sys.argv[1], sys.argv[2], sys.argv[3]
ok = (
    version("moto") == want_moto
    and version("cfn-lint") == want_lint
    and version("schemathesis") == want_st
)
# moto's server extra pulls in flask; without it moto_server cannot start.
version("flask")
sys.exit(0 if ok else 1)
PY
        log "venv ok (moto $MOTO_VERSION, cfn-lint $CFN_LINT_VERSION, schemathesis $SCHEMATHESIS_VERSION)"
    else
        log "installing test tools into .venv"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    fi
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

stop_pid() {
    local pid="$1"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

stop_moto() {
    stop_pid "$MOTO_PID"
    stop_pid "$IAM_MOTO_PID"
    MOTO_PID=""
    IAM_MOTO_PID=""
}

# Waits until moto's server $2 (pid $1, log $3) answers.
wait_for_moto() {
    local pid="$1" url="$2" logfile="$3"
    local deadline=$((SECONDS + 20))
    until "$VENV/bin/python" - "$url/moto-api/" <<'PY' 2>/dev/null; do
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
PY
        if ! kill -0 "$pid" 2>/dev/null; then
            log "moto_server exited during start-up; ${logfile#"$ROOT/"} says:"
            cat "$logfile" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "moto_server did not answer on $url within 20 s; ${logfile#"$ROOT/"} says:"
            cat "$logfile" >&2 || true
            return 1
        fi
        sleep 0.2
    done
}

start_moto() {
    mkdir -p "$ROOT/target"
    local port
    port="$(free_port)"
    # moto's server with requests handled one at a time: see the docstring of
    # scripts/moto_server.py for why moto_server alone would lose writes.
    local -a cmd=("$VENV/bin/python" "$ROOT/scripts/moto_server.py" 127.0.0.1 "$port")
    log "starting ${cmd[*]#"$ROOT/"} (log: target/moto.log)"
    "${cmd[@]}" >"$ROOT/target/moto.log" 2>&1 &
    MOTO_PID=$!
    local url="http://127.0.0.1:$port"
    wait_for_moto "$MOTO_PID" "$url" "$ROOT/target/moto.log" || { MOTO_PID=""; return 1; }
    log "moto_server ready at $url"
    export WADESK_MOTO_ENDPOINT="$url"
}

# moto's server with IAM enforcement: its first three requests (unchecked, as
# INITIAL_NO_AUTH_ACTION_COUNT=3 allows) make an admin user with an access
# key; every later request is checked against its signer's IAM policies.
start_iam_moto() {
    local port url key
    port="$(free_port)"
    url="http://127.0.0.1:$port"
    log "starting moto_server with IAM enforcement (log: target/moto-iam.log)"
    INITIAL_NO_AUTH_ACTION_COUNT=3 "$VENV/bin/python" "$ROOT/scripts/moto_server.py" 127.0.0.1 "$port" \
        >"$ROOT/target/moto-iam.log" 2>&1 &
    IAM_MOTO_PID=$!
    wait_for_moto "$IAM_MOTO_PID" "$url" "$ROOT/target/moto-iam.log" || { IAM_MOTO_PID=""; return 1; }
    key="$("$VENV/bin/python" - "$url" <<'PY'
import json, sys
import boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="wadesk-test-admin")
iam.put_user_policy(UserName="wadesk-test-admin", PolicyName="admin", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="wadesk-test-admin")["AccessKey"]
print(f"{key['AccessKeyId']}:{key['SecretAccessKey']}")
PY
)"
    log "moto_server (IAM enforced) ready at $url"
    export WADESK_IAM_MOTO_ENDPOINT="$url" WADESK_IAM_MOTO_ADMIN_KEY="$key"
}

aws_test_env() {
    # Never let a developer's real AWS identity leak into the tests.
    unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
        AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
        AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_ENDPOINT_URL
    export AWS_ACCESS_KEY_ID=testing
    export AWS_SECRET_ACCESS_KEY=testing
    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_CONFIG_FILE=/dev/null
    export AWS_SHARED_CREDENTIALS_FILE=/dev/null
    export AWS_EC2_METADATA_DISABLED=true
}

main() {
    trap 'stop_runner; stop_moto' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    ensure_venv

    log "cfn-lint infra/template.yaml"
    "$VENV/bin/cfn-lint" infra/template.yaml

    # --- deployment checks (issue 11): infra/tests with `sam validate --lint`
    # and `cdk synth` (scripts/template_checks.sh). Run when no extra arguments
    # were given, or whenever WADESK_TEMPLATE_CHECKS=1 (=0 skips them).
    log "deployment checks (scripts/template_checks.sh)"
    bash "$ROOT/scripts/template_checks.sh" "$VENV" "${WADESK_TEMPLATE_CHECKS:-$(($# == 0 ? 1 : 0))}"
    # ---

    aws_test_env
    start_moto
    start_iam_moto
    # This run's own record of the IAM-enforced calls (runs may share target/).
    export WADESK_IAM_OBSERVED="$ROOT/target/iam-observed.$$.json"
    rm -f "$WADESK_IAM_OBSERVED"

    # `--workspace` would override a `-p` given here (cargo then selects every
    # member), and an explicit target selection conflicts with --all-targets
    # and --doc: adapt the two cargo invocations to the extra arguments.
    local scope=(--workspace) targets=(--all-targets) run_doc=1 arg
    for arg in "$@"; do
        case "$arg" in
            --) break ;;
            -p | -p* | --package | --package=*) scope=() ;;
            --lib | --bins | --bin | --bin=* | --tests | --test | --test=* | --benches | --bench | --bench=* | \
                --examples | --example | --example=* | --all-targets | --doc)
                targets=()
                run_doc=0
                ;;
        esac
    done

    # Test binaries' stdout is also kept in target/test-output.log, to total the
    # results at the end (the doc-test run, often "0 passed", would otherwise
    # be the last result line printed).
    local out="$ROOT/target/test-output.log"
    : >"$out"
    # Debug builds lay async state machines out unoptimised: a deep handler's
    # future can outgrow the test thread's default 2 MiB stack. 8 MiB, as a
    # release build's main thread has, unless the caller chose.
    export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
    log "cargo test $(printf '%s ' "${scope[@]}" "${targets[@]}" "$@")"
    cargo test "${scope[@]}" "${targets[@]}" "$@" | tee -a "$out"
    if ((run_doc)); then
        log "cargo test $(printf '%s ' "${scope[@]}" --doc "$@")"
        cargo test "${scope[@]}" --doc "$@" | tee -a "$out"
    else
        log "target selection given: skipping the separate doc-test run"
    fi

    # Every function's generated policy covers what the IAM-enforced run saw it
    # call (skipped when no IAM test ran, e.g. a narrower test selection); the
    # record is then kept as target/iam-observed.json.
    if [[ -f "$WADESK_IAM_OBSERVED" ]]; then
        log "template check: the policies cover what the IAM-enforced run saw (infra/tests/test_iam_observed.py)"
        "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/infra/tests/test_iam_observed.py" |
            tee "$ROOT/target/iam-observed-check.$$.log"
        sed -n 's/^\([0-9]*\) passed.*/test result: ok. \1 passed; 0 failed; 0 ignored/p' \
            "$ROOT/target/iam-observed-check.$$.log" >>"$out"
        rm -f "$ROOT/target/iam-observed-check.$$.log"
        mv -f "$WADESK_IAM_OBSERVED" "$ROOT/target/iam-observed.json"
    fi

    local contract="${WADESK_SCHEMATHESIS:-}"
    if [[ -z "$contract" ]]; then
        contract=$(($# == 0 ? 1 : 0))
    fi
    if [[ "$contract" == 1 ]]; then
        log "contract test: schemathesis against the local runner (scripts/schemathesis.sh)"
        run_schemathesis "$VENV"
        log "contract test passed"
    else
        log "skipping the schemathesis contract test (extra arguments given, or WADESK_SCHEMATHESIS=0; WADESK_SCHEMATHESIS=1 runs it)"
    fi

    # --- agent console (issue 16): lint, API types, Vitest, build + dist check
    # and Playwright in Chromium against the runner binary just built
    # (scripts/console-test.sh). Run when no extra arguments were given, or
    # whenever WADESK_CONSOLE_TESTS=1 (=0 skips it). Its closing line
    # "console: N passed, N failed" joins the summary as a "test result:" line.
    local console_rc=0
    if [[ "${WADESK_CONSOLE_TESTS:-$(($# == 0 ? 1 : 0))}" == 1 ]]; then
        log "agent console (scripts/console-test.sh)"
        cargo build --quiet -p wadesk-local-runner # the runner it tests against
        WADESK_RUNNER_BIN="$ROOT/target/debug/wadesk-local" bash "$ROOT/scripts/console-test.sh" 2>&1 |
            tee "$ROOT/target/console-test.log" || console_rc=$?
        sed -n 's/^console: \([0-9]*\) passed, \([0-9]*\) failed$/test result: console. \1 passed; \2 failed; 0 ignored/p' \
            "$ROOT/target/console-test.log" >>"$out"
    fi
    # ---
    summarize "$out" "$ROOT/target/template-checks.log"
    return "$console_rc"
}

summarize() {
    # Sums cargo's "test result: ok. N passed; N failed; N ignored; ..." lines
    # (of every file given: the template checks write one such line too).
    awk '
        /^test result: / {
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) ~ /^passed/) passed += $i
                if ($(i + 1) ~ /^failed/) failed += $i
                if ($(i + 1) ~ /^ignored/) ignored += $i
            }
        }
        END { printf "total: %d passed, %d failed, %d skipped\n", passed, failed, ignored }
    ' "$@"
}

# Sourcing the file (e.g. to try start_moto alone) defines the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
