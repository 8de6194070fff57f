#!/usr/bin/env bash
# CPU time per request of GET /healthz and POST /v1/access (bench/wrk/access.lua), read
# from /proc rather than inferred from req/s: the server's own CPU (/proc/<pid>/stat),
# wrk's (its rusage, through the shell's `times`) and the whole machine's (/proc/stat:
# wrk, the server and PostgreSQL together). Less at the mercy of a noisy machine than
# throughput, and what the ratio target is made of.
#
#   BENCH_BIN=target/release/hearth bash bench/cpu_per_request.sh             # SQLite
#   BENCH_BIN=... DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB bash bench/cpu_per_request.sh
#
# One fresh server (and data folder) per call; access events for WARMUP (default 2s,
# -c4) first, then wrk -t2 -c32 for DURATION each. With WARMUP=24s -c32 fills every
# account's state to its steady size first (its latest event ids; session 13). Only
# 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_BIN=${BENCH_BIN:-target/release/hearth}
DURATION=${DURATION:-6s}
KEY="bench-key-$$-$RANDOM"
# shellcheck source=bench/server.sh
. bench/server.sh
start_server "${DATABASE_URL:-}"
trap stop_server EXIT
WARMUP=${WARMUP:-2s}
if [ "$WARMUP" = 2s ]; then warm="-t1 -c4"; else warm="-t2 -c32"; fi
# shellcheck disable=SC2086
BENCH_KEY=$KEY wrk $warm -d"$WARMUP" -s bench/wrk/access.lua "$BASE/v1/access" >/dev/null

server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
hz=$(getconf CLK_TCK)
# CHILD_CPU: CPU seconds of this script's finished children (wrk's, but for a few awk).
# `times` must run in this shell, not in a $(...) of its own, whose children are none.
children_cpu() {
  times >"$DATA/times"
  CHILD_CPU=$(awk 'NR == 2 {n = 0; for (i = 1; i <= 2; i++) {split($i, p, "m"); n += p[1] * 60 + p[2]}; print n}' "$DATA/times")
}
line=""
for what in healthz access; do
  s0=$(server_ticks); m0=$(machine_ticks); children_cpu; w0=$CHILD_CPU
  if [ "$what" = healthz ]; then
    out=$(wrk -t2 -c32 -d"$DURATION" "$BASE/healthz")
  else
    out=$(BENCH_KEY=$KEY wrk -t2 -c32 -d"$DURATION" -s bench/wrk/access.lua "$BASE/v1/access")
  fi
  s1=$(server_ticks); m1=$(machine_ticks); children_cpu; w1=$CHILD_CPU
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  line+=$(awk -v w="$what" -v r="$rps" -v n="$n" -v s=$((s1 - s0)) -v m=$((m1 - m0)) -v hz="$hz" \
    -v c="$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')" \
    'BEGIN {printf "%s %s req/s, server %.1f us, wrk %.1f us, machine %.1f us per request; ", w, r, s*1e6/hz/n, c*1e6/n, m*1e6/hz/n}')
done
echo "$line"
