# Shared set-up of the benchmark scripts (sourced, not run): release binaries, a temporary SQLite
# database with a signed-in analyst account, and a server process that is always stopped on exit.
#   BIN      where the release binaries are
#   WORK     the temporary directory (removed on exit)
#   PORT     must be set by the caller
export CARGO_INCREMENTAL=0
# One build of both binaries (one feature resolution, so dependencies are compiled once).
cargo build --release -q -p anomalyforge -p server --features anomalyforge/server --bins
BIN=target/release

WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc"
export AF_ADMIN_PASSWORD="bench admin password" AF_LOG_FORMAT=json RUST_LOG=warn
$BIN/anomalyforge user list >/dev/null   # creates and migrates the database
AF_NEW_PASSWORD="bench analyst password" $BIN/anomalyforge user add bench.analyst --role analyst >/dev/null

# Waits until the server on $PORT answers /healthz (prints its log and fails after 30 s).
wait_healthy() {
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$WORK/server.log"; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
