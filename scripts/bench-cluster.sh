#!/usr/bin/env bash
# The pipeline side by side in one run, on THIS machine (loopback only), release build:
#   sqlite   one instance on SQLite, the in-process queue (the default);
#   postgres one instance on PostgreSQL, the in-process queue;
#   cluster  two instances on PostgreSQL with the NATS JetStream ingest bus on a 3-node NATS cluster
#            (replicas 3): requests spread over both, either instance scores;
#   cluster1 the same on a single NATS node (replicas 1: no copy survives that node's disk), throughput
#            only, to show what the three copies cost on one machine.
# Per scenario, on fresh servers: (1) throughput, as fast as accepted, counting flows STORED (with the
# bus the loader waits until the instances have scored every acknowledged flow); (2) a steady 10,000
# flows/s with a live-stream client: batch arrival -> alert event at the client. In the cluster the
# batches go to instance A and the client reads instance B: the event crosses instances.
# Prints one JSON object per run, then the ratios the targets are stated in.
#   SECONDS_MAX  seconds per run (default 20)      FLOWS  flow cap per throughput run (default 3,000,000)
#   WORKERS      pipeline workers per instance (2)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_MAX=${SECONDS_MAX:-20}
FLOWS=${FLOWS:-3000000}
WORKERS=${WORKERS:-2}
PORT=${PORT:-3911}
PORT_B=$((PORT + 1))
scripts/setup.sh test >&2
source scripts/bench-common.sh
source scripts/nats-common.sh
PG_BASE=$(scripts/postgres.sh)
PG_ADMIN=${PG_BASE%/*}
PG_DBS=()
NATS_PIDS=()
SERVER_B_PID=
bench_cleanup() {
  [ -n "$SERVER_B_PID" ] && kill "$SERVER_B_PID" 2>/dev/null
  for p in "${NATS_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in "${PG_DBS[@]}"; do psql -q "$PG_BASE" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" 2>/dev/null || true; done
  cleanup
}
trap bench_cleanup EXIT
SQLITE_URL=$DATABASE_URL
SQLITE_TOKEN=$($BIN/anomalyforge token create --name loadgen --scope ingest,read 2>/dev/null)

# A fresh PostgreSQL database with the analyst account; prints its URL.
pg_database() {
  local name="af_bench_$1_$$"
  psql -q "$PG_BASE" -c "CREATE DATABASE $name"
  PG_DBS+=("$name")
  DATABASE_URL="$PG_ADMIN/$name" $BIN/anomalyforge user list >/dev/null
  DATABASE_URL="$PG_ADMIN/$name" AF_NEW_PASSWORD="bench analyst password" \
    $BIN/anomalyforge user add bench.analyst --role analyst >/dev/null
  echo "$PG_ADMIN/$name"
}

# start <port> [env assignments…]: a server on $DATABASE_URL; sets LAST_PID.
start() {
  local port=$1; shift
  env "$@" AF_BIND=127.0.0.1:$port AF_INGEST_WORKERS=$WORKERS AF_SITE_ROOT=$WORK/site AF_REPLAY__AUTOSTART=false \
    AF_DATA_DIR=$WORK/data-$port $BIN/anomalyforge-server >> "$WORK/server-$port.log" 2>&1 &
  LAST_PID=$!
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$LAST_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$WORK/server-$port.log" >&2; exit 1
}
stop_all() {
  for p in ${SERVER_PID:-} ${SERVER_B_PID:-}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SERVER_PID=; SERVER_B_PID=
}

# start_nats <run> [nodes]: a JetStream cluster of 3 (or 1) nodes in $WORK/nats-<run>; sets BUS_URL.
start_nats() { start_nats_nodes "$WORK/nats-$1" "${2:-3}" 4322 6322 bench; }
stop_nats() {
  for p in "${NATS_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  NATS_PIDS=()
}

# CPU seconds (user + system) a process has used so far.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# cpu_snapshot <label> <pid…>: the summed CPU seconds of those processes, kept under the label.
declare -A CPU
cpu_snapshot() { local label=$1 total=0 p; shift; for p in "$@"; do total=$(echo "$total + $(cpu_of "$p")" | bc); done; CPU[$label]=$total; }

gen() {
  $BIN/anomalyforge-loadgen --token "$TOKEN" --json --duration-secs "$SECONDS_MAX" \
    --data data/cicids2017/improved_train.csv.gz "$@"
}
throughput() { gen --url "$1" --flows "$FLOWS" --rate 0 --batch 10000 --concurrency 4; }
steady() {
  AF_LOADGEN_PASSWORD="bench analyst password" gen --url "$1" --stream-url "$2" --flows $((10000 * SECONDS_MAX)) \
    --rate 10000 --batch 1000 --concurrency 4 --stream-user bench.analyst
}
A=http://127.0.0.1:$PORT
B=http://127.0.0.1:$PORT_B
declare -A OUT

echo "# sqlite: one instance, in-process queue"
export DATABASE_URL=$SQLITE_URL TOKEN=$SQLITE_TOKEN
start "$PORT"; SERVER_PID=$LAST_PID
cpu_snapshot sqlite_before "$SERVER_PID"
OUT[sqlite_tp]=$(throughput "$A"); echo "${OUT[sqlite_tp]}"
cpu_snapshot sqlite_after "$SERVER_PID"
stop_all; start "$PORT"; SERVER_PID=$LAST_PID
OUT[sqlite_lat]=$(steady "$A" "$A"); echo "${OUT[sqlite_lat]}"
stop_all

echo "# postgres: one instance, in-process queue"
for run in tp lat; do
  export DATABASE_URL; DATABASE_URL=$(pg_database "pg_$run")
  TOKEN=$($BIN/anomalyforge token create --name loadgen --scope ingest,read 2>/dev/null); export TOKEN
  start "$PORT"; SERVER_PID=$LAST_PID
  if [ $run = tp ]; then
    cpu_snapshot pg_before "$SERVER_PID"; cpu_snapshot pgdb_before $(pgrep -f "postgres" | tr '\n' ' ')
    OUT[pg_tp]=$(throughput "$A"); echo "${OUT[pg_tp]}"
    cpu_snapshot pg_after "$SERVER_PID"; cpu_snapshot pgdb_after $(pgrep -f "postgres" | tr '\n' ' ')
  else OUT[pg_lat]=$(steady "$A" "$A"); echo "${OUT[pg_lat]}"; fi
  stop_all
done

echo "# cluster: two instances on PostgreSQL, NATS JetStream bus on 3 nodes (replicas 3)"
for run in tp lat; do
  export DATABASE_URL; DATABASE_URL=$(pg_database "nats_$run")
  TOKEN=$($BIN/anomalyforge token create --name loadgen --scope ingest,read 2>/dev/null); export TOKEN
  start_nats "$run"
  start "$PORT" AF_BUS="$BUS_URL" AF_BUS__REPLICAS=3; SERVER_PID=$LAST_PID
  start "$PORT_B" AF_BUS="$BUS_URL" AF_BUS__REPLICAS=3; SERVER_B_PID=$LAST_PID
  if [ $run = tp ]; then
    cpu_snapshot nodes_before "$SERVER_PID" "$SERVER_B_PID"; cpu_snapshot nats_before "${NATS_PIDS[@]}"
    cpu_snapshot natsdb_before $(pgrep -f "postgres" | tr '\n' ' ')
    OUT[nats_tp]=$(throughput "$A,$B"); echo "${OUT[nats_tp]}"
    cpu_snapshot nodes_after "$SERVER_PID" "$SERVER_B_PID"; cpu_snapshot nats_after "${NATS_PIDS[@]}"
    cpu_snapshot natsdb_after $(pgrep -f "postgres" | tr '\n' ' ')
  else OUT[nats_lat]=$(steady "$A" "$B"); echo "${OUT[nats_lat]}"; fi
  stop_all
  stop_nats
done

echo "# cluster1: two instances on PostgreSQL, NATS JetStream bus on 1 node (replicas 1), throughput"
export DATABASE_URL; DATABASE_URL=$(pg_database "nats1_tp")
TOKEN=$($BIN/anomalyforge token create --name loadgen --scope ingest,read 2>/dev/null); export TOKEN
start_nats one 1
start "$PORT" AF_BUS="$BUS_URL" AF_BUS__REPLICAS=1; SERVER_PID=$LAST_PID
start "$PORT_B" AF_BUS="$BUS_URL" AF_BUS__REPLICAS=1; SERVER_B_PID=$LAST_PID
cpu_snapshot nodes1_before "$SERVER_PID" "$SERVER_B_PID"; cpu_snapshot nats1_before "${NATS_PIDS[@]}"
OUT[nats1_tp]=$(throughput "$A,$B"); echo "${OUT[nats1_tp]}"
cpu_snapshot nodes1_after "$SERVER_PID" "$SERVER_B_PID"; cpu_snapshot nats1_after "${NATS_PIDS[@]}"
stop_all
stop_nats

cpu_used() { echo "$(echo "${CPU[$1_after]} - ${CPU[$1_before]}" | bc)"; }
echo "{\"cpu_secs\":{\"sqlite_server\":$(cpu_used sqlite),\"pg_server\":$(cpu_used pg),\"pg_database\":$(cpu_used pgdb),\"cluster_servers\":$(cpu_used nodes),\"cluster_nats\":$(cpu_used nats),\"cluster_database\":$(cpu_used natsdb),\"cluster1_servers\":$(cpu_used nodes1),\"cluster1_nats\":$(cpu_used nats1)}}" > "$WORK/cpu.json"
cat "$WORK/cpu.json"
python3 - "$WORK/cpu.json" "${OUT[nats1_tp]}" "${OUT[sqlite_tp]}" "${OUT[pg_tp]}" "${OUT[nats_tp]}" "${OUT[sqlite_lat]}" "${OUT[pg_lat]}" "${OUT[nats_lat]}" <<'PY'
import json, os, sys
cpu = json.load(open(sys.argv[1]))["cpu_secs"]
n1 = json.loads(sys.argv[2])
sq, pg, nt, lsq, lpg, lnt = (json.loads(a) for a in sys.argv[3:])
cores = os.cpu_count()
print(f"# stored flows/s: sqlite {sq['flows_per_second']:.0f}, postgres {pg['flows_per_second']:.0f}, "
      f"2 instances + NATS {nt['flows_per_second']:.0f} (all on {cores} cores: "
      f"{sq['flows_per_second']/cores:.0f} / {pg['flows_per_second']/cores:.0f} / {nt['flows_per_second']/cores:.0f} per core)")
r_pg = pg['flows_per_second'] / sq['flows_per_second']
r_bus = nt['flows_per_second'] / pg['flows_per_second']
print(f"# postgres / sqlite = {r_pg:.2f} (target >= 0.50): {'PASS' if r_pg >= 0.5 else 'FAIL'}")
print(f"# bus cost: 1 - (2 instances + NATS) / postgres = {1 - r_bus:.2f} (target <= 0.25): {'PASS' if 1 - r_bus <= 0.25 else 'FAIL'}")
for name, l in (("sqlite", lsq), ("postgres", lpg), ("cluster, other instance", lnt)):
    print(f"# steady 10k flows/s, {name}: batch -> alert event p50 {l['stream_latency_ms_p50']} / p99 {l['stream_latency_ms_p99']} / max {l['stream_latency_ms_max']} ms ({l['stream_alert_events']} events)")
p99 = lnt['stream_latency_ms_p99']
us = lambda secs, flows: secs / flows * 1e6
print(f"# CPU per stored flow in the throughput runs (server processes; PostgreSQL; NATS): "
      f"sqlite {us(cpu['sqlite_server'], sq['flows_accepted']):.1f} us; "
      f"postgres {us(cpu['pg_server'], pg['flows_accepted']):.1f} + {us(cpu['pg_database'], pg['flows_accepted']):.1f} us; "
      f"cluster {us(cpu['cluster_servers'], nt['flows_accepted']):.1f} + {us(cpu['cluster_database'], nt['flows_accepted']):.1f} + {us(cpu['cluster_nats'], nt['flows_accepted']):.1f} us")
r_bus1 = n1['flows_per_second'] / pg['flows_per_second']
print(f"# 2 instances + 1 NATS node (replicas 1): {n1['flows_per_second']:.0f} stored flows/s; cost {1 - r_bus1:.2f}; "
      f"CPU per flow {us(cpu['cluster1_servers'], n1['flows_accepted']):.1f} us instances + {us(cpu['cluster1_nats'], n1['flows_accepted']):.1f} us NATS")
print(f"# cross-instance p99 {p99} ms (target <= 250): {'PASS' if p99 is not None and p99 <= 250 else 'FAIL'}")
PY
