"""A new local MLflow store is created by a child process started when the run's resources
are set up; the first step that tracks waits for it; nobody ever sees a half-made store."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import mlflow

from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.registry import store_warmup
from churn_assets.registry.store_warmup import await_store_warmup, start_store_warmup


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "mlflow.db")


def test_the_child_creates_a_complete_store_and_leaves_nothing_else(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    assert start_store_warmup(uri)
    assert not start_store_warmup(uri)  # one child per store and process
    await_store_warmup(uri)

    assert (tmp_path / "store" / "mlflow.db").is_file()
    assert _leftovers(tmp_path / "store") == []
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert [e.name for e in client.search_experiments()] == ["Default"]
    client.create_registered_model("churn-warm")  # the registry's tables are there too
    assert not start_store_warmup(uri)  # an existing store is left alone


def test_no_second_child_while_another_process_builds_the_store(tmp_path):
    (tmp_path / ".mlflow.db.4242.building").write_bytes(b"")  # another process's child
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert not start_store_warmup(uri)
    # only this store: another module's workspace in the same worker may still be warming its own
    assert uri not in store_warmup._WARMING


def test_only_new_local_sqlite_stores_are_warmed(tmp_path):
    assert not start_store_warmup("http://127.0.0.1:1")
    assert not start_store_warmup("postgresql://u@127.0.0.1:1/mlflow")
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"")
    assert not start_store_warmup(f"sqlite:///{existing}")
    assert not {"http://127.0.0.1:1", "postgresql://u@127.0.0.1:1/mlflow",
                f"sqlite:///{existing}"} & set(store_warmup._WARMING)
    await_store_warmup("http://127.0.0.1:1")  # nothing to wait for: returns at once


def test_a_store_made_meanwhile_by_another_process_stands(tmp_path):
    """The child hard-links its store into place only if none is there: a store the parent
    (or another step process) made meanwhile keeps what was written into it."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    start_store_warmup(uri)
    client = mlflow.MlflowClient(tracking_uri=uri)  # not waiting for the child
    experiment = client.create_experiment("written-meanwhile")
    await_store_warmup(uri)

    assert client.get_experiment(experiment).name == "written-meanwhile"
    assert _leftovers(tmp_path) == []


def test_the_resource_starts_the_child_at_setup_and_waits_before_tracking(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    tracking = MlflowTracking(tracking_uri=uri)
    tracking.setup_for_execution(dg.build_init_resource_context())
    assert uri in store_warmup._WARMING

    experiments = tracking.client().search_experiments()
    assert uri not in store_warmup._WARMING  # client() waited for the child
    assert [e.name for e in experiments] == ["Default"]
    assert _leftovers(tmp_path / "mlruns") == []


def test_a_stuck_child_is_stopped_and_its_half_made_store_removed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    start_store_warmup(uri)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".mlflow.db.*.building")):  # the child is migrating
        assert time.monotonic() < deadline, "the child never started building the store"
        time.sleep(0.02)
    await_store_warmup(uri, timeout=0.01)  # far too short for MLflow's migrations

    assert not (tmp_path / "mlflow.db").exists()
    assert _leftovers(tmp_path) == []
