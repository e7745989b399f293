#!/usr/bin/env bash
# Responsiveness of the SOC console in Chromium while the live stream delivers alerts (release
# server and release WASM, on THIS machine): alert events per second reaching the page, long tasks
# on the browser's main thread, and the time from a keypress (j) to the cursor moving.
# See end2end/bench/soc-live.mjs. SECONDS_MAX (default 30) bounds the measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release
scripts/setup.sh test
export CARGO_INCREMENTAL=0
scripts/build-site.sh --release
AF_SERVER_BIN=target/release/anomalyforge-server node end2end/bench/soc-live.mjs
