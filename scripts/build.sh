#!/bin/sh
# Configures (once) and builds swarm into build/ with Ninja and ccache.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARM_BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWARM_WERROR="${SWARM_WERROR:-OFF}"
fi
ninja -C "$build" -j"$(nproc)"
