"""The daemon's health check (deploy/healthcheck.py `daemon`) against heartbeats written by
Dagster's own PostgreSQL run storage: healthy only when every daemon the stack needs has beaten
recently. No Docker needed (outside a container the "since start" bound is the 5-minute one)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from dagster._daemon.types import DaemonHeartbeat
from dagster_postgres.run_storage import PostgresRunStorage

from churn_assets.dataset_config import PROJECT_ROOT

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
