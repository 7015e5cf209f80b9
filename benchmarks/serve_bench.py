"""``BENCH_SERVE=1 make bench`` (or ``python -m benchmarks.serve_bench``): the scoring service
against ``mlflow models serve``, side by side on this machine, same model, same rows.

A small real champion in a temporary MLflow store, its customers pushed through Feast to a
real Redis (``redis-server`` on 127.0.0.1, no persistence). Both servers run as one process each
(uvicorn; MLflow's own server with ``--workers 1``); the load comes from asyncio + httpx
in this process, open loop (requests sent on a fixed schedule, so a slow answer does not
slow the sender). Measured:

- ``GET /customers/{id}`` (features from Redis through Feast, then scored with reasons) at
  200 req/s:
  p50 and p99; MLflow has no lookup, so its column is ``POST /invocations`` of the same
  single row;
- sustained throughput: the highest open-loop rate whose p99 stays under 100 ms and that
  is delivered at >= 95 % of the asked rate;
- ``POST /predict`` of 1,000 raw rows (ours with reasons; MLflow's two columns): median;
- ours with ``serving.log_predictions`` on and off (the same sustained-rate search).

Everything stops by itself: each phase is bounded in requests and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import yaml

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets.serving.online_store import open_store, store_location
from churn_dev.redis_server import running_redis
from churn_dev.services import free_port

RATES = (200, 300, 400, 500, 700, 1000)
PHASE_SECONDS = 5.0
GRACE_SECONDS = 10.0
P99_LIMIT_MS = 100.0


@contextmanager
def server(command: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[None]:
    with log.open("w") as out:
        process = subprocess.Popen(command, env=os.environ | env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=log.parent)
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
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def _open_loop(make, rate: float, seconds: float) -> dict:
    """Send ``make(client, i)`` ``rate`` times a second for ``seconds``; latencies in ms."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        async def one(i: int) -> None:
            nonlocal failures
            start = time.perf_counter()
            try:
                response = await make(client, i)
                if response.status_code != 200:
                    failures += 1
            except httpx.HTTPError:
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
        done, pending = await asyncio.wait(tasks, timeout=GRACE_SECONDS)
        for task in pending:
            task.cancel()
        failures += len(pending)
        elapsed = time.perf_counter() - began
    values = np.asarray(latencies + [elapsed * 1000] * len(pending))
    return {"rate": rate, "sent": total, "failed": failures,
            "achieved": len(latencies) / elapsed,
            "p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))}


def run(make, rate: float, seconds: float = PHASE_SECONDS) -> dict:
    return asyncio.run(_open_loop(make, rate, seconds))


def sustained(make) -> tuple[float, list[dict]]:
    """The highest rate of ``RATES`` delivered (>= 95 %) with p99 under the limit."""
    best, phases = 0.0, []
    for rate in RATES:
        phase = run(make, rate)
        phases.append(phase)
        print(f"    {rate:>5} req/s asked: {phase['achieved']:.0f} delivered, "
              f"p50 {phase['p50_ms']:.1f} ms, p99 {phase['p99_ms']:.1f} ms, "
              f"{phase['failed']} failed", flush=True)
        if phase["p99_ms"] > P99_LIMIT_MS or phase["achieved"] < 0.95 * rate or phase["failed"]:
            break
        best = phase["achieved"]
    return best, phases


def batch_latency(url: str, body: bytes, repeats: int = 10) -> float:
    with httpx.Client(timeout=60) as client:
        headers = {"Content-Type": "application/json"}
        client.post(url, content=body, headers=headers)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            assert client.post(url, content=body, headers=headers).status_code == 200
            times.append((time.perf_counter() - start) * 1000)
    print(f"    POST 1,000 rows to {url.rsplit('/', 1)[-1]}: median {np.median(times):.0f} ms",
          flush=True)
    return float(np.median(times))


def sequential(urls_bodies: list[tuple[str, bytes | None]], repeats: int = 200) -> dict:
    """One client, one request at a time (closed loop): latency without queueing, the figure
    least bent by a busy machine's own load generator."""
    times = []
    with httpx.Client(timeout=60) as client:
        for i in range(repeats + 5):
            url, body = urls_bodies[i % len(urls_bodies)]
            start = time.perf_counter()
            response = client.get(url) if body is None else client.post(
                url, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 200, response.text[:300]
            if i >= 5:  # warm-up left out
                times.append((time.perf_counter() - start) * 1000)
    figures = {"p50_ms": float(np.percentile(times, 50)),
               "p99_ms": float(np.percentile(times, 99)),
               "per_second": 1000 / float(np.mean(times))}
    print(f"    one client, {urls_bodies[0][0].rsplit('/', 2)[-2:]}: p50 {figures['p50_ms']:.1f} "
          f"ms, p99 {figures['p99_ms']:.1f} ms", flush=True)
    return figures


def post_row(url: str, bodies: list[bytes]):
    headers = {"Content-Type": "application/json"}
    return lambda client, i: client.post(url, content=bodies[i % len(bodies)], headers=headers)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    sys.path.insert(0, str(PROJECT_ROOT))
    from churn_assets_tests.helpers.served_champion import register_champion

    print(f"serve bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    results: dict = {}
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
        for logging_on in (True, False):
            config = folder / f"dataset-{logging_on}.yaml"
            config.write_text(yaml.safe_dump({
                "source": "unused.csv", "target": "Churn", "positive_label": "Yes",
                "id_column": "customerID", "model_name": champion.name,
                "serving": {"log_predictions": logging_on, "poll_seconds": 300}}))
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            command = [sys.executable, "-m", "churn_assets", "--config", str(config), "serve",
                       "--host", "127.0.0.1", "--port", str(port)]
            key = "ours" if logging_on else "ours_no_log"
            print(f"  {key}:", flush=True)
            with server(command, env, f"{url}/health", folder / f"{key}.log"):
                lookup = lambda client, i, url=url: client.get(  # noqa: E731
                    f"{url}/customers/{ids[i % len(ids)]}")
                results[f"{key}_lookup_sequential"] = sequential(
                    [(f"{url}/customers/{i}", None) for i in ids[:200]])
                if logging_on:
                    results["ours_single_sequential"] = sequential(
                        [(f"{url}/predict", body) for body in singles[:200]])
                    results["lookup_200"] = run(lookup, 200)
                    results["ours_predict_1000_ms"] = batch_latency(f"{url}/predict", thousand)
                    results["ours_single_200"] = run(post_row(f"{url}/predict", singles), 200)
                results[f"{key}_sustained"], _ = sustained(lookup)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m",
                   f"models:/{champion.name}@champion", "--env-manager", "local",
                   "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        print("  mlflow models serve:", flush=True)
        with server(command, env, f"{url}/ping", folder / "mlflow-serve.log"):
            invocations = post_row(f"{url}/invocations", singles)
            results["mlflow_single_sequential"] = sequential(
                [(f"{url}/invocations", body) for body in singles[:200]])
            results["mlflow_single_200"] = run(invocations, 200)
            results["mlflow_predict_1000_ms"] = batch_latency(f"{url}/invocations", thousand)
            results["mlflow_sustained"], _ = sustained(invocations)
    results["load_average_end"] = os.getloadavg()[0]
    report(results)
    return results


def report(r: dict) -> None:
    lookup, ours1, theirs1 = r["lookup_200"], r["ours_single_200"], r["mlflow_single_200"]
    seq, seq_off = r["ours_lookup_sequential"], r["ours_no_log_lookup_sequential"]
    ours_seq, theirs_seq = r["ours_single_sequential"], r["mlflow_single_sequential"]
    rows = [
        ("one client: GET /customers/{id} p50 ms", seq["p50_ms"], theirs_seq["p50_ms"],
         "mlflow: POST the same row"),
        ("one client: GET /customers/{id} p99 ms", seq["p99_ms"], theirs_seq["p99_ms"], ""),
        ("one client: POST 1 row p50 ms", ours_seq["p50_ms"], theirs_seq["p50_ms"],
         "ours adds reasons"),
        ("one client: POST 1 row p99 ms", ours_seq["p99_ms"], theirs_seq["p99_ms"], ""),
        ("one client: lookups/s, logging on / off", seq["per_second"], seq_off["per_second"],
         "ratio = on / off"),
        ("GET /customers/{id} @200/s p50 ms (Feast/Redis + reasons)", lookup["p50_ms"],
         theirs1["p50_ms"], "mlflow: POST 1 row"),
        ("GET /customers/{id} @200/s p99 ms", lookup["p99_ms"], theirs1["p99_ms"], ""),
        ("POST 1 row @200/s p50 ms", ours1["p50_ms"], theirs1["p50_ms"], ""),
        ("POST 1 row @200/s p99 ms", ours1["p99_ms"], theirs1["p99_ms"], ""),
        ("POST 1,000 rows median ms", r["ours_predict_1000_ms"], r["mlflow_predict_1000_ms"],
         "ours adds reasons"),
        ("sustained req/s (p99 < 100 ms)", r["ours_sustained"], r["mlflow_sustained"],
         "ours: lookups; mlflow: 1-row POST"),
        ("sustained req/s, logging off", r["ours_no_log_sustained"], float("nan"), ""),
    ]
    print("\n| measure | ours | mlflow models serve | ratio | note |\n|---|---|---|---|---|")
    for name, ours, theirs, note in rows:
        ratio = ours / theirs if theirs == theirs and theirs else float("nan")
        print(f"| {name} | {ours:.1f} | {theirs:.1f} | {ratio:.2f} | {note} |")
    print(f"\nload average at the end: {r['load_average_end']:.1f}")


if __name__ == "__main__":
    main()
