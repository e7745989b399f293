#!/usr/bin/env bash
# Installs what this machine lacks to build, run and test AnomalyForge. Idempotent: every step
# checks first and does nothing when the tool is already there.
#   scripts/setup.sh build   – wasm32 target and wasm-bindgen-cli 0.2.130 (pinned like the crate)
#   scripts/setup.sh test    – build, plus Chromium, Node packages for end2end/, PostgreSQL, nats-server
#   scripts/setup.sh release – build, plus wasm-opt 132 from npm's binaryen into target/tools
#                              (Debian's binaryen 108 produces a WASM that breaks hydration)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"
WASM_BINDGEN_VERSION=0.2.130

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ "$what" = test ]; then
  if [ ! -x /usr/bin/chromium ]; then
    step "installing Chromium from Debian for the browser tests"
    apt_install chromium
  fi
  if [ ! -d end2end/node_modules/playwright-core ]; then
    step "installing playwright-core for the browser tests"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    step "installing PostgreSQL from Debian for the storage tests"
    apt_install postgresql
  fi
  if ! command -v nats-server >/dev/null 2>&1; then
    step "installing nats-server (JetStream) from Debian for the ingest bus tests"
    apt_install nats-server
  fi
fi

if [ "$what" = release ]; then
  if [ ! -x target/tools/node_modules/.bin/wasm-opt ]; then
    step "installing wasm-opt (npm binaryen 132) into target/tools"
    mkdir -p target/tools
    npm install --prefix target/tools --no-audit --no-fund --loglevel=error binaryen@132 >/dev/null
  fi
fi
