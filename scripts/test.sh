#!/usr/bin/env bash
# Runs every test: unit and integration tests (storage on SQLite and on a real PostgreSQL), then
# the browser tests in Chromium against a freshly built server. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
scripts/setup.sh test

echo "==> format and lints"
# A fresh clone fails here first: one formatting, and no clippy warning anywhere in the workspace.
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

echo "==> PostgreSQL"
AF_TEST_POSTGRES_URL="$(scripts/postgres.sh)"
export AF_TEST_POSTGRES_URL AF_REQUIRE_POSTGRES=1

echo "==> nftables and Suricata (the response-feed tests parse their output with them)"
scripts/response-tools.sh
export AF_REQUIRE_RESPONSE_TOOLS=1
# The ingest bus tests start their own nats-server nodes; they must not be skipped here.
export AF_REQUIRE_NATS=1

echo "==> cargo test (workspace)"
t0=$(date +%s)
cargo test --workspace --no-fail-fast
echo "cargo test took $(( $(date +%s) - t0 )) s"

echo "==> server tests again, every server on PostgreSQL"
t0=$(date +%s)
AF_TEST_SERVER_BACKEND=postgres cargo test -p server --no-fail-fast
echo "server tests on PostgreSQL took $(( $(date +%s) - t0 )) s"

echo "==> browser tests (end2end/)"
# `cargo test --workspace` built target/debug/anomalyforge-server for server/tests; reuse it.
scripts/build-site.sh --wasm-only
AF_SERVER_BIN="${CARGO_TARGET_DIR:-target}/debug/anomalyforge-server" node --test --test-concurrency=1 end2end/tests/
echo "all tests passed in $(( $(date +%s) - started )) s"
