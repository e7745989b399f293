#!/usr/bin/env bash
# Builds the server binary and the hydrated WASM site with plain cargo + wasm-bindgen (what
# cargo-leptos does, without needing cargo-leptos). Output: target/site (pkg/, public files) and
# target/{debug,release}/anomalyforge-server. Prints the WASM's size, raw and gzipped.
#   scripts/build-site.sh             – dev profile (dependencies optimised, quick to rebuild)
#   scripts/build-site.sh --release   – release server, size-optimised WASM (wasm-opt if on PATH)
#   scripts/build-site.sh --wasm-only – only the site (combine with --release for the release WASM);
#                                       scripts/test.sh uses the server binary that
#                                       `cargo test --workspace` already built for the integration tests
# Budget: scripts/wasm-size.sh builds the release WASM and fails when it is over 1 MB gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
if [ -d target/tools/node_modules/.bin ]; then export PATH="$PWD/target/tools/node_modules/.bin:$PATH"; fi
release=0 wasm_only=0
for arg in "$@"; do
  case "$arg" in
    --release) release=1 ;;
    --wasm-only) wasm_only=1 ;;
    *) echo "usage: $0 [--release] [--wasm-only]" >&2; exit 2 ;;
  esac
done
if [ "$release" = 1 ]; then
  server_profile=(--release); wasm_profile=(--profile wasm-release); wasm_dir=wasm-release
else
  server_profile=(); wasm_profile=(); wasm_dir=debug
fi
[ "$wasm_only" = 1 ] || cargo build -p server --bin anomalyforge-server "${server_profile[@]}"
cargo build -p app --lib --target wasm32-unknown-unknown --features hydrate "${wasm_profile[@]}"
site=target/site
wasm="$site/pkg/anomalyforge_bg.wasm"
rm -rf "$site/pkg" && mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name anomalyforge \
  "$target_dir/wasm32-unknown-unknown/$wasm_dir/app.wasm"
if [ "$release" = 1 ]; then
  if command -v wasm-opt >/dev/null; then
    # Without inlining-optimizing: with it -Oz writes a smaller file (4.03 MB instead of 4.19) that
    # gzips 15 % worse (1.38 MB instead of 1.20), as it copies single-use functions into their
    # callers and breaks up the runs of similar generic code that gzip matches (README, "Bundle size").
    wasm-opt -Oz --skip-pass=inlining-optimizing --enable-bulk-memory --enable-nontrapping-float-to-int -o "$wasm" "$wasm"
  else
    echo "wasm-opt not on PATH (bash scripts/setup.sh release installs it): the WASM is not optimised" >&2
  fi
fi
cp style/main.css "$site/pkg/anomalyforge.css"
cp -R public/. "$site/"
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }
echo "site built in $site ($(du -sh "$site/pkg" | cut -f1) in pkg/)"
echo "WASM ($wasm_dir): $(mb "$raw") raw ($raw bytes), $(mb "$gz") gzipped ($gz bytes, gzip -9)"
