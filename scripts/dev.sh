#!/usr/bin/env bash
# `make dev`: a PostgreSQL (from DATABASE_URL, else local, else a throwaway cluster: run through
# scripts/with-postgres.sh), Better Auth's schema, a demo admin and user with live sessions, then
# `cargo lambda watch` serving every function at its API Gateway path (see the router in
# Cargo.toml). Prints curl commands that work as printed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --locked -p test-support --bin dev-seed
set -a
# shellcheck disable=SC1091
source target/dev/env
set +a
export RUST_LOG=${RUST_LOG:-info}
exec cargo lambda watch --invoke-address 127.0.0.1 --invoke-port 9000
