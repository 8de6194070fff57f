#!/usr/bin/env bash
# Load benchmarks with wrk on loopback, each beside GET /healthz (the trivial endpoint)
# of the same server in the same run: POST /v1/access throughput and p99, on SQLite
# and on PostgreSQL; sign-in throughput (POST /v1/sessions, valid credentials) against
# the Argon2 limit (cores / single-hash time, measured in this run: at the start, and
# again beside each backend's sign-ins, which that backend's ratio uses); and
# /v1/access p99 while sign-ins saturate the CPU. Each measurement starts once the
# machine is quiet (`settle`, at most 20 s).
#
#   bash bench/load.sh                 # both backends
#   BACKENDS=sqlite bash bench/load.sh
#   DURATION=10s WARMUP=10s CONNS=32 PG_URL=postgres://postgres@127.0.0.1:5432 bash bench/load.sh
#
# PostgreSQL runs in a fresh database (hearth_bench_<pid>), dropped at the end.
# Only 127.0.0.1 is ever contacted.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
SIGNIN_CONNS=${SIGNIN_CONNS:-8}
ACCOUNTS=${ACCOUNTS:-8}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
KEY="bench-key-$$-$RANDOM"
OUT=${OUT:-bench/results/load-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$OUT")"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release -p hearth >&2
  cargo build --release -p hearth-core --example hash_time >&2
  BENCH_BIN=target/release/hearth
fi
HASH_TIME_BIN=${HASH_TIME_BIN:-target/release/examples/hash_time}

# shellcheck source=bench/server.sh
. bench/server.sh

log() { echo "$*" | tee -a "$OUT"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# "req/s p99_ms" from wrk --latency output.
summary() {
  awk '/Requests\/sec/ {rps=$2}
       /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p99=v}
       /Non-2xx/ {bad=$NF}
       END {printf "%.0f %.2f %s\n", rps, p99, (bad==""?0:bad)}' "$1"
}

# Waits (at most 20 s) until the machine is quiet, under 10 % of its cores busy over a
# second, so that a measurement is not charged with what the one before left behind
# (the engine states an owning writer writes back 5 s after they change, a WAL
# checkpoint, PostgreSQL's autovacuum). Logs how long it waited.
settle() {
  local t0 b0 t1 b1 i
  for i in $(seq 1 20); do
    read -r t0 b0 < <(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8, $2+$3+$4+$7+$8}' /proc/stat)
    sleep 1
    read -r t1 b1 < <(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8, $2+$3+$4+$7+$8}' /proc/stat)
    if [ $(( (b1 - b0) * 10 )) -lt $(( t1 - t0 )) ]; then break; fi
  done
  echo "# settled after ${i} s" >>"$OUT"
}

run_wrk() { # name script-or-empty path conns duration
  local name=$1 script=$2 path=$3 conns=$4 dur=$5 f
  f=$(mktemp)
  local args=(-t"$THREADS" -c"$conns" -d"$dur" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  BENCH_KEY=$KEY BENCH_ACCOUNTS=$ACCOUNTS wrk "${args[@]}" "$BASE$path" >"$f" 2>&1
  cat "$f" >>"$OUT"
  read -r rps p99 bad < <(summary "$f")
  log "RESULT $BACKEND $name rps=$rps p99_ms=$p99 non2xx=$bad load=\"$(load)\""
  rm -f "$f"
}

log "# bench/load.sh $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)"
log "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); wrk -t$THREADS -c$CONNS -d$DURATION"
read -r hash_med hash_min < <("$HASH_TIME_BIN" 20 | awk '{print $2, $4}')
CORES=$(nproc)
LIMIT=$(awk -v c="$CORES" -v t="$hash_med" 'BEGIN {printf "%.1f", c * 1000 / t}')
log "RESULT - argon2_verify median_ms=$hash_med min_ms=$hash_min limit_per_s=$LIMIT (cores $CORES / median) load=\"$(load)\""
# The same verifications on every core at once: what the cores really give when they
# share caches and memory bandwidth (19 MiB per hash). Beside the target, not instead.
read -r par_med par_rate < <("$HASH_TIME_BIN" 20 "$CORES" | awk '{print $2, $10}')
log "RESULT - argon2_parallel median_ms=$par_med per_s=$par_rate threads=$CORES load=\"$(load)\""

for BACKEND in $BACKENDS; do
  case $BACKEND in
    sqlite) URL="" ;;
    postgres)
      DB="hearth_bench_$$"
      psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
      URL="$PG_URL/$DB" ;;
    *) echo "unknown backend $BACKEND" >&2; exit 1 ;;
  esac
  # Set first, so that a server that fails to start leaves no database behind.
  if [ "$BACKEND" = postgres ]; then
    trap 'stop_server; psql "$PG_URL/postgres" -qc "DROP DATABASE $DB WITH (FORCE)" >/dev/null' EXIT
  else
    trap 'stop_server' EXIT
  fi
  start_server "$URL"
  create_accounts
  # Warm up for WARMUP (connections, and a state for every account of access.lua's
  # 10,000), then the measured runs: throughput at steady state, as a platform whose
  # accounts already have their states sees it. The warm-up's own figures (the cold
  # start: each account's first event creates its state) are logged as access_warmup.
  run_wrk access_warmup bench/wrk/access.lua /v1/access "$CONNS" "$WARMUP"
  settle
  run_wrk healthz "" /healthz "$CONNS" "$DURATION"
  settle
  run_wrk access bench/wrk/access.lua /v1/access "$CONNS" "$DURATION"
  settle
  run_wrk signin bench/wrk/signin.lua /v1/sessions "$SIGNIN_CONNS" "$DURATION"
  # The limit right after the sign-ins it is set against (after, so that no work the
  # access runs left behind slows it): a shared machine's speed drifts over the minutes
  # a run takes (12.6 to 18.1 ms per hash across the runs of session 14).
  read -r hash_med hash_min < <("$HASH_TIME_BIN" 20 | awk '{print $2, $4}')
  log "RESULT $BACKEND argon2_verify median_ms=$hash_med min_ms=$hash_min limit_per_s=$(awk -v c="$CORES" -v t="$hash_med" 'BEGIN {printf "%.1f", c * 1000 / t}') load=\"$(load)\""
  read -r par_med par_rate < <("$HASH_TIME_BIN" 20 "$CORES" | awk '{print $2, $10}')
  log "RESULT $BACKEND argon2_parallel median_ms=$par_med per_s=$par_rate threads=$CORES load=\"$(load)\""
  # Sign-ins saturating the CPU while access events are measured.
  settle
  BENCH_ACCOUNTS=$ACCOUNTS wrk -t1 -c"$SIGNIN_CONNS" -d"$(( ${DURATION%s} + 4 ))s" \
    -s bench/wrk/signin.lua "$BASE/v1/sessions" >"$DATA/signin-bg.txt" 2>&1 &
  BG=$!
  sleep 2
  run_wrk access_under_signin bench/wrk/access.lua /v1/access "$CONNS" "$DURATION"
  wait "$BG" || true
  read -r bg_rps bg_p99 bg_bad < <(summary "$DATA/signin-bg.txt")
  log "RESULT $BACKEND signin_background rps=$bg_rps p99_ms=$bg_p99 non2xx=$bg_bad"
  stop_server
  trap - EXIT
  if [ "$BACKEND" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE $DB WITH (FORCE)" >/dev/null
  fi
done

log "# ratios"
awk '/^RESULT/ {
  split($0, a, " "); b=a[2]; n=a[3];
  for (i=4;i<=NF;i++) { split($i, kv, "="); v[b" "n" "kv[1]]=kv[2] }
}
END {
  split("sqlite postgres", bs, " ");
  for (k in bs) { b=bs[k]; if (v[b" healthz rps"]=="") continue;
    lim=v[b" argon2_verify limit_per_s"]; par=v[b" argon2_parallel per_s"];
    printf "%s: access/healthz = %.1f%% (%s / %s req/s), access p99 %s ms, signin/limit = %.1f%% (%s / %s per s; %.1f%% of %s hashes/s on all cores at once), access p99 under sign-in %s ms (x%.2f)\n",
      b, 100*v[b" access rps"]/v[b" healthz rps"], v[b" access rps"], v[b" healthz rps"], v[b" access p99_ms"],
      100*v[b" signin rps"]/lim, v[b" signin rps"], lim, 100*v[b" signin rps"]/par, par, v[b" access_under_signin p99_ms"],
      v[b" access_under_signin p99_ms"]/v[b" access p99_ms"] }
}' "$OUT" | tee -a "$OUT"
echo "written to $OUT" >&2
