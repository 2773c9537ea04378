#!/usr/bin/env bash
# A slow reader beside a busy room: the same load twice on a fresh server each time, first with every
# client reading, then with some clients that connect and never read again. The room's latency and
# the server's memory should not care. Needs `cargo build --release --features ssr` first.
#
#   bench/slow-reader.sh [STALLED]     (10 stalled clients by default)
#
# The load's shape comes from the environment: CLIENTS (100), SENDERS (10), RATE per sender (50 msg/s),
# BYTES per body (2000) and DURATION in seconds (15). The issue's 10,000 msg/s room, for instance:
#
#   CLIENTS=20 SENDERS=20 RATE=500 BYTES=100 bench/slow-reader.sh 1
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
stalled=${1:-10}

run() {
    load_on_fresh_server 8199 warn --clients "${CLIENTS:-100}" --senders "${SENDERS:-10}" \
        --rate "${RATE:-50}" --seconds "${DURATION:-15}" --bytes "${BYTES:-2000}" --stalled "$1"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores $(uname -m)"
run 0
run "$stalled"
