# Shared by the benchmark scripts: one `hearth serve` on a fresh data folder and a
# free loopback port. Needs BENCH_BIN (the binary) and KEY (its platform API key);
# sets DATA, SERVER (the pid) and BASE (the URL). create_accounts makes ACCOUNTS accounts
# (default 8) for bench/wrk/signin.lua and signs each in once from THREADS devices
# (default 2), so the measured sign-ins are of known devices.

start_server() { # database-url
  DATA=$(mktemp -d)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$DATA/hearth.toml" <<EOF
listen = "127.0.0.1:$PORT"
data_dir = "$DATA"
database_url = "$1"
api_keys = ["$KEY"]

EOF
  # Logs at warn: request logging is not what is measured.
  HEARTH_LOG=warn "$BENCH_BIN" serve --config "$DATA/hearth.toml" >"$DATA/serve.log" 2>&1 &
  SERVER=$!
  BASE="http://127.0.0.1:$PORT"
  for _ in $(seq 1 300); do
    curl -fs "$BASE/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "server did not start; log:" >&2; cat "$DATA/serve.log" >&2; exit 1
}

# One server on a fresh PostgreSQL database, DB=hearth_<name>_<pid> under PG_URL,
# stopped and the database dropped when the script exits.
start_server_on_fresh_pg() { # name
  DB="hearth_$1_$$"
  psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
  # Set first, so that a server that fails to start leaves no database behind.
  trap 'stop_server; psql "$PG_URL/postgres" -qc "DROP DATABASE $DB WITH (FORCE)" >/dev/null' EXIT
  start_server "$PG_URL/$DB"
}

stop_server() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}

create_accounts() {
  for i in $(seq 0 $((${ACCOUNTS:-8} - 1))); do
    curl -fs -XPOST "$BASE/v1/accounts" -H 'content-type: application/json' \
      -d "{\"email\":\"signin-$i@bench.hearth\",\"password\":\"Correct-Horse-7-Battery\"}" >/dev/null
  done
  # One sign-in per account and device first, so the measured sign-ins are of known devices.
  for i in $(seq 0 $((${ACCOUNTS:-8} - 1))); do
    for t in $(seq 1 "${THREADS:-2}"); do
      curl -fs -XPOST "$BASE/v1/sessions" -H 'content-type: application/json' \
        -d "{\"email\":\"signin-$i@bench.hearth\",\"password\":\"Correct-Horse-7-Battery\",\"device_id\":\"bench-tv-$t\",\"device_type\":\"tv\",\"device_name\":\"Bench TV\"}" >/dev/null
    done
  done
}
