#!/usr/bin/env bash
# Property-based API tests: schemathesis (from PyPI, in a virtual environment under
# target/) against `hearth serve --demo`'s /openapi.json, on a fresh data dir and an
# ephemeral loopback port. Fails on any 5xx, any response that breaks the document
# (status code, content type, headers, body schema) and any other failed check.
#
#   scripts/schemathesis.sh [max-examples-per-operation]   (default 50)
#
# Environment: ST_CHECKS (default below), ST_PHASES (default examples,coverage,fuzzing),
# ST_MAX_TIME (seconds, optional), ST_WORKERS (default 2), ST_SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EXAMPLES="${1:-50}"
CHECKS="${ST_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,ignored_auth}"
PHASES="${ST_PHASES:-examples,coverage,fuzzing}"
VENV="$ROOT/target/schemathesis-venv"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "==> creating $VENV and installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "==> building hearth"
cargo build --quiet -p hearth
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> starting hearth serve --demo (data in $WORK)"
"$ROOT/target/debug/hearth" serve --demo \
  --data-dir "$WORK/data" --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 120); do
  URL="$(sed -n 's/^Hearth is listening on \(http:[^ ]*\).*/\1/p' "$WORK/serve.out")"
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/serve.out" "$WORK/serve.err" >&2; exit 1; fi
  sleep 1
done
[ -n "$URL" ] || { echo "hearth did not start" >&2; cat "$WORK/serve.err" >&2; exit 1; }
ADMIN_PASSWORD="$(sed -n 's|^First analyst account: admin@hearth.local / \([^ ]*\) .*|\1|p' "$WORK/serve.out")"
export HEARTH_URL="$URL"
HEARTH_API_KEY="$(head -n1 "$WORK/data/api.key")"
export HEARTH_API_KEY
HEARTH_ADMIN_TOKEN="$(curl -sf -XPOST "$URL/v1/sessions" -H 'content-type: application/json' \
  -d "{\"email\":\"admin@hearth.local\",\"password\":\"$ADMIN_PASSWORD\",\"device_type\":\"computer\",\"device_name\":\"schemathesis\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
export HEARTH_ADMIN_TOKEN
echo "==> $URL: schemathesis, checks $CHECKS, phases $PHASES, at most $EXAMPLES examples per operation"

args=(run "$URL/openapi.json" --checks "$CHECKS" --phases "$PHASES" --max-examples "$EXAMPLES"
  --seed "${ST_SEED:-1}" --workers "${ST_WORKERS:-2}" --request-timeout 30 --suppress-health-check all
  --report junit --report-dir "$ROOT/target/schemathesis-report")
if [ -n "${ST_MAX_TIME:-}" ]; then args+=(--max-time "$ST_MAX_TIME"); fi
status=0
# From the temp dir: schemathesis keeps its example database in ./.schemathesis.
(cd "$WORK" && SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$ROOT/scripts/schemathesis" "$VENV/bin/schemathesis" "${args[@]}") || status=$?
if grep -E '(panicked|ERROR)' "$WORK/serve.err" >/dev/null; then
  echo "!! the server logged errors:" >&2
  grep -E '(panicked|ERROR)' "$WORK/serve.err" | head -n 20 >&2
  status=1
fi
exit $status
