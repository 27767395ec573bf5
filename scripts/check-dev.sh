#!/usr/bin/env bash
# make test's check of make dev: starts what `make dev` starts (scripts/dev.sh: the seed, then
# `cargo lambda watch`), runs every curl line and `cargo lambda invoke` line the seed prints,
# exactly as printed, checks each answer, and stops everything it started.
#
# It runs beside a developer's own `make dev`: a free port (DEV_PORT), its own database
# (DEV_DATABASE, dropped afterwards) and its own fixture directory (DEV_DIR, removed afterwards).
# Needs DATABASE_URL (run it through scripts/with-postgres.sh) and cargo-lambda (make tools-lambda).
# CHECK_DEV_TIMEOUT (seconds, default 900) bounds the whole check, the first build included.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'check-dev: %s\n' "$*" >&2; }

command -v cargo-lambda >/dev/null 2>&1 || { log "cargo-lambda is missing: run make tools-lambda"; exit 1; }
[ -n "${DATABASE_URL:-}" ] || { log "DATABASE_URL is not set: run it through scripts/with-postgres.sh"; exit 1; }

started=$(date +%s)
deadline=$((started + ${CHECK_DEV_TIMEOUT:-900}))
remaining() { echo $((deadline - $(date +%s))); }

DEV_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
DEV_DIR=target/dev-check-$$
DEV_DATABASE=better_auth_dev_check_$$
export DEV_PORT DEV_DIR DEV_DATABASE
# make dev's own sessions stay in PostgreSQL; the check does not inherit a caller's DEV_SESSIONS.
unset DEV_SESSIONS
out=$(mktemp "${TMPDIR:-/tmp}/check-dev.XXXXXX")
watcher=

cleanup() {
  local status=$?
  if [ -n "$watcher" ]; then
    # scripts/dev.sh runs in a process group of its own; the watcher starts each function in a
    # group of its own, so those are found as the watcher's children and stopped by their ids.
    local children
    children=$(ps -o pid= --ppid "$watcher" 2>/dev/null || true)
    kill -TERM -- "-$watcher" $children 2>/dev/null || true
    for _ in $(seq 50); do kill -0 -- "-$watcher" $children 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$watcher" $children 2>/dev/null || true
  fi
  if command -v psql >/dev/null 2>&1; then
    psql "$DATABASE_URL" -Atqc "DROP DATABASE IF EXISTS \"$DEV_DATABASE\" WITH (FORCE)" >/dev/null 2>&1 ||
      log "could not drop the database $DEV_DATABASE"
  else
    log "psql is missing: the database $DEV_DATABASE is left behind"
  fi
  rm -rf "$DEV_DIR"
  if [ "$status" != 0 ]; then
    log "failed; what scripts/dev.sh printed:"
    tail -n 60 "$out" >&2 || true
  fi
  rm -f "$out"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting scripts/dev.sh on 127.0.0.1:$DEV_PORT (database $DEV_DATABASE)"
setsid scripts/dev.sh >"$out" 2>&1 &
watcher=$!

# The seed prints the commands before the watcher starts; the watcher answers once it serves.
until grep -q '^  cargo lambda invoke ' "$out" &&
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$DEV_PORT/"; do
  kill -0 "$watcher" 2>/dev/null || { log "scripts/dev.sh exited early"; exit 1; }
  [ "$(remaining)" -gt 0 ] || { log "the watcher did not start in time"; exit 1; }
  sleep 0.5
done

# The expected answer of each printed line, by what the line asks for.
expect() {
  case $1 in
    *"/health/db") echo '"database":"ok"' ;;
    *"/health") echo '"status":"ok"' ;;
    *"Bearer forged"*"/auth/me") echo '"code":"UNAUTHORIZED"' ;;
    *"Bearer "*"/auth/me") echo '"email":"user@example.com"' ;;
    *"Bearer "*"/auth/session") echo '"userId":"demo-user"' ;;
    *"Bearer "*"/users") echo '"code":"FORBIDDEN"' ;;
    *"Bearer "*"/profile") echo '"userId":"demo-user"' ;;
    *"Bearer "*"/orders") echo '"code":"FORBIDDEN"' ;;
    *"--cookie "*"/users?limit=10'") echo '"email":"admin@example.com"' ;;
    *"--cookie "*"/users/demo-user/sessions") echo '"id":"demo-user-session"' ;;
    "cargo lambda invoke authorizer "*"/rest-token.json") echo '"principalId":"demo-user"' ;;
    "cargo lambda invoke authorizer "*"/rest-request.json") echo '"principalId":"demo-admin"' ;;
    "cargo lambda invoke authorizer "*"/http-v2.json") echo '"isAuthorized":true' ;;
    *) return 1 ;;
  esac
}

mapfile -t lines < <(grep -E '^  (curl |cargo lambda invoke )' "$out" | sed 's/^  //')
[ "${#lines[@]}" -eq 13 ] || { log "expected 13 printed commands, found ${#lines[@]}"; exit 1; }
failed=0
for line in "${lines[@]}"; do
  want=$(expect "$line") || { log "no expected answer for the printed line: $line"; exit 1; }
  left=$(remaining)
  [ "$left" -gt 0 ] || { log "out of time"; exit 1; }
  # Exactly as printed (the first call of each function builds it: bounded by what is left).
  if ! answer=$(timeout "$left" bash -c "$line" 2>&1); then
    log "FAILED (exit status): $line"; printf '%s\n' "$answer" >&2; failed=1; continue
  fi
  # JSON may be printed with or without spaces: compare without them.
  if [[ "$(printf '%s' "$answer" | tr -d ' \n')" != *"$want"* ]]; then
    log "FAILED (expected $want): $line"; printf '%s\n' "$answer" >&2; failed=1; continue
  fi
  log "ok: ${line:0:100}"
done
[ "$failed" = 0 ] || exit 1
log "all ${#lines[@]} printed commands answered as expected in $(($(date +%s) - started)) s"
