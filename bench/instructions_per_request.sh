#!/usr/bin/env bash
# Instructions the server executes per request, counted by valgrind's callgrind: the
# same binary and inputs give the same count within a few per cent, whatever else the
# machine is doing, so two builds can be compared on a noisy machine where req/s and
# CPU time cannot tell a 5 % change from noise.
#
#   bash bench/instructions_per_request.sh BIN [access|healthz] [N]
#
# One `hearth serve` (SQLite, fresh data folder, loopback) under callgrind with
# instrumentation off; 3,000 warm-up events (so nearly every account has a state, as
# in a long wrk run), then instrumentation on for N (default 1000) requests sent one
# after another on one keep-alive connection, so every access event is a batch of its
# own (the write path's worst case: nothing shared between events). Events as in
# bench/wrk/access.lua but over 1,000 accounts, from a fixed seed.
# Counts every thread of the server, including its background tasks while measured.
set -euo pipefail
BIN=$1
MODE=${2:-access}
N=${3:-1000}
KEY="bench-key-$$"
DATA=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp "$DATA"/cg.out* "$KEEP"/; rm -rf "$DATA"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listen = "127.0.0.1:%s"\ndata_dir = "%s"\napi_keys = ["%s"]\n' "$PORT" "$DATA" "$KEY" >"$DATA/hearth.toml"
HEARTH_LOG=warn valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$DATA/cg.out" \
  "$BIN" serve --config "$DATA/hearth.toml" >"$DATA/serve.log" 2>&1 &
VG=$!
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done

send() { # mode count seed
  python3 - "$PORT" "$KEY" "$@" <<'PY'
import http.client, json, random, sys
port, key, mode, n, seed = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
types = ["tv", "mobile", "tablet", "computer"]
kinds = ["playback", "playback", "playback", "heartbeat", "sign_in"]
for i in range(n):
    if mode == "healthz":
        c.request("GET", "/healthz")
    else:
        a, d = rng.randint(1, 1000), rng.randint(1, 4)
        ip = (f"198.51.{a % 256}.{a // 256 % 256}" if rng.random() < 0.8
              else f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        body = json.dumps({"ts": "2026-12-07T05:00:%02dZ" % (i % 60), "account": f"bench-{a}",
                           "device": f"d-{d}", "device_type": types[d - 1], "ip": ip,
                           "kind": rng.choice(kinds), "id": f"s{seed}-{i}"})
        c.request("POST", "/v1/access", body,
                  {"content-type": "application/json", "authorization": "Bearer " + key})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"request {i}: HTTP {r.status}")
PY
}

send access 3000 1
sleep 3 # the warm-up's checkpoints and effects settle first
callgrind_control -i on "$VG" >/dev/null 2>&1
send "$MODE" "$N" 2
callgrind_control -i off "$VG" >/dev/null 2>&1
kill -INT "$VG"
wait "$VG" || true
total=0
for f in "$DATA"/cg.out*; do
  n=$(awk '/^totals:/ {print $2}' "$f")
  total=$((total + ${n:-0}))
done
echo "$(basename "$BIN") $MODE: $((total / N)) instructions per request ($total over $N)"
