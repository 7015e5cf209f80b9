"""``python -m benchmarks.serve_cpu [--requests N] [--rounds R]``: the servers' own CPU time per
request, ours against ``mlflow models serve``, on the same requests in the same minute.

Wall-clock latency on a shared machine measures the neighbours as much as the server; the CPU
seconds a server's processes spend (user + system, every thread and child process, read by
psutil from /proc) over a fixed number of requests hardly depend on them. One client sends
the requests one at a time (keep-alive), so no request waits for another; each round measures
every server in turn, and the figure is the median over the rounds (ms of server CPU per
request) with the 1-minute load average. The servers are ``serve_bench``'s three (ours with
the log on and off, MLflow's own); the log writer's work lands inside the window because the
window closes only after the log's flush interval.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.serve_bench import JSON, bench_servers

SETTLE_SECONDS = 1.0  # > the log's flush interval (0.5 s): its batch is written inside


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (threads included)."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def per_request(client: httpx.Client, pid: int, send, count: int) -> tuple[float, float]:
    """(server CPU ms per request, client-seen wall ms per request) over ``count`` requests."""
    for i in range(3):  # warm-up: connections, caches
        send(client, i)
    time.sleep(SETTLE_SECONDS)
    before, began = cpu_seconds(pid), time.perf_counter()
    for i in range(count):
        response = send(client, i)
        if response.status_code != 200:
            raise RuntimeError(f"answer {response.status_code}: {response.text[:300]}")
    wall = time.perf_counter() - began
    time.sleep(SETTLE_SECONDS)
    idle_before = cpu_seconds(pid)  # what the server burns idle over the same settle time
    time.sleep(SETTLE_SECONDS)
    idle = cpu_seconds(pid) - idle_before
    used = idle_before - before - idle
    return used * 1000 / count, wall * 1000 / count


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per small-request phase")
    parser.add_argument("--thousands", type=int, default=20, help="1,000-row POSTs per phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout of this project: its "
                        "service (log on) measured beside this one, column 'base'")
    args = parser.parse_args(argv)
    print(f"serve cpu: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
    results: dict[str, list[tuple[float, float, float]]] = {}
    with bench_servers(args.baseline) as bench:
        urls, pids = bench.urls, {k: p.pid for k, p in bench.processes.items()}
        ids, singles = bench.ids, bench.singles

        def lookup(key):
            return lambda c, i: c.get(f"{urls[key]}/customers/{ids[i % len(ids)]}")

        def post(key, bodies):
            path = "/invocations" if key == "mlflow" else "/predict"
            return lambda c, i: c.post(f"{urls[key]}{path}", content=bodies[i % len(bodies)],
                                       headers=JSON)

        ours = [key for key in ("base", "on", "off") if key in urls]
        phases = [("GET /customers/{id}", key, lookup(key), args.requests) for key in ours]
        phases += [("POST 1 row", key, post(key, singles), args.requests)
                   for key in (*ours, "mlflow")]
        phases += [("POST 1,000 rows", key, post(key, [bench.thousand]), args.thousands)
                   for key in (*ours, "mlflow")]
        with httpx.Client(timeout=60) as client:
            for round_ in range(args.rounds):
                print(f"  round {round_ + 1} of {args.rounds}", flush=True)
                for name, key, send, count in phases:
                    cpu, wall = per_request(client, pids[key], send, count)
                    load = os.getloadavg()[0]
                    results.setdefault(f"{name}|{key}", []).append((cpu, wall, load))
                    print(f"    {name}, {key}: {cpu:.2f} CPU ms/request, wall {wall:.2f} ms "
                          f"(load {load:.1f})", flush=True)
    report(results)
    return results


def _median(values: list[tuple[float, float, float]], k: int) -> str:
    picked = [v[k] for v in values]
    spread = f" [{min(picked):.2f}-{max(picked):.2f}]" if len(picked) > 1 else ""
    return f"{statistics.median(picked):.2f}{spread}"


def report(results: dict[str, list[tuple[float, float, float]]]) -> None:
    print("\n| request | server | CPU ms / request | wall ms / request | load |\n"
          "|---|---|---|---|---|")
    for label, values in results.items():
        name, key = label.split("|")
        server = {"on": "ours, log on", "off": "ours, log off", "mlflow": "mlflow",
                  "base": "baseline code, log on"}[key]
        loads = [v[2] for v in values]
        print(f"| {name} | {server} | {_median(values, 0)} | {_median(values, 1)} | "
              f"{min(loads):.1f}-{max(loads):.1f} |")
    for name in ("POST 1 row", "POST 1,000 rows"):
        ours, theirs = results.get(f"{name}|on"), results.get(f"{name}|mlflow")
        if ours and theirs:
            ratio = statistics.median(v[0] for v in ours) / statistics.median(
                v[0] for v in theirs)
            print(f"{name}: ours (log on, with reasons) / mlflow CPU = {ratio:.2f}")
    on, off = results.get("GET /customers/{id}|on"), results.get("GET /customers/{id}|off")
    if on and off:
        ratio = statistics.median(v[0] for v in off) / statistics.median(v[0] for v in on)
        print(f"lookups: CPU-bound throughput log on / off = {ratio:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()
