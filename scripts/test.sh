#!/bin/sh
# Runs the whole test suite (unit, sandbox, gRPC and end-to-end tests) with CTest.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARM_BUILD_DIR:-$root/build}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 600
