#!/bin/sh
# The unit suite (`ctest -L unit`) and a small end-to-end subset under ThreadSanitizer, built with
# clang 14 in build-tsan/. Any report fails the run (scripts/tsan.supp suppresses only gRPC's and
# abseil's own handoffs, and says why). Not part of .ci/run: the first run takes about 13 minutes on
# 2 cores (abseil, then swarm under TSan), a later one about 2 minutes of tests; run it after a change
# to anything that locks or shares. Under TSan every child process is forked (sandbox/process.cc).
#
# Debian's abseil is not built with TSan, and absl::Mutex locks by its own means, which TSan cannot
# see in an uninstrumented library: every member guarded by an absl::Mutex would look raced. So the
# first run builds Debian's own abseil source (`apt-get source`, the same version and patches, hence
# the same sonames) with TSan, as shared libraries in build-tsan/absl/, and the tests run with them
# first on the library path: swarm and gRPC (whose mutexes are absl's) alike lock through the
# instrumented absl::Mutex. That needs a deb-src line, which this adds if none is there.
#
#   scripts/tsan.sh                 the unit suite and the end-to-end subset
#   scripts/tsan.sh -R REGEX        only the tests matching REGEX
set -eu
if [ $# -gt 0 ] && { [ "$1" != "-R" ] || [ $# -ne 2 ]; }; then
  echo "usage: scripts/tsan.sh [-R REGEX]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARM_TSAN_BUILD_DIR:-$root/build-tsan}
absl=$build/absl
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=thread"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
"$root/scripts/install-deps.sh" --sanitizers
mkdir -p "$build"

if [ ! -f "$absl/lib/libabsl_synchronization.so.20220623" ]; then
  if ! version=$(dpkg-query -W -f='${Version}' libabsl20220623 2>/dev/null); then
    echo "tsan.sh: needs Debian 12's abseil (libabsl20220623), whose source it rebuilds under TSan" >&2
    exit 3
  fi
  if ! ls "$build"/abseil-src/abseil-*/CMakeLists.txt > /dev/null 2>&1; then
    # The source package of exactly that version: a deb-src line (added once), an index that has it.
    if ! grep -rqsE '^[[:space:]]*(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
        $sudo tee /etc/apt/sources.list.d/swarm-tsan-src.sources > /dev/null
    fi
    if ! apt-cache showsrc abseil 2> /dev/null | grep -q "^Version: $version\$"; then
      $sudo apt-get update -qq
    fi
    command -v dpkg-source > /dev/null || $sudo apt-get install -y -qq dpkg-dev
    rm -rf "$build/abseil-src"
    mkdir -p "$build/abseil-src"
    (cd "$build/abseil-src" && apt-get source -qq "abseil=$version")
  fi
  src=$(ls -d "$build"/abseil-src/abseil-*/ | head -1)
  cmake -S "$src" -B "$build/absl-build" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_INSTALL_PREFIX="$absl" -DCMAKE_INSTALL_LIBDIR=lib
  ninja -C "$build/absl-build" -j"$(nproc)" install > "$build/absl-build.log" 2>&1 ||
    { tail -30 "$build/absl-build.log"; exit 1; }
fi

if [ ! -f "$build/swarm/build.ninja" ]; then
  cmake -S "$root" -B "$build/swarm" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_PREFIX_PATH="$absl"
fi
# The end-to-end subset: runs of command agents landing shards and a group, a coordinator killed at
# each named point and its run resumed, LLM agents through the gateway, a command agent's model
# endpoint, and a cancel while a model call hangs: where the coordinator's, the hosts' and the
# gateway's threads meet. (Tests that time a kill against agents, such as
# CrashTest.HostKilledWhileHolding..., assume the speed of a normal build and are left out.)
subset='^(E2eTest\.(TwoHostsLand|CrossFileRename)|CrashTest\.UninterruptedRun|KillPoints/CoordinatorKillTest\.|ModelRunTest\.(AnAgentAsks|ACommandAgentCalls|ACancelWhileAModelCall))'
ninja -C "$build/swarm" -j"$(nproc)" unit_tests swarm swarm-agent e2e_test crash_test model_run_test
export LD_LIBRARY_PATH="$absl/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 suppressions=$root/scripts/tsan.supp"
if [ "${1:-}" = "-R" ]; then
  ctest --test-dir "$build/swarm" -R "$2" --output-on-failure -j"$(nproc)" --timeout 1200
else
  ctest --test-dir "$build/swarm" -L unit --output-on-failure -j"$(nproc)" --timeout 1200
  ctest --test-dir "$build/swarm" -R "$subset" --output-on-failure -j"$(nproc)" --timeout 1200
fi
