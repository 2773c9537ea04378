#!/usr/bin/env python3
"""Side by side on one machine, in one run: Natter, the storage-free broadcast baseline
(bench/peers/broadcast.rs) and a Node.js Socket.IO v4 chat (bench/peers/socketio/server.js), each
loaded by `natter load` with the same clients and senders while the rate per sender is raised step by
step until a step loses a delivery or its post-to-all-received p99 passes 1 s. The sustained rate of
a server is the best step before that. Natter is then run once more at 80% of its sustained rate for
the latency target. Prints a Markdown table and ends with one JSON line.

Needs release builds of the server and the baseline, and the peer's npm packages:

    cargo build --release --features ssr --bin natter --example broadcast-peer
    npm ci --prefix bench/peers/socketio
    bench/compare.py [--clients 1000] [--senders 10] [--seconds 10] [--rates 10,20,40,...]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
NATTER = os.path.join(ROOT, "target", "release", "natter")
BASELINE = os.path.join(ROOT, "target", "release", "examples", "broadcast-peer")
SOCKETIO = os.path.join(ROOT, "bench", "peers", "socketio", "server.js")
P99_LIMIT_MS = 1000.0


def start(kind, port, data):
    addr = f"127.0.0.1:{port}"
    if kind == "natter":
        command = [NATTER, "--addr", addr, "--db", os.path.join(data, "natter.db"), "--site-root",
                   os.path.join(ROOT, "target", "site"), "--config", os.path.join(ROOT, "bench", "natter-bench.toml"),
                   "--log", "warn"]
        ready = f"http://{addr}/healthz"
    elif kind == "bare":
        command, ready = [BASELINE, addr], None
    else:
        command, ready = ["node", SOCKETIO, addr], None
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if server.poll() is not None:
            sys.exit(f"{kind} exited with {server.returncode}")
        try:
            if ready:
                urllib.request.urlopen(ready, timeout=1).read()
            else:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    sys.exit(f"{kind} did not start on {addr}")


def load(kind, port, pid, args, rate):
    command = [NATTER, "load", "--protocol", kind, "--target", f"127.0.0.1:{port}", "--clients", str(args.clients),
               "--senders", str(args.senders), "--rate", str(rate), "--seconds", str(args.seconds),
               "--bytes", str(args.bytes), "--drain", "5", "--server-pid", str(pid), "--nofile", "65536"]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        sys.exit(f"load failed ({out.returncode}): {out.stderr.strip()}")
    report = json.loads(lines[-1])
    report["rate_per_sender"] = rate
    report["offered"] = rate * args.senders
    return report


def passed(report):
    p99 = (report.get("post_to_all_received_ms") or {}).get("p99")
    return (report["deliveries"]["lost"] == 0 and report["clients"]["failed"] == 0
            and report["messages"]["acked"] == report["messages"]["sent"] and p99 is not None and p99 <= P99_LIMIT_MS)


def row(kind, r):
    lat = r.get("post_to_all_received_ms") or {}
    ack = r.get("post_to_ack_ms") or {}
    return (f"| {kind} | {r['rate_per_sender']:g} | {r['messages']['per_second']:,.0f} of {r['offered']:,.0f} | {r['deliveries']['per_second']:,.0f} | {r['deliveries']['lost']:,} |"
            f" {ack.get('p50')} / {ack.get('p99')} | {lat.get('p50')} / {lat.get('p99')} / {lat.get('max')} |"
            f" {r['server']['cpu_us_per_delivery']} | {r['load_tool']['cpu_us_per_delivery']} | {r['server']['peak_rss_mb']} |"
            f" {'ok' if passed(r) else 'fails'} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--bytes", type=int, default=100)
    parser.add_argument("--rates", default="5,10,20,40,80,120,160,240,320,480,640")
    parser.add_argument("--only", default="natter,bare,socketio")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    print(f"| server | msg/s per sender | messages/s (of offered) | deliveries/s | lost | post-to-ack p50 / p99 ms | post-to-all p50 / p99 / max ms |"
          f" server CPU µs/delivery | load tool CPU µs/delivery | server peak RSS MB | step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for number, kind in enumerate(args.only.split(",")):
        port = 8210 + number
        data = tempfile.mkdtemp()
        server = start(kind, port, data)
        best = None
        try:
            for rate in rates:
                report = load(kind, port, server.pid, args, rate)
                print(row(kind, report), flush=True)
                if not passed(report):
                    break
                if best is None or report["deliveries"]["per_second"] > best["deliveries"]["per_second"]:
                    best = report
            if kind == "natter" and best:
                # 80% of what Natter really sustained (the senders may not have kept the offered rate).
                report = load(kind, port, server.pid, args, round(best["messages"]["per_second"] * 0.8 / args.senders, 1))
                print(row("natter at 80%", report), flush=True)
                summary["natter_at_80_percent"] = report
        finally:
            server.terminate()
            server.wait()
            shutil.rmtree(data)
        summary[kind] = best
    sustained = {kind: (r or {}).get("deliveries", {}).get("per_second") for kind, r in summary.items()
                 if kind in ("natter", "bare", "socketio")}
    print()
    print("sustained deliveries/s: " + ", ".join(f"{k} {v:,.0f}" if v else f"{k} none" for k, v in sustained.items()))
    if sustained.get("natter") and sustained.get("socketio"):
        print(f"natter / socketio: {sustained['natter'] / sustained['socketio']:.1f}x")
    if sustained.get("natter") and sustained.get("bare"):
        print(f"natter / storage-free baseline: {sustained['natter'] / sustained['bare']:.2f}x")
    print(json.dumps({"sustained": sustained, "runs": summary}))


if __name__ == "__main__":
    main()
