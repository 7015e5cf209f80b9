"""The production Dagster instance (deploy/dagster.prod.yaml) on a real Postgres on 127.0.0.1.

Skipped, with the reason, where no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from churn_assets.core.config import PROJECT_ROOT
from churn_assets_tests.conftest import ChurnWorkspace, customers, materialize_graph
from churn_assets_tests.test_mlflow_server import free_port

PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
               if (p / "initdb").exists()), None) if Path("/usr/lib/postgresql").exists() else None


def as_postgres_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; drop to the packaged 'postgres' user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture
def postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser to drop privileges for postgres")
    data = Path(tempfile.mkdtemp(prefix="churn-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, user="postgres")
    port = free_port()
    subprocess.run(as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "dagster",
                                     "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    options = f"-p {port} -h 127.0.0.1 -k {data}"
    subprocess.run(as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                                     "-w", "-l", str(data / "server.log"), "start"]),
                   check=True, capture_output=True)
    try:
        for key, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port),
                           "DAGSTER_PG_DB": "postgres", "DAGSTER_PG_USER": "dagster",
                           "DAGSTER_PG_PASSWORD": ""}.items():
            monkeypatch.setenv(key, value)
        yield port
    finally:
        subprocess.run(as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                         "-w", "stop"]), capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
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
