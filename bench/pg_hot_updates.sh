#!/usr/bin/env bash
# How many of engine_state's updates stay on their page (HOT) under
# bench/wrk/access.lua, and what that does to access events per second: one fresh
# server on a fresh PostgreSQL database, 6 s of warm-up then 8 s measured (wrk -t2
# -c32), then the table's counters and size. FILLFACTOR (optional) sets the table's
# fillfactor before any event, to compare with what migration 12 sets (50).
#
#   BENCH_BIN=target/release/hearth bash bench/pg_hot_updates.sh
#   FILLFACTOR=100 BENCH_BIN=... bash bench/pg_hot_updates.sh   # pages packed full
#
# The database (hearth_hot_<pid>) is dropped at the end. Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BIN=${BENCH_BIN:-target/release/hearth}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
KEY="bench-key-$$-$RANDOM"
# shellcheck source=bench/server.sh
. bench/server.sh
start_server_on_fresh_pg hot
if [ -n "${FILLFACTOR:-}" ]; then
  psql "$PG_URL/$DB" -qc "ALTER TABLE engine_state SET (fillfactor = $FILLFACTOR)"
fi
BENCH_KEY=$KEY wrk -t2 -c32 -d6s -s bench/wrk/access.lua "$BASE/v1/access" >/dev/null
rps=$(BENCH_KEY=$KEY wrk -t2 -c32 -d8s -s bench/wrk/access.lua "$BASE/v1/access" | awk '/Requests\/sec/ {printf "%.0f", $2}')
psql "$PG_URL/$DB" -At -F' ' -c "SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup, pg_size_pretty(pg_relation_size('engine_state')),
    (SELECT reloptions::text FROM pg_class WHERE relname = 'engine_state')
  FROM pg_stat_user_tables WHERE relname = 'engine_state'" |
  awk -v r="$rps" '{printf "access %s req/s; engine_state: %s updates, %.1f %% HOT, %s dead rows, %s %s; options %s\n", r, $1, 100*$2/$1, $3, $4, $5, $6}'
