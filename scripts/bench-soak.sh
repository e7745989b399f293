#!/usr/bin/env bash
# Soak test of the live pipeline on THIS machine (loopback only), release build, SQLite, one server:
# twice the sustained ingest rate offered for SOAK_SECONDS (default 600), checking that nothing
# acknowledged is lost and that memory stays bounded.
#
# Definitions
#   sustained rate  flows/s the server acknowledges (HTTP 200: scored, enriched and committed) when
#                   fed as fast as it accepts: SUSTAIN_SECONDS (default 60) of the loadgen at --rate 0,
#                   10,000-row batches, 4 in flight (the throughput scenario of bench-pipeline.sh), on
#                   the same server just before the soak (which also warms it up). `SUSTAINED=<flows/s>`
#                   skips the measurement and uses that figure instead.
#   soak load       the loadgen offers 2 x sustained flows/s on schedule (--rate) in SOAK_BATCH-row
#                   batches (default 5,000) from SOAK_CONCURRENCY senders. Default: enough senders to keep
#                   4 s of the offered flows in flight (rate x 4 / batch, at least 16), so the senders do
#                   not cap the offer while the server makes each request wait up to its 2-s
#                   `ingest_wait_ms`: at 2 x 80,000 flows/s that is 128 senders, 640,000 flows in flight
#                   against a 200,000-flow queue, so the server has to refuse the surplus. A refused
#                   batch (503, or 429) waits as `Retry-After` says and is sent again (the offer then runs
#                   behind schedule: a retrying sender is closed-loop); only 2xx answers count as
#                   acknowledged, with the `accepted` of their reply.
#   per minute      (every SAMPLE_SECONDS, default 60) one JSON line: the server's VmRSS and VmHWM
#                   (/proc/$SERVER_PID/status), ingest queue depth (`anomalyforge_queue_depth_flows` of
#                   /metrics), flows acknowledged in the minute and in all, 503s in the minute and in all,
#                   latency of the minute's acknowledged batches as the loadgen saw it (its
#                   `--report-every-secs` lines: `request_ms` = the 2xx request alone, `ack_ms` = first
#                   attempt to acknowledgement, 503 retries included), the server's mean arrival-to-commit
#                   time of the minute's batches (histogram sum/count deltas), flows stored (the
#                   `ingest_stats` rows in the database, read-only), and the CPU of the minute in cores:
#                   the server's, the loadgen's and everything else's on the machine (/proc/stat busy
#                   time minus those two: other work competing for the cores), with the load average and
#                   the number of rustc processes at the sample.
#
# Checks (each failure makes the exit status 1)
#   nothing lost    after the load stops and the queue is empty, the server is stopped and the database
#                   read: flows acknowledged to the loadgen (measurement + soak) must equal the flows
#                   stored, both as SUM(scored) of `ingest_stats` (one row per committed batch) and as
#                   SUM(flows) of `traffic_minute` (written in the same transaction); /metrics'
#                   `anomalyforge_flows_scored_total` before the stop is reported too and must agree.
#   clean answers   every request got an HTTP answer: 2xx, or a refusal (503/429) the sender can act on;
#                   none failed (other status, reset or closed connection; the loadgen prints the cause).
#   memory bounded  over the last RSS_WINDOW samples of the soak (default 5: minutes 6-10 of a 10-minute
#                   soak; samples after SOAK_SECONDS, while retries and queued requests finish, are shown
#                   as `drain` and not judged), max - min of VmRSS <= RSS_TOL_PCT % (default 10) of the
#                   window's first sample.
#   load held       the loadgen offered load for the whole SOAK_SECONDS (it stops early only at its
#                   50-million-flow cap or on an error). How much was refused (503/429) and how much
#                   acknowledged per second is reported, not judged (a WARN line when the soak's
#                   acknowledged rate is under half the sustained rate: goodput collapse under overload).
#
# Prints the per-minute JSON lines as they come, then a table of them, the verdicts and one final JSON
# summary. The machine may be shared: its load (loadavg, rustc processes) is part of every sample.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-60}
SUSTAIN_SECONDS=${SUSTAIN_SECONDS:-60}
SUSTAINED=${SUSTAINED:-}
SOAK_BATCH=${SOAK_BATCH:-5000}
SOAK_CONCURRENCY=${SOAK_CONCURRENCY:-}
RSS_WINDOW=${RSS_WINDOW:-5}
RSS_TOL_PCT=${RSS_TOL_PCT:-10}
PORT=${PORT:-3909}
WORKERS=${WORKERS:-2}
started_at=$(date +%s)
source scripts/bench-common.sh
# A token that may send flows and read /metrics (`--scope` on builds with token scopes).
TOKEN=$($BIN/anomalyforge token create --name soak --scope ingest,read 2>/dev/null) \
  || TOKEN=$($BIN/anomalyforge token create --name soak 2>/dev/null)
DB_FILE=$WORK/bench.db
URL="http://127.0.0.1:$PORT"

AF_BIND=127.0.0.1:$PORT AF_INGEST_WORKERS=$WORKERS AF_SITE_ROOT=$WORK/site AF_REPLAY__AUTOSTART=false \
  $BIN/anomalyforge-server >> "$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_healthy

metrics() {
  for _ in 1 2 3; do curl -fsS -m 10 -H "Authorization: Bearer $TOKEN" "$URL/metrics" > "$WORK/metrics.txt" && return 0; sleep 1; done
  return 1
}
metric() { awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print "null" }' "$WORK/metrics.txt"; }
# CPU snapshot: wall seconds, server ticks, loadgen ticks, machine busy ticks (all CPUs).
cpu_snap() {
  local gen_ticks=0
  [ -r "/proc/$GEN_PID/stat" ] && gen_ticks=$(awk '{ print $14 + $15 }' "/proc/$GEN_PID/stat" 2>/dev/null || echo 0)
  echo "$(date +%s.%N) $(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat") ${gen_ticks:-0} $(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat)"
}
CLK_TCK=$(getconf CLK_TCK)
proc_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }
db_sum() { # $1: SQL returning one number; read-only, waits for the writer
  python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro",uri=True,timeout=30); print(c.execute(sys.argv[2]).fetchone()[0] or 0)' "$DB_FILE" "$1"
}
gen() { $BIN/anomalyforge-loadgen --url "$URL" --token "$TOKEN" --server-pid "$SERVER_PID" --json --flows 50000000 "$@"; }

# 1. The sustained rate.
MEASURED_JSON=null
MEASURE_ACKED=0
if [ -z "$SUSTAINED" ]; then
  echo "# measuring the sustained rate: ${SUSTAIN_SECONDS} s as fast as accepted, 10,000-row batches, 4 in flight, $WORKERS pipeline workers"
  MEASURED_JSON=$(gen --duration-secs "$SUSTAIN_SECONDS" --rate 0 --batch 10000 --concurrency 4) \
    || { echo "# the measurement failed"; tail -20 "$WORK/server.log"; exit 1; }
  echo "$MEASURED_JSON"
  SUSTAINED=$(jq -r '.flows_per_second | floor' <<<"$MEASURED_JSON")
  MEASURE_ACKED=$(jq -r '.flows_accepted' <<<"$MEASURED_JSON")
  SUSTAINED_SOURCE=measured
else
  SUSTAINED_SOURCE=env
fi
RATE=$((2 * SUSTAINED))
if [ -z "$SOAK_CONCURRENCY" ]; then
  SOAK_CONCURRENCY=$(( (RATE * 4 + SOAK_BATCH - 1) / SOAK_BATCH ))
  [ "$SOAK_CONCURRENCY" -ge 16 ] || SOAK_CONCURRENCY=16
fi
echo "# soak: offering $RATE flows/s (2 x $SUSTAINED, $SUSTAINED_SOURCE) for $SOAK_SECONDS s, $SOAK_BATCH-row batches, $SOAK_CONCURRENCY senders; a sample every $SAMPLE_SECONDS s"

# 2. The soak, with a sample after each of the loadgen's interval reports.
# (The binary itself in the background, not the gen function: $! must be the loadgen's pid.)
$BIN/anomalyforge-loadgen --url "$URL" --token "$TOKEN" --server-pid "$SERVER_PID" --json --flows $((RATE * SOAK_SECONDS)) \
  --duration-secs "$SOAK_SECONDS" --rate "$RATE" --batch "$SOAK_BATCH" --concurrency "$SOAK_CONCURRENCY" \
  --report-every-secs "$SAMPLE_SECONDS" > "$WORK/soak.json" 2> "$WORK/soak.err" &
GEN_PID=$!
trap 'kill "$GEN_PID" 2>/dev/null || true; cleanup' EXIT
: > "$WORK/samples.jsonl"
metrics
prev_sum=$(metric anomalyforge_batch_latency_seconds_sum) prev_count=$(metric anomalyforge_batch_latency_seconds_count)
prev_cpu=$(cpu_snap)
k=0
while :; do
  k=$((k + 1))
  # Wait for the loadgen's k-th interval report (or for its end).
  while [ "$(grep -c '"interval":' "$WORK/soak.err" || true)" -lt "$k" ] && kill -0 "$GEN_PID" 2>/dev/null; do sleep 0.5; done
  line=$(grep '"interval":' "$WORK/soak.err" | sed -n "${k}p" || true)
  [ -n "$line" ] || break
  [ "$(jq -r .final <<<"$line")" = true ] && break   # the tail after the last full interval
  rss=$(proc_kib VmRSS) hwm=$(proc_kib VmHWM) cpu=$(cpu_snap)
  cores=$(echo "$prev_cpu $cpu" | awk -v hz="$CLK_TCK" '{ dt = $5 - $1; s = ($6 - $2) / hz / dt; g = ($7 - $3) / hz / dt; m = ($8 - $4) / hz / dt
    o = m - s - g; if (o < 0) o = 0; printf "{\"server\":%.2f,\"loadgen\":%.2f,\"other\":%.2f}", s, g, o }')
  metrics
  sum=$(metric anomalyforge_batch_latency_seconds_sum) count=$(metric anomalyforge_batch_latency_seconds_count)
  stored=$(db_sum "SELECT SUM(scored) FROM ingest_stats")
  sample=$(jq -c --argjson rss "$rss" --argjson hwm "$hwm" --argjson q "$(metric anomalyforge_queue_depth_flows)" \
    --argjson cap "$(metric anomalyforge_queue_capacity_flows)" --argjson scored "$(metric anomalyforge_flows_scored_total)" \
    --argjson stored "$stored" --argjson every "$SAMPLE_SECONDS" --argjson soak_secs "$SOAK_SECONDS" \
    --argjson srv_ms "$(awk -v s="$sum" -v ps="$prev_sum" -v c="$count" -v pc="$prev_count" 'BEGIN { if (c > pc) printf "%.1f", (s - ps) / (c - pc) * 1000; else print "null" }')" \
    --argjson cores "$cores" --argjson load "$(cut -d' ' -f1 /proc/loadavg)" --argjson rustc "$(pgrep -c -x rustc || true)" '{
      minute: .interval, phase: (if .t_secs <= $soak_secs + 1 then "soak" else "drain" end), t_secs, rss_mib: ($rss / 1024 | round), hwm_mib: ($hwm / 1024 | round),
      queue_depth: $q, queue_capacity: $cap,
      acked_flows: .acked_flows, acked_per_sec: (.acked_flows / $every | round), acked_total: .acked_flows_total,
      refused_503: .refused_503, refused_503_total, refused_429_total, errors_total,
      request_ms_p50, request_ms_p99, request_ms_max, ack_ms_p50, ack_ms_p99, ack_ms_max,
      server_batch_ms_mean: $srv_ms, server_scored_total: $scored, db_flows_stored: $stored,
      cpu_cores_server: $cores.server, cpu_cores_loadgen: $cores.loadgen, cpu_cores_other: $cores.other,
      loadavg_1m: $load, rustc_procs: $rustc }' <<<"$line")
  echo "$sample" | tee -a "$WORK/samples.jsonl"
  prev_sum=$sum prev_count=$count prev_cpu=$cpu
done
GEN_RC=0
wait "$GEN_PID" || GEN_RC=$?
grep '^ingest' "$WORK/soak.err" | sed 's/ (http[^)]*)//' | sort | uniq -c | sort -rn | head -5 | sed 's/^/# loadgen: /' || true
SOAK_JSON=$(cat "$WORK/soak.json")
[ -n "$SOAK_JSON" ] || SOAK_JSON=null
echo "$SOAK_JSON"
TAIL=$(grep '"interval":' "$WORK/soak.err" | grep '"final":true' | head -1 || true)
[ -n "$TAIL" ] || TAIL=null

# 3. Drain: the queue empty and the scored counter still.
drained=false
last=-1
for _ in $(seq 1 120); do
  metrics
  q=$(metric anomalyforge_queue_depth_flows) s=$(metric anomalyforge_flows_scored_total)
  if [ "$q" = 0 ] && [ "$s" = "$last" ]; then drained=true; break; fi
  last=$s
  sleep 1
done
METRICS_SCORED=$(metric anomalyforge_flows_scored_total)
METRICS_ACCEPTED=$(metric anomalyforge_ingest_accepted_total)
METRICS_FAILED=$(metric anomalyforge_batches_failed_total)
FINAL_RSS=$(( $(proc_kib VmRSS) / 1024 )) PEAK_RSS=$(( $(proc_kib VmHWM) / 1024 ))
stop_server
DB_INGEST=$(db_sum "SELECT SUM(scored) FROM ingest_stats")
DB_TRAFFIC=$(db_sum "SELECT SUM(flows) FROM traffic_minute")
SOAK_ACKED=$(jq -r '.flows_accepted // 0' <<<"$SOAK_JSON")
ACKED=$((MEASURE_ACKED + SOAK_ACKED))
ERRORS=$(( $(jq -r '.errors // 0' <<<"$MEASURED_JSON") + $(jq -r '.errors // 0' <<<"$SOAK_JSON") ))

# 4. Verdicts.
echo
echo "# per minute (* = drain: after SOAK_SECONDS, retries and queued requests finishing; RSS/HWM MiB; latency ms p50/p99 of acknowledged batches: request alone, and first try to ack incl. 503 retries)"
jq -r '[.minute, (if .phase == "drain" then "\(.t_secs)*" else .t_secs end), .rss_mib, .hwm_mib, .queue_depth, .acked_per_sec, .acked_total, .refused_503, .refused_503_total,
        "\(.request_ms_p50)/\(.request_ms_p99)", "\(.ack_ms_p50)/\(.ack_ms_p99)", .ack_ms_max, .server_batch_ms_mean, .db_flows_stored,
        "\(.cpu_cores_server)/\(.cpu_cores_loadgen)/\(.cpu_cores_other)", .loadavg_1m, .rustc_procs] | @tsv' "$WORK/samples.jsonl" \
  | awk 'BEGIN { FS = "\t"; printf "%3s %6s %6s %6s %7s %8s %10s %6s %8s %13s %15s %8s %8s %10s %15s %5s %5s\n",
          "min", "t_s", "RSS", "HWM", "queue", "acked/s", "acked", "503s", "503s_tot", "req_p50/p99", "ack_p50/p99", "ack_max", "srv_mean", "stored", "cpu srv/gen/oth", "load", "rustc" }
         { printf "%3s %6s %6s %6s %7s %8s %10s %6s %8s %13s %15s %8s %8s %10s %15s %5s %5s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 }'

SUMMARY=$(jq -s -c \
  --argjson sustained "$SUSTAINED" --arg sustained_source "$SUSTAINED_SOURCE" --argjson rate "$RATE" \
  --argjson soak_seconds "$SOAK_SECONDS" --argjson window "$RSS_WINDOW" --argjson every "$SAMPLE_SECONDS" --argjson tol "$RSS_TOL_PCT" \
  --argjson measured "$MEASURED_JSON" --argjson soak "$SOAK_JSON" --argjson tail "$TAIL" \
  --argjson acked "$ACKED" --argjson measure_acked "$MEASURE_ACKED" --argjson soak_acked "$SOAK_ACKED" \
  --argjson db_ingest "$DB_INGEST" --argjson db_traffic "$DB_TRAFFIC" --argjson m_scored "$METRICS_SCORED" \
  --argjson m_accepted "$METRICS_ACCEPTED" --argjson m_failed "$METRICS_FAILED" --argjson errors "$ERRORS" \
  --argjson drained "$drained" --argjson gen_rc "$GEN_RC" --argjson final_rss "$FINAL_RSS" --argjson peak_rss "$PEAK_RSS" \
  --argjson wall "$(( $(date +%s) - started_at ))" '
  . as $s
  | ($s | map(select(.phase == "soak") | .rss_mib) | .[-$window:]) as $w
  | (if ($w | length) == $window then (($w | max) - ($w | min)) else null end) as $spread
  | (if $spread == null then null else ($spread * 100 / $w[0] * 10 | round / 10) end) as $spread_pct
  | ($w | length) as $n
  | (if $n > 1 then ((($n - 1) / 2) as $mx | ($w | add / $n) as $my
       | ([range($n)] | map((. - $mx) * ($w[.] - $my)) | add) / ([range($n)] | map((. - $mx) * (. - $mx)) | add)
       | . * 60 / $every * 10 | round / 10) else null end) as $slope
  | {
      wall_secs: $wall, soak_seconds: $soak_seconds, sustained_flows_per_sec: $sustained, sustained_source: $sustained_source,
      offered_flows_per_sec: $rate, senders: $soak.concurrency, batch: $soak.batch, soak_ran_secs: $soak.seconds, soak_acked_per_sec: $soak.flows_per_second,
      goodput_pct_of_sustained: ($soak.flows_per_second * 1000 / $sustained | round / 10),
      minutes: ($s | length),
      acked_flows: $acked, acked_measurement: $measure_acked, acked_soak: $soak_acked,
      db_ingest_stats_scored: $db_ingest, db_traffic_minute_flows: $db_traffic,
      metrics_flows_scored_total: $m_scored, metrics_ingest_accepted_total: $m_accepted, metrics_batches_failed_total: $m_failed,
      refused_503_total: $soak.busy_retries, refused_429_total: $soak.refused_429, request_errors: $errors,
      loadgen_exit: $gen_rc, queue_drained: $drained,
      rss_window_mib: $w, rss_window_spread_mib: $spread, rss_window_spread_pct: $spread_pct, rss_tolerance_pct: $tol,
      rss_window_slope_mib_per_min: $slope, rss_final_mib: $final_rss, rss_peak_mib: $peak_rss,
      tail_after_last_minute: $tail, sustained_measurement: $measured,
      checks: {
        nothing_acknowledged_lost: ($acked == $db_ingest and $acked == $db_traffic and $acked == $m_scored and $drained),
        clean_answers: ($errors == 0 and $gen_rc == 0),
        memory_bounded: ($spread_pct != null and $spread_pct <= $tol),
        load_held: ($soak != null and $soak.seconds >= $soak_seconds - 5 and ($s | length) >= $window)
      }
    }
  | .pass = (.checks | all)' "$WORK/samples.jsonl")

echo
jq -r '"# nothing acknowledged lost: \(if .checks.nothing_acknowledged_lost then "PASS" else "FAIL" end) - acknowledged \(.acked_flows) (measurement \(.acked_measurement) + soak \(.acked_soak)); stored: ingest_stats \(.db_ingest_stats_scored), traffic_minute \(.db_traffic_minute_flows); /metrics scored \(.metrics_flows_scored_total), failed batches \(.metrics_batches_failed_total); queue drained \(.queue_drained)",
       "# clean answers: \(if .checks.clean_answers then "PASS" else "FAIL" end) - \(.request_errors) requests failed without an HTTP answer or with an unexpected status (loadgen exit \(.loadgen_exit))",
       "# memory bounded: \(if .checks.memory_bounded then "PASS" else "FAIL" end) - VmRSS of the last \(.rss_window_mib | length) samples \(.rss_window_mib) MiB: spread \(.rss_window_spread_mib) MiB = \(.rss_window_spread_pct) % (limit \(.rss_tolerance_pct) %), slope \(.rss_window_slope_mib_per_min) MiB/min; peak \(.rss_peak_mib) MiB",
       "# load held: \(if .checks.load_held then "PASS" else "FAIL" end) - offered \(.offered_flows_per_sec) flows/s for \(.soak_seconds) s (the loadgen ran \(.soak_ran_secs) s with retries), acknowledged \(.soak_acked_per_sec) flows/s = \(.goodput_pct_of_sustained) % of the sustained rate, \(.refused_503_total) batches refused with 503, \(.refused_429_total) with 429",
       (if .goodput_pct_of_sustained < 50 then "# WARN goodput collapse: under 2x overload the server acknowledged \(.goodput_pct_of_sustained) % of its sustained rate" else empty end),
       "# wall time \(.wall_secs) s (build, measurement, soak and drain)"' <<<"$SUMMARY"
echo "$SUMMARY"
[ "$(jq -r .pass <<<"$SUMMARY")" = true ]
