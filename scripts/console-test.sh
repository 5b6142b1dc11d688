#!/usr/bin/env bash
# The agent console's checks (console/), run from the repository root:
#
#   bash scripts/console-test.sh
#
# 1. installs Debian's Chromium when /usr/bin/chromium is missing,
# 2. `npm ci` (Playwright's own browser download is skipped: Debian's is used),
# 3. API types regenerated from docs/openapi.json and compared with the
#    committed console/src/api/schema.d.ts, ESLint + Prettier, tsc,
# 4. Vitest (the console's own logic),
# 5. a production build, compared with the committed console/dist (the local
#    runner serves that directory, so a fresh clone needs no npm),
# 6. Playwright in Chromium against the local runner binary
#    (WADESK_RUNNER_BIN, default target/debug/wadesk-local) serving the fresh
#    build at /console/ on a free loopback port,
# and ends with one line: `console: N passed, N failed` (Vitest + Playwright
# tests; a failed gate of step 3 or 5 counts as one failure).
#
# Settings: WADESK_RUNNER_BIN; WADESK_CONSOLE_DIST_CHECK=0 skips step 5's
# comparison; WADESK_CONSOLE_E2E=0 skips Playwright; WADESK_E2E_VIA_PREVIEW=1
# serves the console with `vite preview` in front of a runner that does not
# serve /console/ itself.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONSOLE="$ROOT/console"
RUNNER_BIN="${WADESK_RUNNER_BIN:-target/debug/wadesk-local}"
[[ "$RUNNER_BIN" = /* ]] || RUNNER_BIN="$ROOT/$RUNNER_BIN"

log() { printf '[console-test] %s\n' "$*" >&2; }

passed=0
failed=0
gate() { # gate NAME CMD...: runs a check; a failure counts once and is said plainly
    local name="$1"
    shift
    log "$name"
    if ! "$@"; then
        log "FAILED: $name"
        failed=$((failed + 1))
        return 1
    fi
}
finish() {
    echo "console: $passed passed, $failed failed"
    ((failed == 0))
    exit $?
}

if [[ ! -x /usr/bin/chromium && -z "${CHROMIUM_PATH:-}" ]]; then
    log "installing Debian's chromium (apt-get)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
        log "could not install chromium; Playwright cannot run"
    fi
fi

cd "$CONSOLE" || exit 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
gate "npm ci" npm ci --no-audit --no-fund --loglevel=error || {
    failed=$((failed + 1))
    finish
}

gate "API types match docs/openapi.json" node scripts/check-api.mjs
gate "lint (ESLint, Prettier)" npm run -s lint
gate "type-check (tsc)" npm run -s typecheck

mkdir -p test-results
rm -f test-results/vitest.json test-results/e2e.json test-results/metrics.json
log "vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
counts() { # counts FILE KIND: "passed failed" from a Vitest or Playwright JSON report
    node -e '
        const fs = require("fs");
        const [file, kind] = process.argv.slice(1);
        let r;
        try { r = JSON.parse(fs.readFileSync(file, "utf8")); } catch { console.log("0 1"); process.exit(0); }
        if (kind === "vitest") console.log(`${r.numPassedTests} ${r.numFailedTests + (r.success || r.numFailedTests ? 0 : 1)}`);
        else console.log(`${r.stats.expected + r.stats.flaky} ${r.stats.unexpected + (r.errors?.length ? 1 : 0)}`);
    ' "$1" "$2"
}
read -r p f < <(counts test-results/vitest.json vitest)
passed=$((passed + p))
failed=$((failed + f))

if gate "vite build" npm run -s build -- --logLevel warn; then
    bytes=$(cat dist/index.html dist/assets/*.js dist/assets/*.css | wc -c)
    first=$(node -e '
        const fs = require("fs");
        const html = fs.readFileSync("dist/index.html", "utf8");
        const refs = [...html.matchAll(/(?:src|href)="\/console\/([^"]+)"/g)].map((m) => "dist/" + m[1]);
        console.log(["dist/index.html", ...refs].join(" "));')
    # shellcheck disable=SC2086
    first_gz=$(for f in $first; do gzip -9c "$f"; done | wc -c)
    all_gz=$(for f in dist/index.html dist/assets/*.js dist/assets/*.css; do gzip -9c "$f"; done | wc -c)
    log "bundle: first load $first_gz bytes gzip (index.html + its script and styles); all files $all_gz bytes gzip, $bytes bytes raw"
    if [[ "${WADESK_CONSOLE_DIST_CHECK:-1}" != 0 ]] && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        if [[ -n "$(git -C "$ROOT" status --porcelain -- console/dist)" ]]; then
            log "FAILED: the committed console/dist differs from a fresh build:"
            git -C "$ROOT" status --short -- console/dist >&2
            log "  rebuild (cd console && npm run build) and commit console/dist with the source change"
            failed=$((failed + 1))
        else
            log "console/dist matches the fresh build"
        fi
    fi
fi

if [[ "${WADESK_CONSOLE_E2E:-1}" == 0 ]]; then
    log "skipping Playwright (WADESK_CONSOLE_E2E=0)"
elif [[ ! -x "$RUNNER_BIN" ]]; then
    log "FAILED: no runner binary at $RUNNER_BIN (build it: cargo build -p wadesk-local-runner)"
    failed=$((failed + 1))
else
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    log "playwright against $RUNNER_BIN on 127.0.0.1:$port"
    WADESK_RUNNER_BIN="$RUNNER_BIN" WADESK_E2E_PORT="$port" npx playwright test
    read -r p f < <(counts test-results/e2e.json playwright)
    passed=$((passed + p))
    failed=$((failed + f))
    [[ -f test-results/metrics.json ]] && log "metrics: $(tr -d '\n ' <test-results/metrics.json)"
fi

finish
