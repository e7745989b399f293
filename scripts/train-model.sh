#!/usr/bin/env bash
# Retrains the shipped detection models from the CIC-IDS2017 data in data/ (seeded, reproducible), then
# records the by-day and leave-one-family-out evaluations and the single-thread benchmark in the manifest.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=data/cicids2017/improved_train.csv.gz
OUT=${OUT:-models}
SEED=${SEED:-2017}
# Built as the bench scripts build it (one feature resolution with the server), so the release
# dependencies are compiled once for all of them.
cargo build --release -q -p anomalyforge -p server --features anomalyforge/server --bins
run() { target/release/anomalyforge "$@"; }
run train --data "$DATA" --out "$OUT" --seed "$SEED"
run eval --models "$OUT" --data "$DATA" --split random --record
for profile in cicflowmeter conn; do
  run eval --models "$OUT" --data "$DATA" --split by-day --profile "$profile" --record
  run eval --models "$OUT" --data "$DATA" --split leave-one-family-out --profile "$profile" --record
  RAYON_NUM_THREADS=1 run bench --models "$OUT" --data "$DATA" --threads 1 --profile "$profile" --record
done
# Detection on the shared labelled real-network logs (ensemble and behaviour detectors, host-pair level).
for logs in ../shared/data/logs/zeek-labelled \
  ../shared/data/logs/slips/test18-malicious-ctu-sme-11-win_zeek-labeled_conn.log.labeled; do
  if [ -e "$logs" ]; then run eval --models "$OUT" --data "$logs" --record; fi
done
