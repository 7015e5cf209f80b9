"""``make bench-serve`` (or ``BENCH_SERVE=1 make bench``, ``python -m benchmarks.serve_bench``):
the scoring service against ``mlflow models serve``, side by side on this machine, same model,
same rows.

A small real champion in a temporary MLflow store, its customers pushed through Feast to a
real Redis (``redis-server`` on 127.0.0.1, no persistence). Three servers run at once, one
process each: ours with the prediction log on (a SQLite file), ours with it off (uvicorn),
and MLflow's own (``--workers 1``). Each repeat measures the three in turn, so a change in
the machine's load falls on all columns alike; every figure is the median over the repeats
with its spread (min-max) and the load average while it was measured. The load comes from
asyncio + aiohttp (uvloop) in this process. Measured:

- one client, one request at a time (closed loop): latency without queueing, the figure
  least bent by a busy machine's own load generator;
- ``GET /customers/{id}`` (features from Redis through Feast, then scored with reasons) at
  200 req/s, open loop (sent on a fixed schedule, so a slow answer does not slow the sender):
  p50 and p99. MLflow has no lookup: its column is ``POST /invocations`` of the same row;
- sustained: the highest open-loop rate whose p99 stays under 100 ms, delivered at >= 95 %;
- saturated throughput: 16 clients sending back to back for a few seconds (logging on vs
  off compared here: the same saturation, only the log differs);
- ``POST`` of 1,000 raw rows (ours with reasons; MLflow's two columns): median of 10.

Everything stops by itself: each phase is bounded in requests and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import yaml

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets.serving.online_store import open_store, store_location
from churn_dev.redis_server import running_redis
from churn_dev.services import free_port

RATES = (200, 300, 400, 500, 600, 700, 800, 1000, 1200)
PHASE_SECONDS = 5.0
GRACE_SECONDS = 10.0
P99_LIMIT_MS = 100.0
SATURATING_CLIENTS = 16
JSON = {"Content-Type": "application/json"}


@contextmanager
def server(command: list[str], env: dict[str, str], health: str, log: Path,
           cwd: str | None = None) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(command, env=os.environ | env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=cwd or log.parent)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[:4]} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Requests:
    """One kind of request: ``GET url`` or ``POST`` of one of ``bodies`` in turn."""

    def __init__(self, urls: list[str], bodies: list[bytes] | None = None):
        self.urls, self.bodies = urls, bodies

    async def send(self, session: aiohttp.ClientSession, i: int) -> bool:
        url = self.urls[i % len(self.urls)]
        if self.bodies is None:
            call = session.get(url)
        else:
            call = session.post(url, data=self.bodies[i % len(self.bodies)], headers=JSON)
        async with call as response:
            await response.read()
            return response.status == 200


def _session(connections: int = 256) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections),
                                 timeout=aiohttp.ClientTimeout(total=30))


def measure(coroutine) -> dict:
    """Run one phase on uvloop; the load average (1 min) when it ended goes with it."""
    import uvloop

    figures = uvloop.run(coroutine)
    figures["load"] = os.getloadavg()[0]
    return figures


async def open_loop(requests: Requests, rate: float, seconds: float = PHASE_SECONDS) -> dict:
    """``rate`` requests a second for ``seconds``, each on schedule; latencies in ms."""
    latencies: list[float] = []
    failures = 0
    async with _session() as session:
        async def one(i: int) -> None:
            nonlocal failures
            start = time.perf_counter()
            try:
                failures += not await requests.send(session, i)
            except (TimeoutError, aiohttp.ClientError):
                failures += 1
            latencies.append((time.perf_counter() - start) * 1000)

        total, began, tasks = int(rate * seconds), time.perf_counter(), []
        for i in range(total):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > GRACE_SECONDS:  # this process cannot even send at that rate
                failures += total - i
                break
            tasks.append(asyncio.create_task(one(i)))
        # Bounded: answers still missing GRACE_SECONDS after the last send count as failed
        # (an overloaded server would otherwise keep the bench waiting for minutes).
        _, pending = await asyncio.wait(tasks, timeout=GRACE_SECONDS)
        for task in pending:
            task.cancel()
        failures += len(pending)
        elapsed = time.perf_counter() - began
    values = np.asarray(latencies + [elapsed * 1000] * len(pending))
    return {"rate": rate, "sent": total, "failed": failures,
            "achieved": len(latencies) / elapsed,
            "p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))}


async def closed_loop(requests: Requests, clients: int, seconds: float = PHASE_SECONDS,
                      warm_up: int = 5) -> dict:
    """``clients`` senders, each sending its next request when the last is answered."""
    times: list[float] = []
    failures = 0
    async with _session(clients) as session:
        for i in range(warm_up):
            await requests.send(session, i)
        stop = time.perf_counter() + seconds

        async def sender(offset: int) -> None:
            nonlocal failures
            i = offset
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    failures += not await requests.send(session, i)
                except (TimeoutError, aiohttp.ClientError):
                    failures += 1
                times.append((time.perf_counter() - start) * 1000)
                i += clients

        began = time.perf_counter()
        await asyncio.gather(*(sender(k) for k in range(clients)))
        elapsed = time.perf_counter() - began
    return {"per_second": len(times) / elapsed, "failed": failures,
            "p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def sustained(requests: Requests) -> dict:
    """The highest rate of ``RATES`` delivered (>= 95 %) with p99 under the limit."""
    best = {"per_second": 0.0, "load": os.getloadavg()[0]}
    for rate in RATES:
        phase = measure(open_loop(requests, rate))
        print(f"      {rate:>5} req/s asked: {phase['achieved']:.0f} delivered, "
              f"p50 {phase['p50_ms']:.1f} ms, p99 {phase['p99_ms']:.1f} ms, "
              f"{phase['failed']} failed (load {phase['load']:.1f})", flush=True)
        if phase["p99_ms"] > P99_LIMIT_MS or phase["achieved"] < 0.95 * rate or phase["failed"]:
            break
        best = {"per_second": phase["achieved"], "load": phase["load"]}
    return best


def batch(requests: Requests, repeats: int = 10) -> dict:
    async def run() -> dict:
        async with _session(1) as session:
            await requests.send(session, 0)  # warm-up
            times = []
            for i in range(repeats):
                start = time.perf_counter()
                assert await requests.send(session, i)
                times.append((time.perf_counter() - start) * 1000)
        return {"median_ms": float(np.median(times))}
    return measure(run())


def show(label: str, figures: dict) -> dict:
    shown = ", ".join(f"{k} {v:.1f}" for k, v in figures.items() if k not in ("rate", "sent"))
    print(f"    {label}: {shown}", flush=True)
    return figures


def one_repeat(urls: dict[str, str], ids: list[str], singles: list[bytes], thousand: bytes,
               rates: bool) -> dict[str, dict]:
    """Every measure once, the three servers in turn."""
    lookups = {k: Requests([f"{urls[k]}/customers/{i}" for i in ids]) for k in ("on", "off")}
    rows = {"on": Requests([f"{urls['on']}/predict"], singles),
            "mlflow": Requests([f"{urls['mlflow']}/invocations"], singles)}
    thousands = {"on": Requests([f"{urls['on']}/predict"], [thousand]),
                 "mlflow": Requests([f"{urls['mlflow']}/invocations"], [thousand])}
    r: dict[str, dict] = {}
    for key in ("on", "off"):
        r[f"seq_lookup_{key}"] = show(f"one client, lookups, log {key}",
                                      measure(closed_loop(lookups[key], 1)))
    for key in ("on", "mlflow"):
        r[f"seq_row_{key}"] = show(f"one client, 1-row POST, {key}",
                                   measure(closed_loop(rows[key], 1)))
    r["lookup_200"] = show("lookups at 200/s", measure(open_loop(lookups["on"], 200)))
    for key in ("on", "mlflow"):
        r[f"row_200_{key}"] = show(f"1-row POST at 200/s, {key}",
                                   measure(open_loop(rows[key], 200)))
        r[f"thousand_{key}"] = show(f"POST 1,000 rows, {key}", batch(thousands[key]))
    for key in ("on", "off"):
        r[f"saturated_lookup_{key}"] = show(
            f"{SATURATING_CLIENTS} clients, lookups, log {key}",
            measure(closed_loop(lookups[key], SATURATING_CLIENTS)))
    r["saturated_row_mlflow"] = show(f"{SATURATING_CLIENTS} clients, 1-row POST, mlflow",
                                     measure(closed_loop(rows["mlflow"], SATURATING_CLIENTS)))
    if rates:
        for key, requests in (("lookup_on", lookups["on"]), ("lookup_off", lookups["off"]),
                              ("row_mlflow", rows["mlflow"])):
            print(f"    sustained, {key}:", flush=True)
            r[f"sustained_{key}"] = sustained(requests)
    return r


@dataclass
class Bench:
    """The three servers running and what is sent to them."""

    urls: dict[str, str]  # "on", "off" (ours, log on / off), "mlflow"
    processes: dict[str, subprocess.Popen]
    ids: list[str]
    singles: list[bytes]  # 1-row POST bodies
    thousand: bytes  # one 1,000-row POST body


@contextmanager
def bench_servers(baseline: Path | None = None) -> Iterator[Bench]:
    """A small real champion, its customers in Redis through Feast, and the three servers;
    with ``baseline`` (another checkout of this project) a fourth, ``base``: that code's
    service, log on, for a before/after in the same minutes."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from churn_assets_tests.helpers.served_champion import register_champion

    with tempfile.TemporaryDirectory(prefix="churn-serve-bench-") as tmp, running_redis() as redis:
        folder = Path(tmp)
        champion = register_champion(folder / "mlflow", name="churn-bench")
        rows = champion.raw_rows
        # The registry where the service (CHURN_STATE_DIR below) looks for it.
        registry = str(folder / "state" / "assets")
        open_store(champion.name, "customerID", store_location(redis, registry)).push([rows])
        ids = rows["customerID"].tolist()
        singles = [json.dumps({"dataframe_records": [r]}).encode()
                   for r in json.loads(rows.head(500).to_json(orient="records"))]
        thousand = json.dumps({"dataframe_split": json.loads(rows.sample(
            1000, replace=True, random_state=0).to_json(orient="split", index=False))}).encode()
        env = {"MLFLOW_TRACKING_URI": champion.tracking_uri, "CHURN_ONLINE_STORE_URL": redis,
               "CHURN_STATE_DIR": str(folder / "state"), "PYTHONPATH": str(PROJECT_ROOT),
               "MLFLOW_REGISTRY_URI": champion.tracking_uri,
               "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
        urls, servers = {}, {}
        for key, logging_on in (("on", True), ("off", False)):
            config = folder / f"dataset-{key}.yaml"
            config.write_text(yaml.safe_dump({
                "source": "unused.csv", "target": "Churn", "positive_label": "Yes",
                "id_column": "customerID", "model_name": champion.name,
                "serving": {"log_predictions": logging_on, "poll_seconds": 300}}))
            port = free_port()
            urls[key] = f"http://127.0.0.1:{port}"
            servers[key] = ([sys.executable, "-m", "churn_assets", "--config", str(config),
                             "serve", "--host", "127.0.0.1", "--port", str(port)],
                            f"{urls[key]}/health", folder / f"ours-{key}.log")
        overrides = {}
        if baseline is not None:
            port = free_port()
            urls["base"] = f"http://127.0.0.1:{port}"
            servers["base"] = ([sys.executable, "-m", "churn_assets", "--config",
                                str(folder / "dataset-on.yaml"), "serve", "--host", "127.0.0.1",
                                "--port", str(port)], f"{urls['base']}/health",
                               folder / "base-on.log")
            overrides["base"] = {"PYTHONPATH": str(baseline),  # and its folder as cwd
                                 "CHURN_PREDICTION_LOG_URL": f"sqlite:///{folder / 'base.db'}"}
        port = free_port()
        urls["mlflow"] = f"http://127.0.0.1:{port}"
        servers["mlflow"] = ([sys.executable, "-m", "mlflow", "models", "serve", "-m",
                              f"models:/{champion.name}@champion", "--env-manager", "local",
                              "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                             f"{urls['mlflow']}/ping", folder / "mlflow-serve.log")
        with ExitStack() as running:
            processes = {key: running.enter_context(server(
                command, env | overrides.get(key, {}), health, log, cwd=overrides.get(
                    key, {}).get("PYTHONPATH"))) for key, (command, health, log) in servers.items()}
            for key in ("on", "off", "base"):
                if key in urls:
                    wait_for_lookups(urls[key], ids[0])
            yield Bench(urls, processes, ids, singles, thousand)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sustained", action="store_true",
                        help="skip the sustained-rate search (the longest part)")
    args = parser.parse_args(argv)
    print(f"serve bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    with bench_servers() as bench:
        repeats = []
        for repeat in range(args.repeats):
            print(f"  repeat {repeat + 1} of {args.repeats} "
                  f"(load average {os.getloadavg()[0]:.1f}):", flush=True)
            repeats.append(one_repeat(bench.urls, bench.ids, bench.singles, bench.thousand,
                                      not args.no_sustained))
        health = httpx.get(f"{bench.urls['on']}/health").json()["prediction_log"]
    print(f"  prediction log of the logging server at the end: {health}")
    report(repeats)
    return {"repeats": repeats, "log": health}


def wait_for_lookups(url: str, customer: str, seconds: float = 120) -> None:
    """Feast opens in the background at start: lookups answer 404 until it has."""
    deadline = time.monotonic() + seconds
    while httpx.get(f"{url}/customers/{customer}", timeout=30).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered a lookup")
        time.sleep(0.5)


def _summary(repeats: list[dict], key: str, field: str) -> tuple[float, str]:
    """(median, "median [min-max] (load a-b)") over the repeats; nan when not measured."""
    found = [r[key] for r in repeats if key in r and field in r[key]]
    if not found:
        return float("nan"), "-"
    values = [f[field] for f in found]
    loads = [f["load"] for f in found]
    middle = statistics.median(values)
    spread = f" [{min(values):.1f}-{max(values):.1f}]" if len(values) > 1 else ""
    return middle, f"{middle:.1f}{spread} (load {min(loads):.1f}-{max(loads):.1f})"


ROWS: list[tuple[str, tuple[str, str], tuple[str, str] | None, str]] = [
    ("one client: GET /customers/{id} p50 ms", ("seq_lookup_on", "p50_ms"),
     ("seq_row_mlflow", "p50_ms"), "mlflow: POST the same row"),
    ("one client: GET /customers/{id} p99 ms", ("seq_lookup_on", "p99_ms"),
     ("seq_row_mlflow", "p99_ms"), ""),
    ("one client: POST 1 row p50 ms", ("seq_row_on", "p50_ms"), ("seq_row_mlflow", "p50_ms"),
     "ours adds reasons"),
    ("GET /customers/{id} @200/s p50 ms (target <= 5)", ("lookup_200", "p50_ms"),
     ("row_200_mlflow", "p50_ms"), "mlflow: POST 1 row"),
    ("GET /customers/{id} @200/s p99 ms (target <= 25)", ("lookup_200", "p99_ms"),
     ("row_200_mlflow", "p99_ms"), ""),
    ("POST 1 row @200/s p50 ms", ("row_200_on", "p50_ms"), ("row_200_mlflow", "p50_ms"), ""),
    ("POST 1 row @200/s p99 ms", ("row_200_on", "p99_ms"), ("row_200_mlflow", "p99_ms"), ""),
    ("POST 1,000 rows median ms (target <= 60)", ("thousand_on", "median_ms"),
     ("thousand_mlflow", "median_ms"), "ours adds reasons"),
    ("sustained req/s, p99 < 100 ms (target >= 500)", ("sustained_lookup_on", "per_second"),
     ("sustained_row_mlflow", "per_second"), "ours: lookups; mlflow: 1-row POST"),
    (f"saturated req/s, {SATURATING_CLIENTS} clients", ("saturated_lookup_on", "per_second"),
     ("saturated_row_mlflow", "per_second"), "ours: lookups; mlflow: 1-row POST"),
    ("logging on / off: saturated lookups/s (target: on >= 0.9 x off)",
     ("saturated_lookup_on", "per_second"), ("saturated_lookup_off", "per_second"),
     "right column: ours, log off"),
    ("logging on / off: sustained lookups/s", ("sustained_lookup_on", "per_second"),
     ("sustained_lookup_off", "per_second"), "right column: ours, log off"),
]


def report(repeats: list[dict]) -> None:
    print(f"\n{len(repeats)} repeat(s): median [min-max] (1-minute load average while "
          "measured)\n\n| measure | ours | mlflow models serve | ratio | note |\n"
          "|---|---|---|---|---|")
    for name, ours_key, theirs_key, note in ROWS:
        ours, ours_text = _summary(repeats, *ours_key)
        theirs, theirs_text = _summary(repeats, *theirs_key) if theirs_key else (np.nan, "-")
        ratio = ours / theirs if theirs == theirs and theirs else float("nan")
        print(f"| {name} | {ours_text} | {theirs_text} | {ratio:.2f} | {note} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
