#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at a PostgreSQL server the tests may use:
#   1. $DATABASE_URL, when set (it must answer);
#   2. else a local server on 127.0.0.1:5432 (user postgres), when one answers;
#   3. else a throwaway cluster made with initdb/pg_ctl in a temporary directory, removed on exit.
# Set PG_THROWAWAY=1 to skip 1 and 2 (what a fresh machine without a server does).
# Usage: scripts/with-postgres.sh <command> [args...]
set -euo pipefail

log() { printf 'with-postgres: %s\n' "$*" >&2; }

pg_bin() {
  # initdb/pg_ctl may live outside PATH (Debian keeps them in /usr/lib/postgresql/<v>/bin).
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/pgsql/bin; do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return; fi
  done
  return 1
}

answers() {
  local url=$1 isready
  if isready=$(pg_bin pg_isready); then
    "$isready" -q -t 3 -d "$url" >/dev/null 2>&1
  elif command -v psql >/dev/null 2>&1; then
    psql "$url" -Atqc 'select 1' >/dev/null 2>&1
  else
    # No client tools: try a TCP connection to the host and port.
    python3 - "$url" <<'PY' >/dev/null 2>&1
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=3).close()
PY
  fi
}

if [ "${PG_THROWAWAY:-0}" = 1 ]; then
  log "PG_THROWAWAY=1: not looking for an existing server"
elif [ -n "${DATABASE_URL:-}" ]; then
  if ! answers "$DATABASE_URL"; then
    log "DATABASE_URL is set but the server does not answer; fix it or unset it to use a local or throwaway server."
    exit 1
  fi
  log "using the server from DATABASE_URL"
  exec "$@"
fi

LOCAL_URL="postgres://postgres@127.0.0.1:5432/postgres"
if [ "${PG_THROWAWAY:-0}" != 1 ] && answers "$LOCAL_URL"; then
  log "using the local server at 127.0.0.1:5432"
  DATABASE_URL=$LOCAL_URL exec "$@"
fi

initdb=$(pg_bin initdb) && pg_ctl=$(pg_bin pg_ctl) || {
  log "no PostgreSQL answers and initdb/pg_ctl are not installed."
  log "Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to a server."
  exit 1
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/better-auth-lambda-pg.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
run_as=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: use the postgres user, or nobody.
  user=postgres; id "$user" >/dev/null 2>&1 || user=nobody
  chown "$user" "$dir"
  run_as=(runuser -u "$user" --)
fi
cleanup() {
  "${run_as[@]}" "$pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

log "starting a throwaway cluster in $dir on port $port"
"${run_as[@]}" "$initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2; exit 1; }
"${run_as[@]}" "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null || {
  cat "$dir/server.log" >&2; exit 1; }

DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" "$@"
