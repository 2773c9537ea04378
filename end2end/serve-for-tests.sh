#!/usr/bin/env bash
# Playwright's webServer: the README's run command (which builds the release server if anything
# changed) on the given port, with an empty database in a temp folder. The server's log (stdout)
# and its panics (stderr) also go to target/e2e-server.log, which the suite's teardown reads.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:?port}
data=$(mktemp -d -t natter-e2e.XXXXXX)
log=target/e2e-server.log
: >"$log"
exec scripts/run.sh --addr "127.0.0.1:$port" --db "$data/natter.db" --site-root target/site \
  --config end2end/natter-e2e.toml > >(tee -a "$log") 2> >(tee -a "$log" >&2)
