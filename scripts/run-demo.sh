#!/usr/bin/env bash
# One command from a fresh clone to a running AnomalyForge in demo mode on SQLite:
# installs what is missing, builds, and serves http://127.0.0.1:3000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
scripts/build-site.sh
export AF_DEMO="${AF_DEMO:-true}" AF_DATA_DIR="${AF_DATA_DIR:-var/demo}" AF_SITE_ROOT=target/site
exec "${CARGO_TARGET_DIR:-target}/debug/anomalyforge-server"
