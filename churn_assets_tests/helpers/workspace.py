"""Test fixtures' workspace: the project itself lives in ``churn_dev.workspace``
(the benchmarks use it too). The workspace's definitions are built from its own settings;
nothing here sets the project's variables in the environment."""

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


@contextmanager
def _mlflow_pointed_at(uri: str) -> Iterator[None]:
    """MLflow's process-global store (read by `mlflow.pyfunc.load_model("models:/...")` and
    the fluent API in tests) is the workspace's while it is open; the previous one after."""
    before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(before[0])
        mlflow.set_registry_uri(before[1])


def open_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChurnWorkspace]:
    monkeypatch.chdir(root)
    with dg.instance_for_test() as instance:
        workspace = ChurnWorkspace(root, instance)
        with _mlflow_pointed_at(workspace.tracking_uri):
            yield workspace


@contextmanager
def open_server_workspace(root: Path, monkeypatch: pytest.MonkeyPatch, log_handler: str
                          ) -> Iterator[tuple[ChurnWorkspace, MlflowServer]]:
    """A workspace tracking to a real ``mlflow server`` that the fault tests kill and restart;
    ``log_handler`` (a class path) sees every Dagster log record, to strike at a chosen step."""
    server = MlflowServer(root)
    server.start()
    # MLflow's own client setting (not the project's): fail now, not after minutes of retries.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.chdir(root)
    handler = {"handlers": {"fault": {"()": log_handler}}}
    try:
        with dg.instance_for_test(overrides={"python_logs": {
                "dagster_handler_config": handler}}) as instance:
            workspace = ChurnWorkspace(root, instance)
            workspace.configure(tracking_uri=server.url)
            with _mlflow_pointed_at(server.url):
                yield workspace, server
    finally:
        server.kill()
