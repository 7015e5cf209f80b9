"""The stack's health checks (deploy/healthcheck.py) against the real thing, no Docker needed:
the daemon's against heartbeats written by Dagster's own PostgreSQL run storage (healthy only
when every daemon the stack needs has beaten recently; outside a container the "since start"
bound is the 5-minute one), the webserver's against a real dagster-webserver and code server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster._daemon.types import DaemonHeartbeat
from dagster_postgres.run_storage import PostgresRunStorage

from churn_assets.dataset_config import PROJECT_ROOT
from churn_dev.services import free_port

SCRIPT = PROJECT_ROOT / "deploy" / "healthcheck.py"
NEEDED = ["SENSOR", "SCHEDULER", "BACKFILL", "QUEUED_RUN_COORDINATOR", "MONITORING",
          "EVENT_LOG_CONSUMER"]


def check(port: int, database: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "daemon"], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "DAGSTER_PG_HOST": "127.0.0.1",
                               "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_DB": database,
                               "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_PASSWORD": "unused"})


@pytest.fixture
def storage(postgres_database: tuple[int, str]) -> PostgresRunStorage:
    port, database = postgres_database
    return PostgresRunStorage(f"postgresql://dagster@127.0.0.1:{port}/{database}")


def test_every_daemon_beating_is_healthy(storage, postgres_database) -> None:
    for kind in [*NEEDED, "ASSET"]:
        storage.add_daemon_heartbeat(DaemonHeartbeat(time.time(), kind, "d1"))
    done = check(*postgres_database)
    assert done.returncode == 0, done.stderr


def test_silent_or_stale_daemon_is_named(storage, postgres_database) -> None:
    assert "SENSOR" in check(*postgres_database).stderr  # no heartbeat at all yet
    for kind in NEEDED:
        old = kind == "MONITORING"
        storage.add_daemon_heartbeat(DaemonHeartbeat(time.time() - (600 if old else 0), kind,
                                                     "d1"))
    done = check(*postgres_database)
    assert done.returncode != 0
    assert done.stderr.strip().endswith("UTC from MONITORING"), done.stderr


def test_webserver_is_healthy_only_once_its_code_location_is_loaded(tmp_path) -> None:
    """The stack starts the webserver beside the code server (deploy/compose.yaml): a real
    dagster-webserver whose gRPC code location is not up yet fails the check, naming it, and
    passes by itself once a real `dagster api grpc` answers on that port (Dagster's
    workspace watcher retries an unreachable location every 10 s)."""
    (tmp_path / "tiny_defs.py").write_text(
        "import dagster as dg\n\n@dg.asset\ndef one() -> int:\n    return 1\n\n"
        "defs = dg.Definitions(assets=[one])\n")
    grpc_port, web_port = free_port(), free_port()
    (tmp_path / "workspace.yaml").write_text(
        f"load_from:\n  - grpc_server: {{host: 127.0.0.1, port: {grpc_port}, "
        f"location_name: tiny}}\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    url = f"http://127.0.0.1:{web_port}"
    started = []
    try:
        started.append(subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1",
             "-p", str(web_port), "-w", str(tmp_path / "workspace.yaml")], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        first = wait_for_check(url, lambda done: "not loaded" in done.stderr)
        assert "code location not loaded yet: tiny" in first.stderr, first.stderr
        started.append(subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster")), "api", "grpc", "-h", "127.0.0.1",
             "-p", str(grpc_port), "-f", str(tmp_path / "tiny_defs.py"), "--location-name",
             "tiny"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        assert wait_for_check(url, lambda done: done.returncode == 0).returncode == 0
    finally:
        for process in reversed(started):
            process.terminate()
            try:  # a server still importing may not act on SIGTERM soon on a busy machine
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_check(url: str, wanted, timeout: float = 180) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run([sys.executable, str(SCRIPT), "webserver", url],
                              capture_output=True, text=True, timeout=30)
        if wanted(done) or time.monotonic() > deadline:
            return done
        time.sleep(1)
