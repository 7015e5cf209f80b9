"""Fixtures: every test runs against its own temporary Dagster, MLflow and storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from churn_assets_tests.helpers.services import create_database, running_postgres
from churn_assets_tests.helpers.workspace import ChurnWorkspace, open_workspace


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
