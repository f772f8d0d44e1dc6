#!/bin/sh
# Install the Debian packages latent needs to build and test, only those missing.
set -eu
PKGS="build-essential cmake pkg-config libopenblas-dev liblapacke-dev zlib1g-dev libpng-dev libcjson-dev python3-numpy"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
