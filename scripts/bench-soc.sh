#!/usr/bin/env bash
# Benchmark of the SOC console's server rendering on THIS machine (loopback only), release build,
# SQLite: how long `GET /soc` takes to render completely (SsrMode::Async: every list awaited) with
# ALERTS alerts in the database.
#
# The alerts are real: recorded CIC-IDS2017 flows replayed through the pipeline (scored, enriched,
# stored) at full speed with deduplication off, so every detection becomes an alert, all of them
# within the last minutes — the worst case for the default view (open alerts of the last 24 hours,
# riskiest first). Then a fresh server with ingest off serves the pages, and each URL is requested
# REQUESTS times one after another by one signed-in analyst; p50/p95/max come from curl's timings.
set -euo pipefail
cd "$(dirname "$0")/.."
ALERTS=${ALERTS:-100000}
REQUESTS=${REQUESTS:-200}
PORT=${PORT:-3908}
source scripts/bench-common.sh
export AF_SITE_ROOT=$WORK/site

metric() { curl -fsS -b "$WORK/cookies" "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
login() {
  curl -fsS -c "$WORK/cookies" -o /dev/null -d 'username=bench.analyst&password=bench analyst password' \
    "http://127.0.0.1:$PORT/api/auth/login"
}

echo "# filling the database: replaying recorded flows until $ALERTS alerts exist"
t0=$(date +%s)
AF_BIND=127.0.0.1:$PORT AF_DEDUP_WINDOW_SECS=0 AF_REPLAY__AUTOSTART=true AF_REPLAY__SPEED=100000 \
  AF_REPLAY__MAX_FLOWS_PER_SECOND=50000 AF_INGEST_WORKERS=2 $BIN/anomalyforge-server >> "$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_healthy
login
while :; do
  created=$(metric anomalyforge_alerts_created_total)
  [ "${created%.*}" -ge "$ALERTS" ] && break
  sleep 1
done
stop_server
echo "# $created alerts stored in $(( $(date +%s) - t0 )) s"

AF_BIND=127.0.0.1:$PORT AF_INGEST=false $BIN/anomalyforge-server >> "$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_healthy
login
ALERT_ID=$(curl -fsS -b "$WORK/cookies" -d 'query[range]=24h' "http://127.0.0.1:$PORT/api/soc/queue" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0]["alert"]["id"])')

measure() {
  local path=$1
  curl -fsS -b "$WORK/cookies" -o "$WORK/page.html" "http://127.0.0.1:$PORT$path"   # warm-up
  for _ in $(seq 1 "$REQUESTS"); do
    curl -fsS -b "$WORK/cookies" -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT$path"
  done | python3 -c '
import json, sys
t = sorted(float(x) * 1000 for x in sys.stdin)
pick = lambda q: t[min(len(t) - 1, int(q * len(t)))]
print(json.dumps({"path": sys.argv[1], "alerts": int(sys.argv[2]), "requests": len(t), "html_bytes": int(sys.argv[3]),
                  "p50_ms": round(pick(0.5), 1), "p95_ms": round(pick(0.95), 1), "max_ms": round(t[-1], 1)}))
' "$path" "$created" "$(stat -c %s "$WORK/page.html")"
}
measure "/soc"
measure "/soc?alert=$ALERT_ID"
measure "/soc?group=threat&range=7d"
measure "/soc?q=brute%20force&status=all"
