#!/usr/bin/env bash
# Every check CI runs, in order, stopping at the first failure: formatting, clippy for the server and
# the browser builds, unit and integration tests, a release build, and the Playwright suite in headless
# Chromium. Installs any missing tool first.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1;34m==>\033[0m %s\n' "$*" >&2; }

scripts/setup.sh --test
export PATH="$PWD/end2end/node_modules/.bin:$PATH"

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check
step "dependencies: licences, bans and sources (cargo deny)"
cargo deny --locked check licenses bans sources
step "dependencies: security advisories (cargo deny, RustSec database)"
# The database is cloned from GitHub; where GitHub is out of reach (this project's build machines)
# the check cannot run, and says so loudly rather than passing in silence.
if timeout 300 cargo deny fetch db >/dev/null 2>&1; then
    cargo deny --locked check advisories
else
    printf '\033[1;33mwarning:\033[0m RustSec advisory database unreachable (github.com): advisories NOT checked\n' >&2
fi
step "clippy: server build"
cargo clippy --locked --features ssr --all-targets -- -D warnings
step "clippy: browser build"
cargo clippy --locked --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings
step "unit and integration tests"
cargo test --locked --features ssr
step "release build for the end-to-end tests"
cargo leptos build --release
step "end-to-end tests (Playwright, headless Chromium)"
cd end2end
npx playwright test
