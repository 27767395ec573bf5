#!/usr/bin/env bash
# Runs a command with REDIS_URL pointing at a Redis the tests (and make dev) may use:
#   1. $REDIS_URL, when set (it must answer PING);
#   2. else a local server on 127.0.0.1:6379, when one answers;
#   3. else a throwaway redis-server (Debian's package, installed if missing) on a free port,
#      keeping nothing on disk, stopped on exit.
# Set REDIS_THROWAWAY=1 to skip 1 and 2. Usage: scripts/with-redis.sh <command> [args...]
set -euo pipefail

log() { printf 'with-redis: %s\n' "$*" >&2; }

pings() {
  # PING over a plain TCP socket (no client tools needed); rediss:// is trusted as given.
  python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
if u.scheme == "rediss":
    sys.exit(0)
s = socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=3)
if u.password:
    user = u.username or "default"
    s.sendall(f"AUTH {user} {u.password}\r\n".encode())
    s.recv(64)
s.sendall(b"PING\r\n")
sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
PY
}

if [ "${REDIS_THROWAWAY:-0}" != 1 ]; then
  if [ -n "${REDIS_URL:-}" ]; then
    pings "$REDIS_URL" || { log "REDIS_URL is set but does not answer PING"; exit 1; }
    log "using REDIS_URL"
    exec "$@"
  fi
  if pings redis://127.0.0.1:6379; then
    log "using the local server at 127.0.0.1:6379"
    REDIS_URL=redis://127.0.0.1:6379 exec "$@"
  fi
fi

if ! command -v redis-server >/dev/null 2>&1; then
  log "redis-server not found: installing Debian's redis-server"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    log "cannot install it here: install redis-server or set REDIS_URL"; exit 1
  fi
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
cleanup() { kill "$(cat "$dir/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 50); do pings "redis://127.0.0.1:$port" && break; sleep 0.1; done
log "started a throwaway redis-server on 127.0.0.1:$port"
REDIS_URL="redis://127.0.0.1:$port" "$@"
