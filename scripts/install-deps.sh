#!/bin/sh
# Installs the Debian 12 packages swarm needs to build, test and run, if any are missing.
set -eu
packages="build-essential cmake ninja-build ccache git bubblewrap pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost-dev libboost-system-dev libsqlite3-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libcli11-dev libssl-dev openssl
  libtomlplusplus-dev libre2-dev ca-certificates curl python3
  universal-ctags libseccomp-dev util-linux passwd"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: every package is installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
