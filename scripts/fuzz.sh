#!/usr/bin/env bash
# Fuzzes every input parser with cargo-fuzz (libFuzzer + AddressSanitizer), one target after the
# other, each for the given time on one core: CICFlowMeter CSV (both layouts), Zeek TSV and JSON,
# Suricata EVE, flow JSON, the asset CSV import, the threat-intel import (plain, CSV, STIX, MISP), the
# hunt filter syntax, the ingest bus's batch messages and the instances' shared site samples (the
# targets are in fuzz/fuzz_targets/). Prints per target how many inputs it
# ran, and exits non-zero, naming the saved input, when a target panicked, broke one of the
# invariants it asserts, hung or ran out of memory. Installs the nightly
# toolchain and cargo-fuzz first when they are missing. The first build is slow (every dependency is
# compiled with sanitizer instrumentation into fuzz/target/); set CARGO_BUILD_JOBS to limit it.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   seconds per target (default FUZZ_SECONDS, else 60);
#                                           every target unless some are named
#   FUZZ_RUNS=1000000 scripts/fuzz.sh       a number of executions per target instead of a time
# The corpus grows in fuzz/corpus/<target>/ (only the hand-written seed-* files are tracked); a crash
# is saved in fuzz/artifacts/<target>/ and replays with
#   cargo +nightly fuzz run -O -a <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${FUZZ_SECONDS:-60}}"
if [ $# -gt 0 ]; then shift; fi
case "$seconds" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
runs="${FUZZ_RUNS:-}"
# Optimised, with debug assertions and overflow checks (-a): an integer overflow in a parser is a crash.
build_flags=(-O -a)

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! rustup toolchain list | grep -q '^nightly'; then
  step "installing the nightly toolchain (cargo-fuzz needs it for the sanitizer flags)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  step "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

step "building the fuzz targets"
t0=$(date +%s)
cargo +nightly fuzz build "${build_flags[@]}"
echo "build took $(( $(date +%s) - t0 )) s"
# The binaries are run directly rather than through `cargo fuzz run`, which would rebuild before each
# target whenever a source file changed meanwhile: every target fuzzes the code just built.
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir="fuzz/target/$triple/release"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"

logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
if [ -n "$runs" ]; then
  limit=(-runs="$runs") what="$runs runs"
else
  limit=(-max_total_time="$seconds") what="$seconds s"
fi
summary=()
failed=()
for t in "${targets[@]}"; do
  step "fuzzing $t ($what)"
  log="$logs/$t.log"
  # One process (no -jobs/-fork): the fuzzing stays on one core. An input running longer than 10 s
  # counts as a hang.
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  status=0
  "$bin_dir/$t" -artifact_prefix="fuzz/artifacts/$t/" "${limit[@]}" -timeout=10 -print_final_stats=1 \
    "fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ -n "$done_line" ]; then
    result="ok: $done_line"
  else
    result="${executed:-?} runs"
  fi
  if [ "$status" -ne 0 ]; then
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    tail -n 40 "$log"
    result="FAILED (exit $status) after $result; input saved as ${artifact:-?}; log $log"
    if [ -n "$artifact" ]; then echo "replay: cargo +nightly fuzz run ${build_flags[*]} $t $artifact"; fi
    failed+=("$t")
  fi
  echo "$t: $result"
  summary+=("$(printf '%-18s %s' "$t" "$result")")
done

step "summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashing targets: ${failed[*]}" >&2
  exit 1
fi
