#!/usr/bin/env bash
# Sign-ins per second and CPU time per sign-in, read from /proc as
# bench/cpu_per_request.sh does: the server's own CPU and the whole machine's. Eight
# connections of bench/wrk/signin.lua (valid credentials, known devices) for DURATION.
#
#   BENCH_BIN=target/release/hearth bash bench/cpu_per_signin.sh             # SQLite
#   BENCH_BIN=... DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB bash bench/cpu_per_signin.sh
#
# One fresh server (and data folder) per call. Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BIN=${BENCH_BIN:-target/release/hearth}
DURATION=${DURATION:-8s}
ACCOUNTS=8
THREADS=2
KEY="bench-key-$$-$RANDOM"
# shellcheck source=bench/server.sh
. bench/server.sh
start_server "${DATABASE_URL:-}"
trap stop_server EXIT
create_accounts
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
s0=$(server_ticks); m0=$(machine_ticks)
out=$(BENCH_ACCOUNTS=$ACCOUNTS wrk -t"$THREADS" -c8 -d"$DURATION" -s bench/wrk/signin.lua "$BASE/v1/sessions")
s1=$(server_ticks); m1=$(machine_ticks)
n=$(awk '/requests in/ {print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/ {printf "%.1f", $2}' <<<"$out")
awk -v r="$rps" -v n="$n" -v s=$((s1 - s0)) -v m=$((m1 - m0)) -v hz="$(getconf CLK_TCK)" \
  'BEGIN {printf "sign-ins %s /s, server %.2f ms, machine %.2f ms of CPU per sign-in\n", r, s*1e3/hz/n, m*1e3/hz/n}'
