#!/usr/bin/env bash
# Makes sure Debian's pgbouncer is installed: the PgBouncer test (tests/e2e/pgbouncer.rs) runs the
# authorizer and the functions through it in transaction-pooling mode. Installs it with apt-get
# when missing (as root, or through sudo); otherwise says what to install.
set -euo pipefail
if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  exit 0
fi
echo "ensure-pgbouncer: installing Debian's pgbouncer (for the PgBouncer test)" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
    echo "ensure-pgbouncer: pgbouncer is missing and this user cannot install it: apt-get install pgbouncer" >&2
    exit 1
  fi
fi
install() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null; }
if ! install 2>/dev/null; then
  "${sudo[@]}" apt-get update -qq >/dev/null
  install
fi
# The package starts a system-wide pgbouncer on port 6432 where it can; the tests start their own.
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || {
  echo "ensure-pgbouncer: pgbouncer still missing after apt-get install" >&2; exit 1; }
