#!/usr/bin/env bash
# Checks Cargo.lock against the RustSec advisory database and fails on any vulnerability, and on any
# other finding that deny.toml does not decide with a reason. The database is fetched from GitHub
# where GitHub can be reached; where it cannot (this project's build machines), the dated snapshot in
# ../shared/rustsec-advisory-db is used instead (NATTER_ADVISORY_DB names another copy), and its date
# is printed so a stale snapshot is seen. With neither, the check fails: it never passes unchecked.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

if timeout 120 cargo deny fetch db >/dev/null 2>&1; then
    say "advisories: RustSec database fetched from GitHub"
    exec cargo deny --locked check advisories
fi

snapshot=${NATTER_ADVISORY_DB:-../shared/rustsec-advisory-db}
if [ ! -d "$snapshot/crates" ]; then
    say "advisories: GitHub is out of reach and there is no snapshot at $snapshot (set NATTER_ADVISORY_DB)"
    exit 1
fi
say "advisories: GitHub is out of reach; using the snapshot in $snapshot"
grep -m1 -o 'commit [0-9a-f]* of [0-9-]*' "$snapshot/SNAPSHOT.md" >&2 || true

# cargo-deny reads a database only from a git checkout in its db-path, in a folder named for the
# database's URL (this is the name for the default URL).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/dbs/advisory-db-3157b0e258782691"
mkdir -p "$(dirname "$db")"
cp -r "$snapshot" "$db"
git -C "$db" init -q
git -C "$db" add -A
git -C "$db" -c user.name=natter-ci -c user.email=ci@localhost commit -qm "RustSec snapshot"
# The project's own decisions, pointed at that copy.
sed "s|^\[advisories\]$|[advisories]\ndb-path = \"$work/dbs\"|" deny.toml >"$work/deny.toml"
cargo deny --config "$work/deny.toml" --offline --locked check advisories
