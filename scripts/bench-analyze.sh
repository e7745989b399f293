#!/usr/bin/env bash
# Memory benchmark of file analysis on THIS machine (loopback only), release build, SQLite: a large
# CICFlowMeter CSV is uploaded to `POST /api/v1/analyses` by a signed-in analyst and streamed through
# the analyser; the claim checked is that the server's memory stays bounded whatever the file size.
#
#   file       SIZE_MB (default 500) MB (10^6 bytes) of plain CSV made in the temporary directory from
#              data/cicids2017/improved_train.csv.gz: its header once, then its rows over and over
#              until the size is reached (streamed, never held in memory; it ends at a line boundary).
#   scenarios  `csv`: the plain file; `csv.gz`: the same file through `gzip -1`. Each on a fresh server
#              (AF_REPLAY__AUTOSTART=false, AF_DATA_DIR in the temporary directory), so each peak is its own.
#   memory     rss_idle_mib: the server's VmRSS after start-up and sign-in (idle, model loaded);
#              peak_rss_mib: its VmHWM after the upload (the kernel's high-water mark since start, so a
#              start-up transient would count against the bound: conservative); sampled_peak_rss_mib:
#              the highest VmRSS seen every 0.5 s during the upload; growth_mib = peak - idle.
#   speed      seconds of the upload request (curl's time_total: the analysis is done when it answers);
#              mb_per_s = file_bytes / 10^6 / seconds (of the file as sent, so gzip counts its
#              compressed bytes); rows_per_s compares the two scenarios.
#
# Prints one JSON object per scenario, then the bound checked: exit status 1 if any scenario's growth
# exceeds MAX_GROWTH_MIB (default 256) MiB, or if an upload fails.
# The upload limit (AF_ANALYSIS__MAX_UPLOAD_BYTES, default 512 MiB) is raised when the file is larger.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-500}
MAX_GROWTH_MIB=${MAX_GROWTH_MIB:-256}
PORT=${PORT:-3911}
SOURCE_CSV=data/cicids2017/improved_train.csv.gz
source scripts/bench-common.sh
URL="http://127.0.0.1:$PORT"

# --- the file -----------------------------------------------------------------------------------
CSV=$WORK/bench.csv
TARGET=$((SIZE_MB * 1000 * 1000))
echo "# generating ${SIZE_MB} MB of CICFlowMeter CSV from $SOURCE_CSV"
# (head and awk stop reading early, so zcat/tail end on SIGPIPE: pipefail is off for those pipelines.)
( set +o pipefail; zcat "$SOURCE_CSV" | head -n 1 ) > "$CSV"
while :; do
  have=$(stat -c %s "$CSV")
  [ "$have" -lt "$TARGET" ] || break
  # One more pass over the rows, stopping before the line that would cross the target.
  ( set +o pipefail
    zcat "$SOURCE_CSV" | tail -n +2 \
      | LC_ALL=C awk -v left=$((TARGET - have)) '{ n += length($0) + 1; if (n > left) exit; print }' >> "$CSV" )
  # A target that no whole line fits into any more is reached.
  [ "$(stat -c %s "$CSV")" -gt "$have" ] || break
done
FILE_BYTES=$(stat -c %s "$CSV")
ROWS=$(( $(wc -l < "$CSV") - 1 ))
[ "$(tail -c 1 "$CSV" | od -An -c | tr -d ' ')" = '\n' ] || { echo "the file does not end with a newline" >&2; exit 1; }
echo "# file: $FILE_BYTES bytes, $ROWS rows (+ header)"
gzip -1 -c "$CSV" > "$CSV.gz"
GZ_BYTES=$(stat -c %s "$CSV.gz")
echo "# gzip -1: $GZ_BYTES bytes"

# The upload limit must let the larger file through (the expansion limit must stay above it).
DEFAULT_LIMIT=536870912
if [ "$FILE_BYTES" -gt "$DEFAULT_LIMIT" ]; then
  export AF_ANALYSIS__MAX_UPLOAD_BYTES=$((FILE_BYTES + 1048576))
  export AF_ANALYSIS__MAX_EXPANDED_BYTES=$(( FILE_BYTES * 2 > 4294967296 ? FILE_BYTES * 2 : 4294967296 ))
fi

# --- the server -----------------------------------------------------------------------------------
start_server() {
  AF_BIND=127.0.0.1:$PORT AF_SITE_ROOT=$WORK/site AF_DATA_DIR=$WORK/data AF_REPLAY__AUTOSTART=false \
    $BIN/anomalyforge-server >> "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  wait_healthy
}
proc_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
sign_in() {
  rm -f "$WORK/jar"
  curl -fsS -o /dev/null -c "$WORK/jar" -b "$WORK/jar" "$URL/api/auth/login" \
    --data-urlencode username=bench.analyst --data-urlencode "password=bench analyst password" \
    || { echo "signing in as bench.analyst failed" >&2; tail -n 20 "$WORK/server.log" >&2; exit 1; }
}
# The highest VmRSS (KiB) every 0.5 s into $WORK/rss.max, until killed or the server is gone.
sample_rss() {
  local max=0 v
  while v=$(proc_kib VmRSS 2>/dev/null) && [ -n "$v" ]; do
    [ "$v" -gt "$max" ] && max=$v && echo "$max" > "$WORK/rss.max"
    sleep 0.5
  done
}

FAILED=0
# $1: scenario name, $2: file to upload.
run_scenario() {
  local scenario=$1 file=$2 bytes idle_kib sampler out code secs hwm_kib sampled_kib
  bytes=$(stat -c %s "$file")
  echo "# scenario $scenario: uploading $bytes bytes"
  start_server
  sign_in
  sleep 1
  idle_kib=$(proc_kib VmRSS)
  echo "# idle: VmRSS $(mib "$idle_kib") MiB, VmHWM $(mib "$(proc_kib VmHWM)") MiB"
  echo 0 > "$WORK/rss.max"
  sample_rss &
  sampler=$!
  out=$(curl -sS -o "$WORK/reply.json" -w '%{http_code} %{time_total}' -b "$WORK/jar" -H 'Expect:' \
          -H 'content-type: application/octet-stream' --data-binary "@$file" \
          "$URL/api/v1/analyses?name=$(basename "$file")&format=csv") || out="000 0"
  read -r code secs <<<"$out"
  hwm_kib=$(proc_kib VmHWM)
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  sampled_kib=$(cat "$WORK/rss.max")
  if [ "$code" != 200 ]; then
    echo "# $scenario: upload failed: HTTP $code: $(cat "$WORK/reply.json" 2>/dev/null)" >&2
    tail -n 20 "$WORK/server.log" >&2
    stop_server
    FAILED=1
    return
  fi
  jq -c --arg scenario "$scenario" --argjson file_bytes "$bytes" --argjson rows "$ROWS" --argjson secs "$secs" \
     --argjson idle "$idle_kib" --argjson hwm "$hwm_kib" --argjson sampled "$sampled_kib" '
    def r1: . * 10 | round / 10;
    {scenario: $scenario, file_bytes: $file_bytes, rows: $rows, records, rejected, alerts,
     seconds: ($secs | r1), mb_per_s: ($file_bytes / 1e6 / $secs | r1), rows_per_s: ($rows / $secs | round),
     rss_idle_mib: ($idle / 1024 | r1), peak_rss_mib: ($hwm / 1024 | r1),
     sampled_peak_rss_mib: ($sampled / 1024 | r1), growth_mib: (($hwm - $idle) / 1024 | r1), id}' \
    "$WORK/reply.json" | tee -a "$WORK/results.jsonl"
  stop_server
}

run_scenario csv "$CSV"
run_scenario csv.gz "$CSV.gz"

# --- the bound --------------------------------------------------------------------------------------
[ -s "$WORK/results.jsonl" ] || { echo "# no scenario finished" >&2; exit 1; }
jq -s -r --argjson max "$MAX_GROWTH_MIB" --argjson failed "$FAILED" --argjson rows "$ROWS" --argjson bytes "$FILE_BYTES" '
  (map(.growth_mib) | max) as $g
  | (map(select(.records + .rejected != $rows)) | length) as $short
  | "# memory bound: peak - idle <= \($max) MiB over a \($bytes / 1e6 | round)-MB CSV: "
    + (if $g <= $max and $failed == 0 then "PASS" else "FAIL" end)
    + " (largest growth \($g) MiB: " + (map("\(.scenario) \(.growth_mib)") | join(", ")) + ")"
    + (if $short > 0 then "; WARN: \($short) scenario(s) read fewer records than the file has rows" else "" end)' \
  "$WORK/results.jsonl"
jq -s -e --argjson max "$MAX_GROWTH_MIB" 'map(.growth_mib) | max <= $max' "$WORK/results.jsonl" >/dev/null \
  && [ "$FAILED" = 0 ]
