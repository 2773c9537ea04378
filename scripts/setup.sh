#!/usr/bin/env bash
# Installs what building and testing Natter needs, skipping whatever is already present at the right
# version. Only the package registries are reachable from our machines, so every tool is built from its
# crate (with lockfile fixes recorded in shared/TOOLCHAIN.md) rather than downloaded as a binary.
#
#   scripts/setup.sh            tools to build and run (wasm target, cargo-leptos, wasm-bindgen-cli,
#                               and the npm packages in end2end/, whose `binaryen` is the wasm-opt a
#                               release build needs)
#   scripts/setup.sh --test     also what the test suite needs (Chromium, HAProxy for the cluster
#                               end-to-end test, cargo-deny)
set -euo pipefail

cd "$(dirname "$0")/.."
CARGO_LEPTOS_VERSION=0.3.11
CARGO_DENY_VERSION=0.20.2

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# Crate sources ship a Cargo.lock that no longer resolves on our toolchain or index; unpack the crate,
# move one dependency to a version that does, and install from that copy with --locked.
install_crate_with_lock_fix() {
    local name=$1 version=$2 dep=$3 dep_version=$4
    shift 4
    local tmp
    tmp=$(mktemp -d)
    # `cargo info` unpacks the crate into the registry source cache; run it outside our workspace.
    (cd "$tmp" && cargo info --quiet "$name@$version" >/dev/null)
    local src
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$name-$version" | head -n 1)
    cp -r "$src" "$tmp/src"
    (cd "$tmp/src" && cargo update --quiet -p "$dep" --precise "$dep_version")
    cargo install --path "$tmp/src" --locked "$@"
    rm -rf "$tmp"
}

ensure_wasm_target() {
    if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        return
    fi
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
}

ensure_cargo_leptos() {
    if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
        return
    fi
    say "building cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores, once)"
    install_crate_with_lock_fix cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1 \
        --features no_downloads
}

# cargo-leptos does not check the CLI against the library; a mismatch only shows as a schema error.
ensure_wasm_bindgen() {
    local version
    version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
    if [ -z "$version" ]; then
        say "Cargo.lock names no wasm-bindgen version" && exit 1
    fi
    if wasm-bindgen --version 2>/dev/null | grep -q "$version"; then
        return
    fi
    say "building wasm-bindgen-cli $version to match Cargo.lock (about 5 minutes, once)"
    install_crate_with_lock_fix wasm-bindgen-cli "$version" webpki-roots 1.0.10
}

# Debian packages, as root or through sudo.
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_chromium() {
    if [ -x /usr/bin/chromium ]; then
        return
    fi
    say "installing Debian's chromium for the end-to-end tests"
    apt_install chromium
}

# The cluster end-to-end test (end2end/tests/cluster.spec.ts) puts its three nodes behind Debian's
# HAProxy. Its PostgreSQL 15 is not installed here: it is on our machines already, and the test says
# so plainly when it is missing.
ensure_haproxy() {
    if [ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null; then
        return
    fi
    say "installing Debian's haproxy for the cluster end-to-end test"
    apt_install haproxy
}

ensure_end2end_packages() {
    if [ -d end2end/node_modules/@playwright/test ] &&
        [ end2end/node_modules/.package-lock.json -nt end2end/package-lock.json ]; then
        return
    fi
    say "installing the end-to-end test packages (npm ci)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

ensure_cargo_deny() {
    if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" = "$CARGO_DENY_VERSION" ]; then
        return
    fi
    say "building cargo-deny $CARGO_DENY_VERSION (licence and source checks; a few minutes, once)"
    cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
}

ensure_wasm_target
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_end2end_packages
if [ "${1:-}" = "--test" ]; then
    ensure_chromium
    ensure_haproxy
    ensure_cargo_deny
fi
