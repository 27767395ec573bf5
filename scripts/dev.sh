#!/usr/bin/env bash
# `make dev`: a PostgreSQL (from DATABASE_URL, else local, else a throwaway cluster: run through
# scripts/with-postgres.sh), Better Auth's schema, a demo admin and user with live sessions, then
# `cargo lambda watch` serving every function at its API Gateway path (see the router in
# Cargo.toml). Prints curl commands that work as printed.
set -euo pipefail
cd "$(dirname "$0")/.."
# DEV_PORT, DEV_DIR and DEV_DATABASE (see dev_seed.rs) move it aside; scripts/check-dev.sh does.
export DEV_PORT=${DEV_PORT:-9000} DEV_DIR=${DEV_DIR:-target/dev}
cargo run --quiet --locked -p test-support --bin dev-seed
set -a
# shellcheck disable=SC1090
source "$DEV_DIR/env"
set +a
export RUST_LOG=${RUST_LOG:-info}
# The printed invocations send to the address the watcher listens on (cargo lambda invoke's own
# default is [::1], where nothing listens): keep the two in step.
exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$DEV_PORT"
