# Sourced by the bench scripts: one load run against a fresh Natter (release build, a new database in
# a temp folder, bench/natter-bench.toml), printing the load tool's final JSON line.
#
#   load_on_fresh_server PORT LOG_FILTER [natter load flags...]

load_on_fresh_server() {
    local port=$1 log=$2 bin=target/release/natter data pid
    shift 2
    data=$(mktemp -d)
    "$bin" --addr "127.0.0.1:$port" --db "$data/natter.db" --site-root target/site \
        --config bench/natter-bench.toml --log "$log" &
    pid=$!
    until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
    "$bin" load --target "127.0.0.1:$port" --server-pid "$pid" "$@" | tail -n 1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$data"
}
