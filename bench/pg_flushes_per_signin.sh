#!/usr/bin/env bash
# WAL flushes, WAL records and commits per successful sign-in on PostgreSQL, read from
# pg_stat_wal and pg_stat_database around a 6-second wrk run of bench/wrk/signin.lua.
# Counts, not times: they hold on a noisy machine. pg_stat_wal is cluster-wide, so run
# it with nothing else writing to the cluster.
#
#   BENCH_BIN=target/release/hearth bash bench/pg_flushes_per_signin.sh
#
# One fresh server on a fresh database (hearth_flushes_<pid>, dropped at the end).
# Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BIN=${BENCH_BIN:-target/release/hearth}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
ACCOUNTS=8
THREADS=2
KEY="bench-key-$$-$RANDOM"
# shellcheck source=bench/server.sh
. bench/server.sh
start_server_on_fresh_pg flushes
create_accounts
sleep 1
stats() {
  psql "$PG_URL/postgres" -Atc "SELECT wal_sync, wal_records,
    (SELECT xact_commit FROM pg_stat_database WHERE datname = '$DB') FROM pg_stat_wal" | tr '|' ' '
}
read -r sync0 rec0 commit0 < <(stats)
out=$(BENCH_ACCOUNTS=$ACCOUNTS wrk -t1 -c8 -d6s -s bench/wrk/signin.lua "$BASE/v1/sessions")
sleep 1 # pg_stat_database is flushed by the backends at most once a second
read -r sync1 rec1 commit1 < <(stats)
n=$(awk '/requests in/ {print $1}' <<<"$out")
awk -v n="$n" -v s=$((sync1 - sync0)) -v r=$((rec1 - rec0)) -v c=$((commit1 - commit0)) \
  'BEGIN {printf "sign-ins %d: per sign-in %.2f WAL flushes (wal_sync), %.1f WAL records, %.2f commits\n", n, s/n, r/n, c/n}'
