"""The production Dagster instance (deploy/dagster.prod.yaml) on a real Postgres on 127.0.0.1.

Skipped, with the reason, where no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # the whole asset graph, in process


@pytest.fixture
def postgres(monkeypatch: pytest.MonkeyPatch, postgres_database: tuple[int, str]) -> int:
    port, database = postgres_database
    for key, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port),
                       "DAGSTER_PG_DB": database, "DAGSTER_PG_USER": "dagster",
                       "DAGSTER_PG_PASSWORD": ""}.items():
        monkeypatch.setenv(key, value)
    return port

def test_runs_are_recorded_in_the_production_postgres_instance(
    workspace: ChurnWorkspace, postgres: int, tmp_path: Path
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.prod.yaml", home / "dagster.yaml")
    workspace.write_config(workspace.write_data("customers.csv", customers()))

    with dg.DagsterInstance.from_config(str(home)) as instance:
        workspace.instance = instance
        result = materialize_graph(workspace, selection="key:raw_customers")
        assert result.success
        assert "Postgres" in type(instance.run_storage).__name__
        (run,) = instance.get_runs()
        assert run.run_id == result.run_id
        event = instance.get_latest_materialization_event(dg.AssetKey("raw_customers"))
        assert event is not None and event.run_id == result.run_id
