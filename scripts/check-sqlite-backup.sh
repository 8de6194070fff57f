#!/usr/bin/env bash
# Checks docs/deploy.md's SQLite backup and restore on a running server: online
# `.backup` and `VACUUM INTO` while sign-ups are written, integrity of both copies,
# and a server on each restored copy signs in an account made before the backup.
# Usage: scripts/check-sqlite-backup.sh [path/to/hearth]   (default: target/debug/hearth)
set -euo pipefail
HEARTH="${1:-target/debug/hearth}"
WORK="$(mktemp -d /tmp/hearth-backup-check.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
PW='Correct-Horse-7-Battery'

# Starts hearth on a free port over data dir $1; sets URL and PID.
start() {
  "$HEARTH" serve --listen 127.0.0.1:0 --data-dir "$1" >"$1.out" 2>"$1.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 100); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$1.out" 2>/dev/null | head -n1 || true)
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "hearth did not start: $(cat "$1.err")" >&2
  exit 1
}
sign_up() { curl -fsS -o /dev/null -XPOST "$URL/v1/accounts" -H 'content-type: application/json' \
  -d "{\"email\":\"$1\",\"password\":\"$PW\"}"; }
sign_in() { curl -s -o /dev/null -w '%{http_code}' -XPOST "$URL/v1/sessions" -H 'content-type: application/json' \
  -d "{\"email\":\"$1\",\"password\":\"$PW\",\"device_id\":\"tv-1\",\"device_type\":\"tv\"}"; }

mkdir -p "$WORK/live"
start "$WORK/live"
sign_up before@example.com
# Keep writing while the backups run.
( for i in $(seq 1 40); do sign_up "during$i@example.com" || true; done ) &
WRITER=$!
sqlite3 "$WORK/live/hearth.db" ".backup '$WORK/online.db'"
sqlite3 "$WORK/live/hearth.db" "VACUUM INTO '$WORK/vacuum.db'"
wait "$WRITER"
kill -TERM "$PID"; wait "$PID" || true

for copy in online vacuum; do
  check=$(sqlite3 "$WORK/$copy.db" "PRAGMA integrity_check")
  [ "$check" = ok ] || { echo "$copy: integrity_check says $check" >&2; exit 1; }
  mkdir -p "$WORK/restored-$copy"
  cp "$WORK/$copy.db" "$WORK/restored-$copy/hearth.db"
  cp -p "$WORK/live/secret.key" "$WORK/live/api.key" "$WORK/restored-$copy/"
  start "$WORK/restored-$copy"
  code=$(sign_in before@example.com)
  [ "$code" = 201 ] || { echo "$copy: sign-in after restore answered $code" >&2; exit 1; }
  access=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$URL/v1/access" \
    -H "authorization: Bearer $(cat "$WORK/live/api.key")" -H 'content-type: application/json' \
    -d '{"ts":"2026-03-01T20:15:00Z","account":"a-1","device":"d-1","device_type":"tv","ip":"203.0.113.7","kind":"playback"}')
  [ "$access" = 200 ] || { echo "$copy: /v1/access with the old key answered $access" >&2; exit 1; }
  accounts=$(sqlite3 "$WORK/$copy.db" "SELECT count(*) FROM accounts")
  echo "$copy: integrity ok, $accounts accounts in the copy, earlier account signs in (201), API key accepted (200)"
  kill -TERM "$PID"; wait "$PID" || true
done
echo "SQLite online backup and restore: OK"
