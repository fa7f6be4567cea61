#!/bin/sh
# Installs the Debian 12 packages swarm needs to build, test and run, if any are missing. With
# --sanitizers, also clang 14 and its runtimes for scripts/sanitize.sh and scripts/fuzz.sh.
set -eu
extra=""
[ "${1:-}" = "--sanitizers" ] && extra="clang-14 libclang-rt-14-dev"
packages="$extra build-essential cmake ninja-build ccache git bubblewrap pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost-dev libboost-system-dev libsqlite3-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libcli11-dev libssl-dev openssl
  libtomlplusplus-dev libre2-dev zlib1g-dev ca-certificates curl python3 python3-pytest
  universal-ctags libseccomp-dev util-linux passwd slirp4netns sqlite3 prometheus tmux chromium"
# The dashboard's browser tests drive Debian's chromium with playwright-core, from npm: any node from 18 on.
command -v node >/dev/null 2>&1 || packages="$packages nodejs"
command -v npm >/dev/null 2>&1 || packages="$packages npm"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: every package is installed"
else
  echo "install-deps: installing$missing"
  # Package lists refreshed in the last hour (an earlier call of this script) are fresh enough.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
    $sudo apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
  # The prometheus package is here for its promtool (the metrics tests); its server is not wanted.
  case " $missing " in
    *" prometheus "*) $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true ;;
  esac
fi
# slirp4netns (--agent-network) opens /dev/net/tun as the user swarm runs as. udev makes it 0666 (the
# kernel checks CAP_NET_ADMIN over the network namespace, not the file); where udev does not run
# (containers, small VMs) it stays 0600, and only root could give a sandbox its network.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  $sudo chmod 0666 /dev/net/tun
  echo "install-deps: /dev/net/tun made 0666, as udev makes it"
fi
# playwright-core at the version tests/browser/package-lock.json pins, unless it is there already.
browser_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
pinned=$(sed -n 's/.*"playwright-core": "\([0-9.]*\)".*/\1/p' "$browser_tests/package.json")
installed=$(sed -n 's/^  "version": "\([0-9.]*\)".*/\1/p' "$browser_tests/node_modules/playwright-core/package.json" 2>/dev/null || true)
if [ "$installed" != "$pinned" ]; then
  echo "install-deps: installing playwright-core $pinned from npm (tests/browser)"
  (cd "$browser_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
