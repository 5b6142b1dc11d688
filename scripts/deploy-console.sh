#!/usr/bin/env bash
# Uploads the agent console to a deployed stack's private bucket and writes its
# run-time settings (console/config.json) from the stack's outputs:
#
#   bash scripts/deploy-console.sh <stack-name> [region]
#
# Needs the AWS CLI with credentials for the stack's account, and a built
# console (console/dist, committed; or `npm ci && npm run build` in console/).
# live_url is the stack's WebSocket API (LiveUrl): hints over it, the console
# polling the HTTP API only while the socket is down.
set -euo pipefail

STACK="${1:?usage: deploy-console.sh <stack-name> [region]}"
REGION="${2:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$ROOT/console/dist"
region_args=()
[[ -n "$REGION" ]] && region_args=(--region "$REGION")

output() {
    aws cloudformation describe-stacks "${region_args[@]}" --stack-name "$STACK" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

[[ -f "$DIST/index.html" ]] || { echo "no built console at $DIST" >&2; exit 1; }
bucket="$(output ConsoleBucketName)"
distribution="$(output ConsoleDistributionId)"
api_url="$(output ApiUrl)"
issuer="$(output JwtIssuerInUse)"
live_url="$(output LiveUrl)"
client_id="$(output AgentUserPoolClientId)"
if [[ -z "$client_id" || "$client_id" == "None" ]]; then
    client_id="${WADESK_CONSOLE_CLIENT_ID:?the stack uses your own issuer: set WADESK_CONSOLE_CLIENT_ID to its client id}"
fi

config="$(mktemp)"
trap 'rm -f "$config"' EXIT
python3 - "$api_url" "$issuer" "$client_id" "$live_url" >"$config" <<'PY'
import json, sys
api, issuer, client, live = sys.argv[1:5]
print(json.dumps({
    "api_base_url": api,
    # A stack from before the live socket has no LiveUrl output: poll.
    "live_url": live if live.startswith("wss://") else None,
    "auth": {"mode": "oidc", "authority": issuer, "client_id": client,
             "scope": "openid email profile"},
}))
PY

aws s3 sync "${region_args[@]}" --delete "$DIST/" "s3://$bucket/console/"
aws s3 cp "${region_args[@]}" --content-type application/json --cache-control no-cache \
    "$config" "s3://$bucket/console/config.json"
aws cloudfront create-invalidation --distribution-id "$distribution" \
    --paths "/console/index.html" "/console/config.json" >/dev/null
echo "console at $(output ConsoleUrl)"
