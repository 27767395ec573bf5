#!/usr/bin/env bash
# Makes sure valgrind is installed: make bench counts instructions per path under callgrind.
# Installs Debian's package with apt-get when missing (as root, or through sudo); otherwise says
# what to install (the benchmark then reports the counts as skipped).
set -euo pipefail
if command -v valgrind >/dev/null 2>&1; then
  exit 0
fi
echo "ensure-valgrind: installing Debian's valgrind (for make bench's instruction counts)" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
    echo "ensure-valgrind: valgrind is missing and this user cannot install it: apt-get install valgrind" >&2
    exit 0
  fi
fi
install() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null; }
if ! install 2>/dev/null; then
  "${sudo[@]}" apt-get update -qq >/dev/null || true
  install || echo "ensure-valgrind: could not install valgrind; instruction counts will be skipped" >&2
fi
