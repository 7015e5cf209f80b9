"""The scoring service as a real process (uvicorn on a free port of 127.0.0.1), and a bounded
load of threads sending requests to it; stopped by pid on exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from churn_assets.dataset_config import PROJECT_ROOT
from churn_dev.services import free_port


@contextmanager
def running_service(config: Path, env: dict[str, str], folder: Path,
                    seconds: float = 180) -> Iterator[str]:
    port = free_port()
    log = folder / "service.log"
    environment = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)} | env
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "churn_assets", "--config", str(config), "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            env=environment, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # uvicorn drains and the log flushes
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class LoadResult:
    answers: list[dict] = field(default_factory=list)  # status, versions, rows, started
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        return [a for a in self.answers if a["status"] != 200]

    def rows_answered(self) -> int:
        return sum(a["rows"] for a in self.answers if a["status"] == 200)


def steady_load(url: str, bodies: list[dict], threads: int, until: Callable[[], bool],
                max_seconds: float) -> LoadResult:
    """``threads`` clients POST /predict in turn from ``bodies`` until ``until()`` or
    ``max_seconds``; every answer's status and the set of model versions in it."""
    result, lock = LoadResult(), threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            sent = number
            while not until() and time.monotonic() < deadline:
                body = bodies[sent % len(bodies)]
                started = time.monotonic()
                try:
                    response = http.post("/predict", content=json.dumps(body),
                                         headers={"Content-Type": "application/json"})
                except httpx.HTTPError as error:
                    with lock:
                        result.errors.append(repr(error))
                    continue
                answer = {"status": response.status_code, "started": started,
                          "rows": len(body["dataframe_records"])}
                if response.status_code == 200:
                    answer["versions"] = sorted({p["model_version"] for p in
                                                 response.json()["predictions"]})
                with lock:
                    result.answers.append(answer)
                sent += threads

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return result


def log_counts_when(url: str, condition: Callable[[dict], bool], seconds: float = 120) -> dict:
    """The prediction log's counts from ``/health`` once ``condition`` holds for them: the
    tests wait for what they need to have happened, not for a guessed time."""
    deadline = time.monotonic() + seconds
    while True:
        counts = httpx.get(f"{url}/health").json()["prediction_log"]
        if condition(counts):
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"the prediction log never got there: {counts}")
        time.sleep(0.2)
