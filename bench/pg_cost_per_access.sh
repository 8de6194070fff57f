#!/usr/bin/env bash
# What one POST /v1/access costs on PostgreSQL, read around an 8-second wrk run of
# bench/wrk/access.lua (2 threads, 32 connections): PostgreSQL's CPU (every postgres
# process, from /proc), the server's CPU, commits of the bench database, WAL flushes,
# WAL bytes, and the write path's mean batch (from the server's /metrics). Mostly counts, so they hold better than req/s on a noisy machine.
# pg_stat_wal and the postgres processes are cluster-wide: run it with nothing else
# using the cluster.
#
#   BENCH_BIN=target/release/hearth bash bench/pg_cost_per_access.sh
#   HEARTH_ACCESS__WRITERS=1 BENCH_BIN=... bash bench/pg_cost_per_access.sh
#
# One fresh server on a fresh database (hearth_cost_<pid>, dropped at the end).
# Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BIN=${BENCH_BIN:-target/release/hearth}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DURATION=${DURATION:-8s}
KEY="bench-key-$$-$RANDOM"
# shellcheck source=bench/server.sh
. bench/server.sh
start_server_on_fresh_pg cost
# Warm up: connections, and a state for most of the 10,000 accounts.
BENCH_KEY=$KEY wrk -t2 -c32 -d6s -s bench/wrk/access.lua "$BASE/v1/access" >/dev/null
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local t=0 p
  for p in $(pgrep -x postgres); do t=$((t + $(ticks "$p"))); done
  echo "$t"
}
stats() {
  psql "$PG_URL/postgres" -Atc "SELECT wal_sync, wal_bytes,
    (SELECT xact_commit FROM pg_stat_database WHERE datname = '$DB') FROM pg_stat_wal" | tr '|' ' '
}
# Events and batches the write path has taken so far.
batches() {
  curl -fs "$BASE/metrics" | awk '/^hearth_access_batch_events_total / {e=$2}
    /^hearth_access_batch_seconds_count / {b=$2} END {print e+0, b+0}'
}
read -r sync0 bytes0 commit0 < <(stats)
read -r ev0 batch0 < <(batches)
pg0=$(pg_ticks); srv0=$(ticks "$SERVER")
out=$(BENCH_KEY=$KEY wrk -t2 -c32 -d"$DURATION" -s bench/wrk/access.lua "$BASE/v1/access")
pg1=$(pg_ticks); srv1=$(ticks "$SERVER")
read -r ev1 batch1 < <(batches)
sleep 1 # pg_stat_database is flushed by the backends at most once a second
read -r sync1 bytes1 commit1 < <(stats)
n=$(awk '/requests in/ {print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
awk -v n="$n" -v rps="$rps" -v hz="$(getconf CLK_TCK)" -v pg=$((pg1 - pg0)) -v srv=$((srv1 - srv0)) \
  -v s=$((sync1 - sync0)) -v b=$((bytes1 - bytes0)) -v c=$((commit1 - commit0)) \
  -v ev=$((ev1 - ev0)) -v bt=$((batch1 - batch0)) \
  'BEGIN {printf "access %s req/s; per event: PostgreSQL %.1f us, server %.1f us of CPU, %.3f commits, %.3f WAL flushes, %.0f WAL bytes; %.1f events per batch\n",
    rps, pg*1e6/hz/n, srv*1e6/hz/n, c/n, s/n, b/n, (bt > 0 ? ev/bt : 0)}'
