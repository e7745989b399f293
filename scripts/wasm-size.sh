#!/usr/bin/env bash
# Builds the release WASM (scripts/build-site.sh --release --wasm-only, with wasm-opt) and fails
# when its gzip -9 size is over the budget: 1 MB (1,000,000 bytes), or WASM_BUDGET_BYTES.
# What the bundle is made of and what was done to keep it small: README, "Bundle size".
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${WASM_BUDGET_BYTES:-1000000}"
bash scripts/setup.sh release
if [ -n "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
  # A RUSTFLAGS variable replaces .cargo/config.toml's flags, among them --cfg erase_components.
  echo "note: RUSTFLAGS is set, so .cargo/config.toml's --cfg erase_components is not used" >&2
fi
bash scripts/build-site.sh --release --wasm-only
gz=$(gzip -9 -c target/site/pkg/anomalyforge_bg.wasm | wc -c)
if [ "$gz" -gt "$budget" ]; then
  echo "FAIL: the release WASM is $gz bytes gzipped, over the budget of $budget" >&2
  exit 1
fi
echo "ok: the release WASM is $gz bytes gzipped, within the budget of $budget ($(( (budget - gz) * 100 / budget )) % to spare)"
