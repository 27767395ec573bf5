#!/usr/bin/env bash
# ensure-apt-package.sh PACKAGE PROGRAM WHY [optional]
# Makes sure PROGRAM (on PATH or in /usr/sbin) is installed, installing Debian's PACKAGE with
# apt-get when missing (as root, or through sudo). Without a way to install it: fails saying what
# to install, or, with "optional", says so and succeeds (the caller then reports what it skipped).
set -euo pipefail
package=$1 program=$2 why=$3 optional=${4:-}
if command -v "$program" >/dev/null 2>&1 || [ -x "/usr/sbin/$program" ]; then
  exit 0
fi
give_up() {
  echo "ensure-apt-package: $package is missing ($why) and $1: apt-get install $package" >&2
  [ "$optional" = optional ] && exit 0
  exit 1
}
echo "ensure-apt-package: installing Debian's $package ($why)" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else give_up "this user cannot install it"; fi
fi
install() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null; }
if ! install 2>/dev/null; then
  "${sudo[@]}" apt-get update -qq >/dev/null || true
  install || give_up "it could not be installed"
fi
command -v "$program" >/dev/null 2>&1 || [ -x "/usr/sbin/$program" ] || give_up "$program is still missing after apt-get install"
