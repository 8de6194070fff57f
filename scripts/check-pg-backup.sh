#!/usr/bin/env bash
# Checks docs/deploy.md's PostgreSQL backup and restore: pg_dump (custom format) of a
# database a running server writes to, pg_restore into a fresh database, and a server
# on the restored database signs in an account made before the dump.
# Usage: scripts/check-pg-backup.sh [path/to/hearth]   (PostgreSQL on 127.0.0.1:5432, trust)
set -euo pipefail
HEARTH="${1:-target/debug/hearth}"
PG="${HEARTH_CHECK_PG:-postgres://postgres@127.0.0.1:5432}"
SRC="hearth_bk_src_$$"; DST="hearth_bk_dst_$$"
WORK="$(mktemp -d /tmp/hearth-pg-backup-check.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $SRC" -c "DROP DATABASE IF EXISTS $DST" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PW='Correct-Horse-7-Battery'
psql "$PG/postgres" -qc "CREATE DATABASE $SRC" -c "CREATE DATABASE $DST" >/dev/null

start() {  # $1 data dir, $2 database
  mkdir -p "$1"
  "$HEARTH" serve --listen 127.0.0.1:0 --data-dir "$1" --database-url "$PG/$2" >"$1.out" 2>"$1.err" &
  PID=$!; PIDS+=("$PID")
  for _ in $(seq 1 100); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$1.out" 2>/dev/null | head -n1 || true)
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "hearth did not start: $(cat "$1.err")" >&2; exit 1
}
sign_up() { curl -fsS -o /dev/null -XPOST "$URL/v1/accounts" -H 'content-type: application/json' \
  -d "{\"email\":\"$1\",\"password\":\"$PW\"}"; }

start "$WORK/a" "$SRC"
sign_up before@example.com
( for i in $(seq 1 20); do sign_up "during$i@example.com" || true; done ) &
WRITER=$!
pg_dump --format=custom --no-owner --file="$WORK/hearth.dump" "$PG/$SRC"
wait "$WRITER"
kill -TERM "$PID"; wait "$PID" || true
pg_restore --no-owner --exit-on-error --dbname="$PG/$DST" "$WORK/hearth.dump"
mkdir -p "$WORK/b"; cp -p "$WORK/a/secret.key" "$WORK/a/api.key" "$WORK/b/"
start "$WORK/b" "$DST"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$URL/v1/sessions" -H 'content-type: application/json' \
  -d "{\"email\":\"before@example.com\",\"password\":\"$PW\",\"device_id\":\"tv-1\",\"device_type\":\"tv\"}")
[ "$code" = 201 ] || { echo "sign-in on the restored database answered $code" >&2; exit 1; }
n=$(psql "$PG/$DST" -Atc "SELECT count(*) FROM accounts")
echo "restored: $n accounts; the earlier account signs in (201)"
kill -TERM "$PID"; wait "$PID" || true
echo "PostgreSQL dump and restore: OK"
