"""Fixtures: every test runs against its own temporary Dagster, MLflow and storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from churn_assets_tests.helpers.services import create_database, running_postgres
from churn_assets_tests.helpers.workspace import ChurnWorkspace, open_workspace

# `make test` hands whole modules to the xdist workers in collection order
# (--no-loadscope-reorder; xdist's own order, most tests first, put these one- and two-test
# modules last, where one of them ran on one worker while the other sat idle). The longest
# first, then the other `slow` modules, then the quick ones: a short module ends the run.
# Ranked by what each runs (whole-graph runs, services, browser); test_graph measured longest.
LONGEST_FIRST = (
    "deploy/test_stack_week.py",  # the container stack (minutes; skipped without dockerd)
    "defs/test_graph.py", "ui/test_dagster_ui.py", "ui/test_challenger_ui.py",
    "distributed/test_data_path_assets.py",
    "defs/test_production_shape.py", "defs/test_challenger_trial.py",
    "test_bare_commands.py", "defs/test_faults_processes.py",
    "defs/test_performance_monitoring.py", "defs/test_event_driven.py",
    "defs/test_faults_bad_input.py", "defs/test_telco.py",
)


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0].removeprefix("churn_assets_tests/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slow = {_module(item) for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple[int, int]:
        module = _module(item)
        if module in LONGEST_FIRST:
            return 0, LONGEST_FIRST.index(module)
        return (1 if module in slow else 2), 0

    # A stable sort on the module's rank keeps each module's tests together and in order.
    items.sort(key=rank)


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
