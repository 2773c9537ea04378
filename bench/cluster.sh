#!/usr/bin/env bash
# Many machines, measured on one: the same chat load on one Natter on SQLite, one Natter on
# PostgreSQL, and three Natters on one PostgreSQL database (each node its own port, one shared data
# folder, clients and senders dealt round-robin over the nodes); then the hottest room's write rate
# (every client posting into `general` as fast as it is acked) on each; then upload storage, a
# folder against `bytea` rows. Release build; PostgreSQL 15 from /usr/lib/postgresql/15/bin, started
# here in a temp folder with its default durability (fsync and synchronous_commit on, so an ack means
# on disk, as with SQLite's synchronous=FULL). Prints each run's JSON line after its name.
#
#   cargo build --release --features ssr --bin natter && bench/cluster.sh [fanout] [hot] [uploads]
#
# Settings (environment): CLIENTS SENDERS RATE DURATION for the fan-out runs (1000, 20, 5, 20),
# HOT_SENDERS HOT_RATE HOT_DURATION for the hot room (24, 1000, 10).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NATTER_BIN:-target/release/natter}
pg_bin=${NATTER_PG_BIN:-/usr/lib/postgresql/15/bin}
clients=${CLIENTS:-1000} senders=${SENDERS:-20} rate=${RATE:-5} duration=${DURATION:-20}
hot_senders=${HOT_SENDERS:-24} hot_rate=${HOT_RATE:-1000} hot_duration=${HOT_DURATION:-10}
site=${NATTER_SITE_ROOT:-target/site}

work=$(mktemp -d)
chmod 711 "$work"
node_pids=()
pg_data="$work/pg/data"
pg_started=

pg() {
    # initdb refuses to run as root: PostgreSQL's tools run as user postgres then.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$pg_bin/$1" "${@:2}"; else "$pg_bin/$1" "${@:2}"; fi
}

stop_nodes() {
    local pid
    for pid in "${node_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${node_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    node_pids=()
}

finish() {
    stop_nodes
    if [ -n "$pg_started" ]; then pg pg_ctl -D "$pg_data" -m fast -w stop >/dev/null || true; fi
    rm -rf "$work"
}
trap finish EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_postgres() {
    mkdir -p "$work/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$work/pg"
    pg initdb -D "$pg_data" -A trust -U natter -E UTF8 --locale=C >/dev/null
    pg_port=$(free_port)
    pg pg_ctl -D "$pg_data" -l "$work/pg/log" -w \
        -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
    pg_started=1
    postmaster=$(head -n 1 "$pg_data/postmaster.pid")
}

# A new database for each run, so every run starts from empty tables.
new_database() {
    local name=$1
    "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U natter -d postgres -qAtX -c "CREATE DATABASE $name" >/dev/null
    echo "postgres://natter@127.0.0.1:$pg_port/$name"
}

# start_nodes DB COUNT: COUNT Natters on database DB (a SQLite path or a PostgreSQL URL), sharing one
# data folder (the key file, uploads), each on a port of its own; sets targets and pids.
start_nodes() {
    local db=$1 count=$2 data port n
    data=$(mktemp -d -p "$work")
    targets= pids=
    for n in $(seq "$count"); do
        port=$(free_port)
        "$bin" --addr "127.0.0.1:$port" --db "$db" --data-dir "$data" --site-root "$site" \
            --config bench/natter-bench.toml --log error &
        node_pids+=($!)
        until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
        targets+="${targets:+,}127.0.0.1:$port"
        pids+="${pids:+,}$!"
    done
}

# run NAME ENGINE NODES [natter load flags...]: fresh nodes on a fresh database, one load run.
run() {
    local name=$1 engine=$2 count=$3 db extra=()
    shift 3
    case $engine in
    sqlite) db="$(mktemp -d -p "$work")/natter.db" ;;
    postgres)
        db=$(new_database "run_$RANDOM$RANDOM")
        extra=(--postgres-pid "$postmaster")
        ;;
    esac
    start_nodes "$db" "$count"
    echo "# load average before: $(cut -d " " -f 1-3 /proc/loadavg)"
    printf '%s: ' "$name"
    "$bin" load --target "$targets" --server-pid "$pids" "${extra[@]}" "$@" | tail -n 1
    # Each node's own view (its /metrics): how long its messages took from the store's queue to
    # committed (the queue, the id lock on PostgreSQL, the flush) and how late it heard commits.
    local target
    for target in ${targets//,/ }; do
        curl -sf "http://$target/metrics" | awk -v node="$target" '
            /^natter_message_commit_seconds_(sum|count) / { v[$1] = $2 }
            /^natter_notify_lag_seconds_(sum|count) / { v[$1] = $2 }
            END {
                c = v["natter_message_commit_seconds_count"]; n = v["natter_notify_lag_seconds_count"]
                printf "  node %s: %d messages committed, mean time to commit %.2f ms", node, c, c ? 1000 * v["natter_message_commit_seconds_sum"] / c : 0
                if (n) printf "; %d notifications heard, mean lag %.2f ms", n, 1000 * v["natter_notify_lag_seconds_sum"] / n
                printf "\n"
            }'
    done
    stop_nodes
}

start_postgres
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) $(nproc) cores; PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), fsync on"
fanout=(--clients "$clients" --senders "$senders" --rate "$rate" --seconds "$duration" --bytes 100)
# Every client posts, each with at most 4 messages unacknowledged: as fast as the server acks, capped
# at HOT_RATE per sender (far above what it acks).
hot=(--clients "$hot_senders" --senders "$hot_senders" --rate "$hot_rate" --window 4 --seconds "$hot_duration"
    --bytes 100 --accounts "$hot_senders")
for scenario in "${@:-fanout hot uploads}"; do
    for one in $scenario; do
        case $one in
        fanout)
            run "fan-out, 1 node, SQLite" sqlite 1 "${fanout[@]}"
            run "fan-out, 1 node, PostgreSQL" postgres 1 "${fanout[@]}"
            run "fan-out, 3 nodes, PostgreSQL" postgres 3 "${fanout[@]}"
            ;;
        hot)
            run "hot room, 1 node, SQLite" sqlite 1 "${hot[@]}"
            run "hot room, 1 node, PostgreSQL" postgres 1 "${hot[@]}"
            run "hot room, 3 nodes, PostgreSQL" postgres 3 "${hot[@]}"
            ;;
        uploads)
            url=$(new_database uploads)
            printf 'uploads, folder (%s) vs bytea: ' "$work"
            "$bin" load --upload-storage "$url" --upload-dir "$work" | tail -n 1
            # What a nightly dump of those rows costs (pg_dump's custom format, compressed).
            start=$(date +%s.%N)
            "$pg_bin/pg_dump" -h 127.0.0.1 -p "$pg_port" -U natter -Fc -t upload_probe uploads >"$work/uploads.dump"
            end=$(date +%s.%N)
            printf 'uploads, pg_dump -Fc of those rows: {"seconds":%.2f,"dump_bytes":%s,"table_bytes":%s}\n' \
                "$(echo "$end - $start" | bc)" "$(stat -c %s "$work/uploads.dump")" \
                "$("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U natter -d uploads -qAtX \
                    -c "SELECT pg_total_relation_size('upload_probe')")"
            ;;
        *) echo "unknown scenario $one (fanout, hot, uploads)" >&2 && exit 2 ;;
        esac
    done
done
