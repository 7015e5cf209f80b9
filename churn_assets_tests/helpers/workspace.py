"""Test fixtures' workspace: the project itself lives in ``churn_dev.workspace``
(the benchmarks use it too). The workspace's definitions are built from its own settings;
nothing here sets the project's variables in the environment."""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
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
           "file_fingerprint", "materialize_graph", "mlflow_pointed_at", "open_server_workspace",
           "open_workspace"]


@contextmanager
def mlflow_pointed_at(uri: str) -> Iterator[None]:
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


@functools.cache
def _migrated_empty_store() -> Path:
    """An empty MLflow SQLite store with every schema migration applied, made once per test
    process. A new store migrates on first use: about 4.5 CPU s (a child process importing
    MLflow, then 2.4 s of migrations), paid by every workspace; the suite opens about a
    hundred. The store's creation itself is tested in registry/test_store_warmup.py and by
    the bare commands."""
    folder = Path(tempfile.mkdtemp(prefix="churn-mlflow-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    store = folder / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{store}").search_experiments(max_results=1)
    return store


def seed_mlflow_store(store: Path, working_dir: Path) -> None:
    """Put a migrated empty store at ``store``, as MLflow would create it with ``working_dir``
    as the current folder (the Default experiment's artifacts go under ./mlruns there)."""
    store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_empty_store(), store)
    with sqlite3.connect(store) as database:
        database.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                         (str(working_dir / "mlruns" / "0"),))
    database.close()


@functools.cache
def _empty_instance_folder() -> Path:
    """An empty Dagster instance's folder (SQLite run, event-log index and schedule storage,
    schema created), made once per test process: creating one costs about 0.36 CPU s, a
    copy opened in its place 0.06."""
    folder = Path(tempfile.mkdtemp(prefix="churn-dagster-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    with dg.instance_for_test(temp_dir=str(folder)) as instance:
        instance.get_runs(limit=1)
    return folder


@contextmanager
def fresh_instance(overrides: dict | None = None) -> Iterator[dg.DagsterInstance]:
    """``dg.instance_for_test`` on a copy of the empty instance folder, removed afterwards."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        shutil.copytree(_empty_instance_folder(), folder, dirs_exist_ok=True)
        with dg.instance_for_test(overrides=overrides, temp_dir=folder) as instance:
            yield instance


def open_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChurnWorkspace]:
    monkeypatch.chdir(root)
    with fresh_instance() as instance:
        workspace = ChurnWorkspace(root, instance)
        seed_mlflow_store(Path(workspace.tracking_uri.removeprefix("sqlite:///")), root)
        with mlflow_pointed_at(workspace.tracking_uri):
            yield workspace


@contextmanager
def open_server_workspace(root: Path, monkeypatch: pytest.MonkeyPatch, log_handler: str
                          ) -> Iterator[tuple[ChurnWorkspace, MlflowServer]]:
    """A workspace tracking to a real ``mlflow server`` that the fault tests kill and restart;
    ``log_handler`` (a class path) sees every Dagster log record, to strike at a chosen step."""
    seed_mlflow_store(root / "server.db", root)  # the server's own store, migrated
    server = MlflowServer(root)
    server.start()
    # MLflow's own client setting (not the project's): fail now, not after minutes of retries.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.chdir(root)
    handler = {"handlers": {"fault": {"()": log_handler}}}
    try:
        with fresh_instance(overrides={"python_logs": {
                "dagster_handler_config": handler}}) as instance:
            workspace = ChurnWorkspace(root, instance)
            workspace.configure(tracking_uri=server.url)
            with mlflow_pointed_at(server.url):
                yield workspace, server
    finally:
        server.kill()
