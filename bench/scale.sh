#!/usr/bin/env bash
# Natter at scale, on a fresh server each (release build; needs root or a high hard limit for the
# open-file limit): issue 5's 10,000 clients in one room with 10 senders at 10 msg/s each, and
# 100,000 idle connections spread over five loopback source addresses. Prints each run's JSON line.
#
#   cargo build --release --features ssr --bin natter && bench/scale.sh [busy|idle]...
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
# 100,000 idle connections need that many descriptors in the server and in the load tool. Where the
# hard limit is lower (a sandbox without CAP_SYS_RESOURCE), hold as many as it allows and say so.
idle=${IDLE:-100000}
room=$(( $(ulimit -n) - 1000 ))
if [ "$idle" -gt "$room" ]; then
    echo "note: the open-file limit is $(ulimit -n); holding $room idle connections instead of $idle" >&2
    idle=$room
fi
port=8230

run() {
    local name=$1
    shift
    printf '%s: ' "$name"
    load_on_fresh_server "$port" error --nofile "$(ulimit -n)" "$@"
    port=$((port + 1))
}

for scenario in "${@:-busy idle}"; do
    for one in $scenario; do
        case $one in
        busy) run "10,000 clients, 10 senders x 10 msg/s" --clients 10000 --senders 10 --rate 10 --seconds 20 \
            --bytes 100 --source-addrs 2 --ramp 2000 ;;
        idle) run "$idle idle connections" --clients "$idle" --senders 0 --seconds 10 --source-addrs 5 \
            --ramp 4000 --drain 1 ;;
        *) echo "unknown scenario $one (busy, idle)" >&2 && exit 2 ;;
        esac
    done
done
