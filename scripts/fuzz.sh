#!/bin/sh
# Runs every fuzz target of fuzz/ for SECONDS each (default 30), starting from its seed corpus in
# fuzz/corpus/ (copied: what a run finds stays out of the repository). Needs the build of
# scripts/sanitize.sh. A crash, a leak, undefined behaviour or a time-out stops that target and fails
# the run; the input that did it is kept in $SWARM_FUZZ_OUT (default /tmp/swarm-fuzz) and named in the
# output: add it to the target's corpus with the fix, as its regression test.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARM_ASAN_BUILD_DIR:-$root/build-asan}
seconds=${1:-30}
out=${SWARM_FUZZ_OUT:-/tmp/swarm-fuzz}
rm -rf "$out"
mkdir -p "$out"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=""
for corpus in "$root"/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  binary="$build/fuzz/$name"
  if [ ! -x "$binary" ]; then
    echo "fuzz: $binary is missing: run scripts/sanitize.sh first" >&2
    exit 2
  fi
  # Test output reaches the parsers at up to 4 MiB a stream (and a JUnit report at up to 64 MiB); 1 MiB
  # inputs keep a run quick while exercising long ones. The rest are small documents.
  case "$name" in
    test_output_fuzz) max_len=1048576 ;;
    *) max_len=65536 ;;
  esac
  mkdir -p "$out/$name/corpus" "$out/$name/artifacts"
  cp "$corpus"/* "$out/$name/corpus/"
  if "$binary" "$out/$name/corpus" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$out/$name/artifacts/" -print_final_stats=1 > "$out/$name/log" 2>&1; then
    echo "fuzz: $name: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/$name/log" | grep -o '[0-9]*$') runs, no failure"
  else
    echo "fuzz: $name FAILED: $(ls "$out/$name/artifacts" | head -1); log: $out/$name/log" >&2
    tail -30 "$out/$name/log" >&2
    failed="$failed $name"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz: failed:$failed" >&2
  exit 1
fi
