#!/bin/sh
# The unit suite (`ctest -L unit`: no swarm binary, no bubblewrap) under AddressSanitizer and
# UndefinedBehaviorSanitizer, built with clang 14 in build-asan/ (its own build directory: the flags
# differ from build/'s). Any report fails the run: ASan stops at the first error, and UBSan is built
# not to recover. Leak checking is on. Clang's thread-safety analysis runs on the way. The same build
# makes the fuzz targets (fuzz/; the code is compiled with the fuzzer's coverage), which
# scripts/fuzz.sh then runs.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARM_ASAN_BUILD_DIR:-$root/build-asan}
# -fno-sanitize=function: clang 14 cannot emit its check in coroutines ("Cannot represent a difference
# across sections").
# -Wthread-safety: members annotated ABSL_GUARDED_BY are touched only with their mutex held.
flags="-O0 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize=function -fno-sanitize-recover=all"
flags="$flags -Wthread-safety -Werror=thread-safety"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DSWARM_FUZZ=ON
fi
ninja -C "$build" -j"$(nproc)" unit_tests fuzzers
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" -L unit --output-on-failure -j"$(nproc)" --timeout 600
