#!/usr/bin/env python3
"""Where the browser bundle's bytes go: reads the WASM that rustc wrote (before wasm-bindgen and
wasm-opt, so it still has its name section), sums the code size of each function, and groups them by
crate. Also prints the shipped bundle's raw and gzipped size. Needs `cargo leptos build --release`:

    bench/wasm-size.py [TOP]
"""
import collections
import gzip
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
RAW = os.path.join(ROOT, "target", "front", "wasm32-unknown-unknown", "wasm-release", "natter.wasm")
PKG = os.path.join(ROOT, "target", "site", "pkg")


def shipped_wasm():
    """The bundle as served: content-hashed (natter.<hash>.wasm) since hash-files, plain before."""
    names = [n for n in os.listdir(PKG) if n.startswith("natter") and n.endswith(".wasm")]
    if not names:
        sys.exit(f"no natter*.wasm in {PKG}: run cargo leptos build --release --precompress first")
    return os.path.join(PKG, max(names, key=lambda n: os.path.getmtime(os.path.join(PKG, n))))


def leb(data, at):
    result = shift = 0
    while True:
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, at


def sections(data):
    at = 8
    while at < len(data):
        kind = data[at]
        size, at = leb(data, at + 1)
        yield kind, data[at:at + size]
        at += size


def imported_functions(payload):
    count, at = leb(payload, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            length, at = leb(payload, at)
            at += length
        kind = payload[at]
        at += 1
        if kind == 0:
            _, at = leb(payload, at)
            functions += 1
        elif kind == 1:
            at += 1
            flags, at = leb(payload, at)
            _, at = leb(payload, at)
            if flags & 1:
                _, at = leb(payload, at)
        elif kind == 2:
            flags, at = leb(payload, at)
            _, at = leb(payload, at)
            if flags & 1:
                _, at = leb(payload, at)
        elif kind == 3:
            at += 2
    return functions


def function_names(payload):
    names = {}
    at = 0
    while at < len(payload):
        sub = payload[at]
        size, at = leb(payload, at + 1)
        if sub == 1:
            count, inner = leb(payload, at)
            for _ in range(count):
                index, inner = leb(payload, inner)
                length, inner = leb(payload, inner)
                names[index] = payload[inner:inner + length].decode("utf-8", "replace")
                inner += length
        at += size
    return names


def crate_of(name):
    # Demangled Rust names start with the crate path, perhaps inside `<impl ...>` brackets.
    match = re.search(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    return match.group(1) if match else "(other)"


def main():
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    data = open(RAW, "rb").read()
    imports, bodies, names = 0, [], {}
    for kind, payload in sections(data):
        if kind == 2:
            imports = imported_functions(payload)
        elif kind == 10:
            count, at = leb(payload, 0)
            for _ in range(count):
                size, at = leb(payload, at)
                bodies.append(size)
                at += size
        elif kind == 0:
            length, at = leb(payload, 0)
            if payload[at:at + length] == b"name":
                names = function_names(payload[at + length:])
    path = shipped_wasm()
    shipped = open(path, "rb").read()
    # What a browser receives: the brotli file made at build time (--precompress), if there is one.
    served = os.path.getsize(path + ".br") if os.path.exists(path + ".br") else None
    print(f"shipped {os.path.basename(path)}: {len(shipped):,} bytes, {len(gzip.compress(shipped, 9)):,} gzip -9, "
          f"{served:,} brotli as served" if served else f"shipped {path}: {len(shipped):,} bytes")
    total = sum(bodies)
    print(f"rustc output before wasm-bindgen and wasm-opt: {len(data):,} bytes, code {total:,} bytes in {len(bodies):,} functions")
    by_crate = collections.Counter()
    for index, size in enumerate(bodies):
        by_crate[crate_of(demangle(names.get(imports + index, "?")))] += size
    print(f"\ncode by crate (top {top}):")
    for crate, size in by_crate.most_common(top):
        print(f"  {size:>9,}  {100 * size / total:5.1f}%  {crate}")


def demangle(name):
    # Legacy Rust mangling: _ZN<len><ident>...E
    if not name.startswith("_ZN"):
        return name
    parts, at = [], 3
    while at < len(name) and name[at].isdigit():
        end = at
        while name[end].isdigit():
            end += 1
        length = int(name[at:end])
        parts.append(name[end:end + length])
        at = end + length
    return "::".join(parts)


if __name__ == "__main__":
    main()
