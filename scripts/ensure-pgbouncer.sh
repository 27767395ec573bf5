#!/usr/bin/env bash
# Makes sure Debian's pgbouncer is installed: the PgBouncer test (tests/e2e/pgbouncer.rs) and make
# bench run the authorizer through it in transaction-pooling mode. (The package starts a
# system-wide pgbouncer on port 6432 where it can; the tests start their own.)
exec "$(dirname "$0")/ensure-apt-package.sh" pgbouncer pgbouncer "the PgBouncer tests and make bench run through it"
