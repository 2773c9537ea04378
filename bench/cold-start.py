#!/usr/bin/env python3
"""Cold start: time from starting `natter` to `/healthz` answering 200, on a fresh database (which
runs every migration) and again on the same file. Needs a release build of the server first:

    cargo build --release --features ssr --bin natter && bench/cold-start.py [ROUNDS]
"""
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.path.join(ROOT, "target", "release", "natter")
PORT = 8197


def healthy():
    try:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


def start_once(db):
    began = time.perf_counter()
    server = subprocess.Popen(
        [BIN, "--addr", f"127.0.0.1:{PORT}", "--db", db, "--site-root", os.path.join(ROOT, "target", "site"),
         "--log", "warn"],
        stdout=subprocess.DEVNULL,
    )
    try:
        while not healthy():
            if server.poll() is not None:
                sys.exit(f"natter exited with {server.returncode}")
            time.sleep(0.001)
        return (time.perf_counter() - began) * 1000
    finally:
        server.terminate()
        server.wait()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    fresh, existing = [], []
    for _ in range(rounds):
        data = tempfile.mkdtemp()
        db = os.path.join(data, "natter.db")
        fresh.append(start_once(db))
        existing.append(start_once(db))
        shutil.rmtree(data)
    for name, runs in (("fresh database", fresh), ("existing database", existing)):
        print(f"{name}: median {statistics.median(runs):.1f} ms, max {max(runs):.1f} ms over {rounds} starts")


if __name__ == "__main__":
    main()
