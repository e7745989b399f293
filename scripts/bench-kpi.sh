#!/usr/bin/env bash
# The KPI benchmark on THIS machine (not run in CI): a SQLite database with ALERTS alerts over DAYS
# days (default 1,000,000 over 60), then the `/exec` KPI request timed per range:
#   1. in-process: `anomalyforge kpi bench` (the storage work of the `kpi/report` server function,
#      at the time the history ends), p50 / p95 / max over RUNS runs;
#   2. over HTTP: `POST /api/kpi/report` as a signed-in executive against the server on that
#      database (session check, queries, JSON), p50 / p95 / max over RUNS requests.
# The database is kept in target/kpi-bench/ and made again when it is older than 6 hours (the HTTP
# figures use the current time, so the history must end about now).
set -euo pipefail
cd "$(dirname "$0")/.."
ALERTS=${ALERTS:-1000000}
DAYS=${DAYS:-60}
RUNS=${RUNS:-50}
PORT=${PORT:-3908}
PROFILE=${PROFILE:-release}
export CARGO_INCREMENTAL=0

if [ "$PROFILE" = release ]; then FLAG=--release; BIN=target/release; else FLAG=; BIN=target/debug; fi
# One build of both binaries (one feature resolution, so dependencies are compiled once).
cargo build $FLAG -q -p anomalyforge -p server --features anomalyforge/server --bin anomalyforge --bin anomalyforge-server

DIR=target/kpi-bench
DB="$DIR/kpi-$ALERTS.db"
mkdir -p "$DIR"
if [ -f "$DB" ] && [ -n "$(find "$DB" -mmin +360)" ]; then rm -f "$DB" "$DB-wal" "$DB-shm"; fi
if [ ! -f "$DB" ]; then
  echo "# generating $ALERTS alerts over $DAYS days into $DB"
  /usr/bin/time -f "# generation: %e s wall, %M KiB peak memory" \
    $BIN/anomalyforge kpi generate --database "sqlite://$DB?mode=rwc" --alerts "$ALERTS" --days "$DAYS"
fi
ls -l "$DB" | awk '{ printf "# database file: %.0f MiB\n", $5 / 1048576 }'

echo "# in-process ($PROFILE build)"
$BIN/anomalyforge kpi bench --database "sqlite://$DB" --runs "$RUNS"

WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# An executive account of the benchmark's own (demo mode refuses a database with real accounts,
# and the generated reports have reporters).
DATABASE_URL="sqlite://$DB" AF_NEW_PASSWORD="bench executive password" $BIN/anomalyforge user add bench.executive --role executive >/dev/null 2>&1 || true
DATABASE_URL="sqlite://$DB" AF_INGEST=false AF_BIND=127.0.0.1:$PORT AF_SITE_ROOT=$WORK/site RUST_LOG=warn \
  $BIN/anomalyforge-server > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$WORK/server.log"; exit 1; }
curl -fsS -c "$WORK/jar" -o /dev/null -d username=bench.executive --data-urlencode "password=bench executive password" "http://127.0.0.1:$PORT/api/auth/login"

echo "# over HTTP ($PROFILE server, POST /api/kpi/report as bench.executive, $RUNS requests after 2 warm-up)"
printf '%-6s %9s %9s %9s %11s\n' range "p50 ms" "p95 ms" "max ms" "JSON bytes"
for range in 24h 7d 30d; do
  for _ in 1 2; do curl -fsS -o /dev/null -b "$WORK/jar" -d range=$range "http://127.0.0.1:$PORT/api/kpi/report"; done
  for _ in $(seq 1 "$RUNS"); do
    curl -fsS -o /dev/null -b "$WORK/jar" -d range=$range -w '%{time_total} %{size_download}\n' "http://127.0.0.1:$PORT/api/kpi/report"
  done | sort -n | awk -v r=$range '{ t[NR] = $1 * 1000; s = $2 } END {
      p50 = t[int((NR - 1) * 0.5 + 1.5)]; p95 = t[int((NR - 1) * 0.95 + 1.5)];
      printf "%-6s %9.2f %9.2f %9.2f %11d\n", r, p50, p95, t[NR], s }'
done
