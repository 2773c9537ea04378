#!/usr/bin/env python3
"""Server-side rendering of the chat page, as a signed-in user sees it with 50 messages of history:
GET / over one keep-alive connection, timed from the client (so an upper bound of the server's time:
it includes loopback and this script). Needs a release build with the site (`cargo leptos build
--release`, or `cargo build --release --features ssr --bin natter` beside an existing target/site):

    bench/ssr.py [REQUESTS]
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
PORT = 8196
ADDR = f"127.0.0.1:{PORT}"


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response, response.read()


def main():
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    data = tempfile.mkdtemp()
    db = os.path.join(data, "natter.db")
    common = ["--addr", ADDR, "--db", db, "--site-root", os.path.join(ROOT, "target", "site"), "--log", "warn"]
    server = subprocess.Popen([BIN, *common], stdout=subprocess.DEVNULL)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        for _ in range(500):
            try:
                request(conn, "GET", "/healthz")
                break
            except OSError:
                conn.close()
                time.sleep(0.01)
        response, _ = request(conn, "POST", "/api/join", "nickname=reader",
                              {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        cookie = response.getheader("Set-Cookie").split(";")[0]
        for n in range(50):
            subprocess.run([BIN, "announce", *common, f"history line {n}: long enough to look like chat"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times = []
        for _ in range(requests):
            began = time.perf_counter()
            response, page = request(conn, "GET", "/", headers={"Cookie": cookie})
            times.append((time.perf_counter() - began) * 1000)
            assert response.status == 200 and b"history line 49" in page, response.status
        times.sort()
        p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
        print(f"GET / signed in, 50 messages of history, {len(page)} bytes: "
              f"p50 {p(0.5):.2f} ms, p90 {p(0.9):.2f} ms, p99 {p(0.99):.2f} ms over {requests} requests")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data)


if __name__ == "__main__":
    main()
