#!/usr/bin/env bash
# Several AnomalyForge instances on one PostgreSQL and a NATS JetStream ingest bus, on this machine's
# loopback ports, in demo mode: starts PostgreSQL (Debian's, scripts/postgres.sh), creates a database
# for the cluster, starts a NATS cluster of NATS (default 3) JetStream nodes on ports 4222, 4223, …
# (cluster routes on 6222, …; stream replicas 3), and INSTANCES (default 2) servers on ports 3100,
# 3101, … that share both. Ctrl-C stops them all.
#
# What they share (see README, "Architecture"): accounts, sessions, alerts, triage, KPIs; an alert one
# instance stores reaches the live streams of all (PostgreSQL LISTEN/NOTIFY); one of them leads the
# background jobs (`/healthz` says `"leader": true`). Ingest through any of them, e.g.
#   anomalyforge token create --name sensor   (with DATABASE_URL as printed)
#   curl -H "Authorization: Bearer …" --data-binary @flows.csv -H 'content-type: text/csv' http://127.0.0.1:3101/api/v1/ingest/csv
# and watch /soc on the other. The reply is 202 once JetStream holds the batch; any instance scores
# it. Sensors may publish raw bodies to the bus directly (README, "The ingest bus"), e.g.
#   nats pub anomalyforge.ingest.zeek --header Nats-Msg-Id:sensor1-0001 "$(cat conn.log)"
#   INSTANCES  how many servers (default 2)
#   NATS       JetStream nodes: 3 (default, replicas 3), 1 (replicas 1), or 0 (no bus: in-process queues)
#   DATABASE   the PostgreSQL database to use (default anomalyforge_cluster; created if missing)
#   FRESH=1    drop and recreate that database (and the NATS nodes' store) first
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/nats-common.sh
INSTANCES=${INSTANCES:-2}
NATS=${NATS:-3}
DATABASE=${DATABASE:-anomalyforge_cluster}
case "$NATS" in 0|1|3) ;; *) echo "NATS must be 0, 1 or 3, not $NATS" >&2; exit 1 ;; esac
scripts/setup.sh build >&2
if [ "$NATS" != 0 ] && ! command -v nats-server >/dev/null; then
  echo "==> installing nats-server (JetStream) from Debian" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi
command -v pg_ctlcluster >/dev/null || { echo "PostgreSQL is not installed: run scripts/setup.sh test" >&2; exit 1; }
base_url=$(scripts/postgres.sh)
admin_url=${base_url%/*}
if [ "${FRESH:-0}" = 1 ]; then
  psql -q "$base_url" -c "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)"
  # The bus's stream belongs with the database: batches of the old one must not land in the new one.
  rm -rf var/cluster/nats-*
fi
if ! psql -tA "$base_url" -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
  psql -q "$base_url" -c "CREATE DATABASE $DATABASE"
fi
export DATABASE_URL="$admin_url/$DATABASE"
[ -x target/debug/anomalyforge-server ] && [ -f target/site/pkg/anomalyforge.js ] || scripts/build-site.sh >&2

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping ${#pids[@]} processes" >&2
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

NATS_PIDS=()
if [ "$NATS" != 0 ]; then
  start_nats_nodes "$PWD/var/cluster" "$NATS" 4222 6222 anomalyforge
  pids+=("${NATS_PIDS[@]}")
  export AF_BUS="$BUS_URL" AF_BUS__REPLICAS=$([ "$NATS" = 3 ] && echo 3 || echo 1)
  echo "ingest bus: $AF_BUS (replicas $AF_BUS__REPLICAS), logs in var/cluster/nats-*/nats.log"
fi

for i in $(seq 0 $((INSTANCES - 1))); do
  port=$((3100 + i))
  dir="var/cluster/instance-$i"
  mkdir -p "$dir"
  # Only the first instance replays the demo traffic; the others serve and ingest.
  autostart=$([ "$i" = 0 ] && echo true || echo false)
  AF_BIND=127.0.0.1:$port AF_DATA_DIR=$dir AF_DEMO=${AF_DEMO:-true} AF_REPLAY__AUTOSTART=$autostart \
    AF_SITE_ROOT=target/site target/debug/anomalyforge-server > "$dir/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then cat "$dir/server.log" >&2; exit 1; fi
    sleep 0.2
  done
  echo "instance $i: http://127.0.0.1:$port  $(curl -fsS "http://127.0.0.1:$port/healthz")  log: $dir/server.log"
done
echo "database: $DATABASE_URL"
echo "Ctrl-C stops them all."
wait
