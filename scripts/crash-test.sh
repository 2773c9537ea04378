#!/usr/bin/env bash
# The crash campaign: the real server binary, killed with SIGKILL at random moments while clients send
# about 1,000 messages a second, restarted on the same database each time. Afterwards every acked
# message must be stored exactly once and `PRAGMA integrity_check` must say ok.
# `scripts/crash-test.sh [ROUNDS]`, 10 by default; the test suite runs the same test with 3.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! NATTER_CRASH_ROUNDS=$rounds cargo test --release --features ssr --test delivery crash -- --nocapture 2>&1 |
  tee "$log"; then
  echo "crash test: FAILED after up to $rounds rounds (see above)" >&2
  exit 1
fi
grep '^crash test:' "$log"
