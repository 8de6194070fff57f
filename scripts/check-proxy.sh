#!/usr/bin/env bash
# Checks docs/deploy.md's nginx configuration in front of a real Hearth on loopback:
# the config as written passes `nginx -t` (with a throwaway self-signed certificate),
# and, served over plain HTTP on a free port, a client at 127.0.0.2 that sends a forged
# X-Forwarded-For is seen by Hearth as 127.0.0.2 (through nginx, trusted) and as
# 127.0.0.2 directly (untrusted peer: the header is ignored).
# The same for the Caddyfile when caddy is installed.
# Usage: scripts/check-proxy.sh [path/to/hearth]   (needs nginx, openssl, curl, jq; caddy optional)
set -euo pipefail
HEARTH="${1:-target/debug/hearth}"
DOC="$(dirname "$0")/../docs/deploy.md"
WORK="$(mktemp -d /tmp/hearth-proxy-check.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$HEARTH" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/hearth.out" 2>"$WORK/hearth.err" \
  --config <(printf '[http]\ntrusted_proxies = ["127.0.0.1", "::1"]\n') &
PIDS+=($!)
for _ in $(seq 1 100); do
  HEARTH_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/hearth.out" 2>/dev/null | head -n1 || true)
  [ -n "$HEARTH_URL" ] && break; sleep 0.1
done
[ -n "$HEARTH_URL" ] || { cat "$WORK/hearth.err" >&2; exit 1; }
UPSTREAM="${HEARTH_URL#http://}"

# 1. The documented config, verbatim but for paths and ports, passes nginx -t.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=hearth.example.org -days 1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
TLS_PORT=$(free_port); HTTP_PORT=$(free_port)
sed -n '/^```nginx/,/^```/p' "$DOC" | sed '1d;$d' \
  | sed -e "s#127.0.0.1:8080#$UPSTREAM#" \
        -e "s#/etc/letsencrypt/live/hearth.example.org/fullchain.pem#$WORK/cert.pem#" \
        -e "s#/etc/letsencrypt/live/hearth.example.org/privkey.pem#$WORK/key.pem#" \
        -e "s#listen 443#listen 127.0.0.1:$TLS_PORT#; s#listen \[::\]:443#listen [::1]:$TLS_PORT#" \
        -e "s#listen 80;#listen 127.0.0.1:$HTTP_PORT;#; s#listen \[::\]:80;#listen [::1]:$HTTP_PORT;#" \
  > "$WORK/site.conf"
# The same site, plus a plain-HTTP copy of its location for the end-to-end check.
PLAIN_PORT=$(free_port)
{
  echo "daemon off; pid $WORK/nginx.pid; error_log $WORK/error.log; events {}"
  echo "http { access_log off; client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;"
  echo "  fastcgi_temp_path $WORK/f; uwsgi_temp_path $WORK/u; scgi_temp_path $WORK/s;"
  cat "$WORK/site.conf"
  echo "  server { listen 127.0.0.1:$PLAIN_PORT; client_max_body_size 64k; location = /metrics { return 404; }"
  sed -n '/^    location \/ {/,/^    }/p' "$WORK/site.conf"
  echo "  }"
  echo "}"
} > "$WORK/nginx.conf"
nginx -t -c "$WORK/nginx.conf" -e "$WORK/error.log" 2>&1 | tail -n1
nginx -c "$WORK/nginx.conf" -e "$WORK/error.log" &
PIDS+=($!)
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PLAIN_PORT/healthz" 2>/dev/null && break; sleep 0.1; done

# 2. Forged X-Forwarded-For from a client at 127.0.0.2, through nginx and directly.
PW='Correct-Horse-7-Battery'
seen_ip() {  # $1 base URL, $2 e-mail
  curl -fsS -o /dev/null --interface 127.0.0.2 -H 'x-forwarded-for: 1.2.3.4' -XPOST "$1/v1/accounts" \
    -H 'content-type: application/json' -d "{\"email\":\"$2\",\"password\":\"$PW\"}"
  token=$(curl -fsS --interface 127.0.0.2 -H 'x-forwarded-for: 1.2.3.4' -XPOST "$1/v1/sessions" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"$2\",\"password\":\"$PW\",\"device_id\":\"tv\",\"device_type\":\"tv\"}" | jq -r .token)
  curl -fsS "$1/v1/me/devices" -H "authorization: Bearer $token" | jq -r '.[0].ip'
}
via=$(seen_ip "http://127.0.0.1:$PLAIN_PORT" via@example.com)
direct=$(seen_ip "$HEARTH_URL" direct@example.com)
echo "through nginx: Hearth saw $via; directly: $direct (forged header said 1.2.3.4)"
[ "$via" = 127.0.0.2 ] && [ "$direct" = 127.0.0.2 ] || { echo "FAILED" >&2; exit 1; }
rid=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$PLAIN_PORT/healthz" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-request-id"{print $2}')
echo "nginx's \$request_id reached Hearth and came back: $rid"
[ ${#rid} -eq 32 ] || { echo "no request id from nginx" >&2; exit 1; }
metrics=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PLAIN_PORT/metrics")
echo "/metrics through the proxy: $metrics"
[ "$metrics" = 404 ]
echo "nginx in front of Hearth: OK"

# 3. The documented Caddyfile: valid as written, and the same checks with Caddy in front
#    (served over plain HTTP on a free port, no admin endpoint, no certificates).
if command -v caddy >/dev/null 2>&1; then
  sed -n '/^```caddy/,/^```/p' "$DOC" | sed '1d;$d' > "$WORK/Caddyfile.doc"
  caddy validate --adapter caddyfile --config "$WORK/Caddyfile.doc" 2>&1 | tail -n1
  CADDY_PORT=$(free_port)
  {
    printf '{\n\tadmin off\n\tauto_https off\n}\n'
    sed -e "s#^hearth.example.org {#http://127.0.0.1:$CADDY_PORT {#" -e "s#127.0.0.1:8080#$UPSTREAM#" "$WORK/Caddyfile.doc"
  } > "$WORK/Caddyfile"
  XDG_DATA_HOME="$WORK" XDG_CONFIG_HOME="$WORK" caddy run --adapter caddyfile --config "$WORK/Caddyfile" \
    >"$WORK/caddy.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$CADDY_PORT/healthz" 2>/dev/null && break; sleep 0.1; done
  via=$(seen_ip "http://127.0.0.1:$CADDY_PORT" caddy@example.com)
  echo "through Caddy: Hearth saw $via (forged header said 1.2.3.4)"
  [ "$via" = 127.0.0.2 ] || { echo "FAILED" >&2; exit 1; }
  rid=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$CADDY_PORT/healthz" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-request-id"{print $2}')
  echo "Caddy's request uuid came back: $rid"
  [ ${#rid} -eq 36 ] || { echo "no request id from Caddy" >&2; exit 1; }
  metrics=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CADDY_PORT/metrics")
  echo "/metrics through Caddy: $metrics"
  [ "$metrics" = 404 ]
  echo "Caddy in front of Hearth: OK"
fi
