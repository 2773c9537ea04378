#!/usr/bin/env bash
# A long property-test campaign over the frame decoder and the validation rules (the same properties
# the test suite runs briefly): `scripts/fuzz.sh [MINUTES]`, 10 by default. It runs rounds of
# 100,000 cases each with a fresh seed until the time is up, stops at the first failure (proptest
# prints the smallest failing input and saves its seed under proptest-regressions/), and reports
# how many cases ran. A round that starts before the deadline finishes, so it may run a little over.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
deadline=$(( $(date +%s) + minutes * 60 ))
cases=100000
rounds=0
# The debug build the test suite already has: no second compile, one core.
cargo test --features ssr --lib protocol::tests::properties --no-run >/dev/null 2>&1
while [ "$(date +%s)" -lt "$deadline" ]; do
  PROPTEST_CASES=$cases cargo test --quiet --features ssr --lib protocol::tests::properties -- --test-threads 1 \
    >/dev/null 2>&1 || {
    echo "fuzz: a property failed in round $((rounds + 1)); rerun to see the minimal input:" >&2
    echo "  PROPTEST_CASES=$cases cargo test --features ssr --lib protocol::tests::properties" >&2
    exit 1
  }
  rounds=$((rounds + 1))
done
echo "fuzz: $rounds rounds x 5 properties x $cases cases in $minutes min, no failure"
