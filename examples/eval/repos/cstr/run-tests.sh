#!/bin/sh
# Builds and runs each test file (all of tests/test_*.c, or those given) on its own, printing TAP. A
# file that does not compile or a test that dies is a "not ok" line, and the others still run.
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ $# -gt 0 ] || set -- tests/test_*.c
status=0
for t in "$@"; do
  if ! cc -std=c99 -Wall -Iinclude -Itests -o "$out/t" src/*.c "$t" 2> "$out/cc.log"; then
    cat "$out/cc.log" >&2
    echo "not ok - $t: does not compile"
    status=1
    continue
  fi
  (cd "$out" && ./t) || { echo "not ok - $t: died (exit $?)"; status=1; }
done
exit $status
