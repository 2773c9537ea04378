#!/usr/bin/env bash
# Starts the release server built by `cargo leptos build --release` on the given port with an empty
# database in a temp folder, as Playwright's webServer.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:?port}
data=$(mktemp -d -t natter-e2e.XXXXXX)
exec target/release/natter --addr "127.0.0.1:$port" --db "$data/natter.db" --site-root target/site \
  --config end2end/natter-e2e.toml
