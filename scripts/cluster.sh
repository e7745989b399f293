#!/usr/bin/env bash
# Several AnomalyForge instances on one PostgreSQL, on this machine's loopback ports, in demo mode:
# starts PostgreSQL (Debian's, scripts/postgres.sh), creates a database for the cluster, and starts
# INSTANCES (default 2) servers on ports 3100, 3101, … that share it. Ctrl-C stops them all.
#
# What they share (see README, "Architecture"): accounts, sessions, alerts, triage, KPIs; an alert one
# instance stores reaches the live streams of all (PostgreSQL LISTEN/NOTIFY); one of them leads the
# background jobs (`/healthz` says `"leader": true`). Ingest through any of them, e.g.
#   anomalyforge token create --name sensor   (with DATABASE_URL as printed)
#   curl -H "Authorization: Bearer …" --data-binary @flows.csv -H 'content-type: text/csv' http://127.0.0.1:3101/api/v1/ingest/csv
# and watch /soc on the other. Not yet here: the NATS JetStream ingest bus (issue 16).
#   INSTANCES  how many servers (default 2)
#   DATABASE   the PostgreSQL database to use (default anomalyforge_cluster; created if missing)
#   FRESH=1    drop and recreate that database first
set -euo pipefail
cd "$(dirname "$0")/.."
INSTANCES=${INSTANCES:-2}
DATABASE=${DATABASE:-anomalyforge_cluster}
scripts/setup.sh build >&2
command -v pg_ctlcluster >/dev/null || { echo "PostgreSQL is not installed: run scripts/setup.sh test" >&2; exit 1; }
base_url=$(scripts/postgres.sh)
admin_url=${base_url%/*}
if [ "${FRESH:-0}" = 1 ]; then
  psql -q "$base_url" -c "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)"
fi
if ! psql -tA "$base_url" -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
  psql -q "$base_url" -c "CREATE DATABASE $DATABASE"
fi
export DATABASE_URL="$admin_url/$DATABASE"
[ -x target/debug/anomalyforge-server ] && [ -f target/site/pkg/anomalyforge.js ] || scripts/build-site.sh >&2

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping ${#pids[@]} instances" >&2
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

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
