#!/usr/bin/env bash
# The deployment checks (scripts/test.sh runs them after cfn-lint):
#
#   scripts/template_checks.sh [VENV [RUN]]
#
# pytest on infra/tests: the production rules of infra/template.yaml (failure
# destinations, schedule dead letters, no secret in the environment, arm64,
# time-outs against the Graph client and the send lease, alarms, canaries),
# the template after the SAM transform, `sam validate --lint`, and `cdk synth`
# of infra/cdk (placeholder code: no Rust build, no AWS account).
#
# VENV: the Python virtualenv (default .venv at the repository root; whatever
# of scripts/requirements-test.txt it lacks is installed). RUN=0 skips the
# checks. Either way target/template-checks.log is written anew: one line in
# cargo's "test result:" form that test.sh's summary adds up (empty if skipped).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv}"
RUN="${2:-1}"
CDK_DIR="$ROOT/infra/cdk"
LOG="$ROOT/target/template-checks.log"
JUNIT="$ROOT/target/template-checks.xml"

log() { printf '[template_checks] %s\n' "$*" >&2; }

mkdir -p "$ROOT/target"
: >"$LOG"
rm -f "$JUNIT"

if [[ "$RUN" == 0 ]]; then
    log "skipped (extra arguments given to test.sh, or WADESK_TEMPLATE_CHECKS=0; WADESK_TEMPLATE_CHECKS=1 runs them)"
    exit 0
fi

# Python tools: the venv may predate the pins of pytest and the SAM CLI.
if ! "$VENV/bin/python" - "$ROOT/scripts/requirements-test.txt" <<'PY' 2>/dev/null; then
import re, sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    m = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line)
    if m and version(m.group(1)) != m.group(2):
        sys.exit(1)
PY
    log "installing scripts/requirements-test.txt into ${VENV#"$ROOT/"}"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-test.txt"
fi

# Node packages of the CDK app, exactly as package-lock.json pins them; again
# only when the lock file changed since the last `npm ci`.
stamp="$CDK_DIR/node_modules/.wadesk-package-lock.json"
if ! cmp -s "$CDK_DIR/package-lock.json" "$stamp" 2>/dev/null; then
    log "npm ci (infra/cdk)"
    (cd "$CDK_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$CDK_DIR/package-lock.json" "$stamp"
fi

log "pytest infra/tests (template rules, SAM transform, sam validate --lint, cdk synth)"
set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$JUNIT" "$ROOT/infra/tests"
status=$?
set -e

# pytest's own count, from its JUnit report (exit code 5, no test collected,
# counts as a failure here: these checks never pass by running nothing).
read -r passed failed skipped < <("$VENV/bin/python" - "$JUNIT" <<'PY' || echo "0 0 0"
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
n = lambda key: sum(int(s.get(key, 0)) for s in suites)
failed = n("failures") + n("errors")
print(n("tests") - failed - n("skipped"), failed, n("skipped"))
PY
)
if ((status == 5 || passed + failed == 0)); then
    log "pytest ran no test (exit $status): that is a failure"
    status=1
    failed=$((failed + 1))
fi
verdict=ok
((status == 0)) || verdict=FAILED
echo "test result: $verdict. $passed passed; $failed failed; $skipped ignored; 0 measured; 0 filtered out (template checks)" | tee "$LOG"
exit "$status"
