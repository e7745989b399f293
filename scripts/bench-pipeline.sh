#!/usr/bin/env bash
# End-to-end benchmark of the live pipeline on THIS machine (loopback only), release build, SQLite:
#   1. throughput: CICFlowMeter CSV batches through HTTP ingest -> parse -> score -> enrich -> dedup ->
#      commit (alerts, assets, traffic and hourly aggregates), as fast as the server accepts;
#   2. latency and memory at a steady 10,000 flows/s: from a batch's arrival to its alerts reaching a
#      signed-in live-stream client (p50/p99), and the server's peak resident memory.
# Prints one JSON object per scenario. Bounded: at most FLOWS flows and SECONDS seconds per scenario.
# INTEL=<file> imports a threat-intel document first, so live matching runs against its indicators.
set -euo pipefail
cd "$(dirname "$0")/.."
FLOWS=${FLOWS:-2000000}
SECONDS_MAX=${SECONDS_MAX:-60}
PORT=${PORT:-3907}
WORKERS=${WORKERS:-2}
source scripts/bench-common.sh
TOKEN=$($BIN/anomalyforge token create --name loadgen --scope ingest,read 2>/dev/null)
if [ -n "${INTEL:-}" ]; then $BIN/anomalyforge intel import --source bench-feed --expiry-days never "$INTEL"; fi

# A fresh server per scenario, so each peak-memory figure is its own.
start_server() {
  AF_BIND=127.0.0.1:$PORT AF_INGEST_WORKERS=$WORKERS AF_SITE_ROOT=$WORK/site AF_REPLAY__AUTOSTART=false \
    $BIN/anomalyforge-server >> "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  wait_healthy
}

gen() { $BIN/anomalyforge-loadgen --url "http://127.0.0.1:$PORT" --token "$TOKEN" --server-pid "$SERVER_PID" --json "$@"; }
echo "# throughput (as fast as accepted), ${WORKERS} pipeline workers"
start_server
gen --flows "$FLOWS" --duration-secs "$SECONDS_MAX" --rate 0 --batch 10000 --concurrency 4
stop_server
echo "# steady 10,000 flows/s with a live-stream client"
start_server
AF_LOADGEN_PASSWORD="bench analyst password" gen --flows $((10000 * SECONDS_MAX)) --duration-secs "$SECONDS_MAX" \
  --rate 10000 --batch 1000 --concurrency 4 --stream-user bench.analyst
stop_server
