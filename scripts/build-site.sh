#!/usr/bin/env bash
# Builds the server binary and the hydrated WASM site with plain cargo + wasm-bindgen (what
# cargo-leptos does, without needing cargo-leptos). Output: target/site (pkg/, public files) and
# target/{debug,release}/anomalyforge-server.
#   scripts/build-site.sh            – dev profile (dependencies optimised, quick to rebuild)
#   scripts/build-site.sh --release  – release server, size-optimised WASM (wasm-opt if on PATH)
#   scripts/build-site.sh --wasm-only – only the site; scripts/test.sh uses the server binary that
#                                       `cargo test --workspace` already built for the integration tests
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
if [ -d target/tools/node_modules/.bin ]; then export PATH="$PWD/target/tools/node_modules/.bin:$PATH"; fi
if [ "${1:-}" = --release ]; then
  server_profile=(--release); wasm_profile=(--profile wasm-release); wasm_dir=wasm-release
else
  server_profile=(); wasm_profile=(); wasm_dir=debug
fi
[ "${1:-}" = --wasm-only ] || cargo build -p server --bin anomalyforge-server "${server_profile[@]}"
cargo build -p app --lib --target wasm32-unknown-unknown --features hydrate "${wasm_profile[@]}"
site=target/site
rm -rf "$site/pkg" && mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name anomalyforge \
  "$target_dir/wasm32-unknown-unknown/$wasm_dir/app.wasm"
if [ "${1:-}" = --release ] && command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int -o "$site/pkg/anomalyforge_bg.wasm" "$site/pkg/anomalyforge_bg.wasm"
fi
cp style/main.css "$site/pkg/anomalyforge.css"
cp -R public/. "$site/"
echo "site built in $site ($(du -sh "$site/pkg" | cut -f1) in pkg/)"
