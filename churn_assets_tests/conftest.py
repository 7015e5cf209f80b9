"""Fixtures: every test runs against its own temporary Dagster, MLflow and storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from churn_assets_tests.helpers.services import create_database, running_postgres
from churn_assets_tests.helpers.workspace import ChurnWorkspace, open_workspace


@pytest.fixture(autouse=True)
def _no_state_storage_of_a_closed_instance() -> Iterator[None]:
    """Dagster keeps the state storage of the last instance entered as a process-wide context
    variable; an instance an earlier test entered and dropped leaves it pointing at a dead
    weak reference, and the next ``Definitions`` load in this worker fails on it. This
    project keeps no definitions state, so every test starts without one."""
    with set_defs_state_storage(None):
        yield


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChurnWorkspace]:
    yield from open_workspace(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChurnWorkspace]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from open_workspace(tmp_path_factory.mktemp("churn"), monkeypatch)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[int]:
    """One PostgreSQL server per test process (xdist worker), started on first use."""
    with running_postgres() as port:
        yield port


@pytest.fixture
def postgres_database(postgres_server: int) -> tuple[int, str]:
    """(port, database): a fresh, empty database on the shared server for one test."""
    return postgres_server, create_database(postgres_server)
