#!/usr/bin/env bash
# The stress check for flaky tests: N times in a row, a fresh clone of the committed HEAD runs
# CI's own script (`CI=true bash .ci/run`), stopping at the first red run; each run's time and
# test count are printed. The clones share one cargo target directory (TEST_REPEAT_TARGET_DIR,
# else a fresh one), so only the first run compiles the dependencies; every run installs the
# Better Auth harnesses from npm as CI does.
# Usage: scripts/test-repeat.sh [N]   (make test-repeat N=3)
set -euo pipefail
n=${1:-3}
case $n in ''|*[!0-9]*) echo "test-repeat: N must be a number, not '$n'" >&2; exit 2 ;; esac
root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/better-auth-lambda-repeat.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "test-repeat: $n fresh-clone runs of .ci/run at $(git -C "$root" rev-parse --short HEAD)"
for i in $(seq 1 "$n"); do
  rm -rf "$work/clone"
  git clone --quiet "$root" "$work/clone"
  start=$(date +%s)
  if (cd "$work/clone" && CI=true CARGO_TARGET_DIR="${TEST_REPEAT_TARGET_DIR:-$work/target}" bash .ci/run >"$work/run-$i.log" 2>&1 </dev/null); then
    passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' "$work/run-$i.log" | awk '{s+=$4} END {print s+0}')
    echo "test-repeat: run $i/$n green in $(( $(date +%s) - start )) s, $passed tests passed"
  else
    echo "test-repeat: run $i/$n RED after $(( $(date +%s) - start )) s; the end of its log:" >&2
    tail -n 60 "$work/run-$i.log" >&2
    mkdir -p "$root/target" && cp "$work/run-$i.log" "$root/target/test-repeat-failed.log" &&
      echo "test-repeat: the whole log is in target/test-repeat-failed.log" >&2
    exit 1
  fi
done
