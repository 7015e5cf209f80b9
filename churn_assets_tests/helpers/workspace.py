"""Test fixtures' workspace: the project itself lives in ``churn_dev.workspace``
(the benchmarks use it too); here only what needs pytest's monkeypatch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import mlflow
import pytest

from churn_dev.services import MlflowServer
from churn_dev.workspace import (
    FAST_TUNING,
    SHARED_TELCO,
    SMALL_EXPECTATIONS,
    ChurnWorkspace,
    customers,
    file_fingerprint,
    materialize_graph,
)

__all__ = ["FAST_TUNING", "SHARED_TELCO", "SMALL_EXPECTATIONS", "ChurnWorkspace", "customers",
           "file_fingerprint", "materialize_graph", "open_server_workspace", "open_workspace"]


def open_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChurnWorkspace]:
    monkeypatch.setenv("CHURN_STATE_DIR", str(root / "state"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow' / 'mlflow.db'}")
    monkeypatch.setenv("CHURN_DATASET_CONFIG", str(root / "dataset.yaml"))
    monkeypatch.delenv("CHURN_STORAGE_URI", raising=False)
    monkeypatch.chdir(root)
    with dg.instance_for_test() as instance:
        yield ChurnWorkspace(root, instance)
    while mlflow.active_run():
        mlflow.end_run()


@contextmanager
def open_server_workspace(root: Path, monkeypatch: pytest.MonkeyPatch, log_handler: str
                          ) -> Iterator[tuple[ChurnWorkspace, MlflowServer]]:
    """A workspace tracking to a real ``mlflow server`` that the fault tests kill and restart;
    ``log_handler`` (a class path) sees every Dagster log record, to strike at a chosen step."""
    server = MlflowServer(root)
    server.start()
    monkeypatch.setenv("CHURN_STATE_DIR", str(root / "state"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail now, not after minutes
    monkeypatch.setenv("CHURN_DATASET_CONFIG", str(root / "dataset.yaml"))
    monkeypatch.chdir(root)
    handler = {"handlers": {"fault": {"()": log_handler}}}
    try:
        with dg.instance_for_test(overrides={"python_logs": {
                "dagster_handler_config": handler}}) as instance:
            yield ChurnWorkspace(root, instance), server
    finally:
        server.kill()
        while mlflow.active_run():
            mlflow.end_run()
