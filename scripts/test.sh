#!/usr/bin/env bash
# Every check CI runs, in order, stopping at the first failure: the README's run command building
# with only what its own set-up installs, formatting, dependency checks (licences, sources, security
# advisories), clippy for the server and the browser builds, unit and integration tests, and the
# Playwright suite in headless Chromium against a server started by the run command itself.
# Installs any missing tool first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Incremental compilation keeps gigabytes of caches (3.4 GB of the 8 GB a run leaves in target/)
# that a clean CI clone never reuses, and CI machines have run out of disk. Set it to 1 to keep it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# First, as a new user would: the run command on this machine's base PATH (Rust, Node, the system),
# before anything the test set-up installs. It must install every tool its release build needs;
# `--version` makes the built server print its version instead of serving.
step "the run command builds with only what its own set-up installs (scripts/run.sh --version)"
base_path="$(dirname "$(command -v cargo)"):$(dirname "$(command -v npm)"):/usr/sbin:/usr/bin:/sbin:/bin"
env PATH="$base_path" scripts/run.sh --version

scripts/setup.sh --test
export PATH="$PWD/end2end/node_modules/.bin:$PATH"

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check
step "dependencies: licences, bans and sources (cargo deny)"
cargo deny --locked check licenses bans sources
step "dependencies: security advisories (cargo deny, RustSec database)"
scripts/advisories.sh
step "clippy: server build"
cargo clippy --locked --features ssr --all-targets -- -D warnings
step "clippy: browser build"
cargo clippy --locked --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings
step "unit and integration tests"
cargo test --locked --features ssr
step "end-to-end tests (Playwright, headless Chromium; the server is started by scripts/run.sh)"
cd end2end
npx playwright test
