"""A real MLflow tracking server is killed during tuning: the run fails naming the tracking
URI, the champion stays, and after a restart a re-run resumes the Optuna study."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import mlflow
import optuna
import pytest

from churn_assets.model.tuning import study_storage
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.helpers.services import MlflowServer
from churn_assets_tests.helpers.workspace import (
    FAST_TUNING,
    ChurnWorkspace,
    customers,
    materialize_graph,
    open_server_workspace,
)

pytestmark = pytest.mark.slow  # three whole-graph runs against a real server

KILL_AFTER = re.compile(r"trial 1 \(")  # the tuning step's progress line for the 2nd trial


SERVER: dict[str, MlflowServer | None] = {"armed": None}


class KillServerOnProgress(logging.Handler):
    """A Dagster log handler (instance python_logs config): when the tuning step reports the
    second trial, the server dies — in the step's own thread, so no timing is involved."""

    def emit(self, record: logging.LogRecord) -> None:
        server = SERVER["armed"]
        if server is not None and KILL_AFTER.search(record.getMessage()):
            SERVER["armed"] = None
            server.kill()


@pytest.fixture
def server_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                     ) -> Iterator[tuple[ChurnWorkspace, MlflowServer]]:
    try:
        handler = f"{__name__}.KillServerOnProgress"
        with open_server_workspace(tmp_path, monkeypatch, handler) as opened:
            yield opened
    finally:
        SERVER["armed"] = None


def finished_trials(workspace: ChurnWorkspace, study_name: str) -> list[tuple[int, dict]]:
    storage = study_storage(f"journal://{workspace.root / 'state' / 'optuna' / 'studies.journal'}")
    study = optuna.load_study(study_name=study_name, storage=storage)
    return [(t.number, t.params) for t in study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))]


def study_names(workspace: ChurnWorkspace) -> set[str]:
    journal = workspace.root / "state" / "optuna" / "studies.journal"
    return set(optuna.get_all_study_names(study_storage(f"journal://{journal}")))


def test_tracking_server_killed_during_tuning_fails_clearly_and_resumes(server_workspace):
    workspace, server = server_workspace
    workspace.write_config(workspace.write_data("first.csv", customers(seed=3)))
    # The first run only has to leave a champion (the steps after champion_model read it).
    assert materialize_graph(workspace, selection="*champion_model").success
    client = mlflow.MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    assert current_champion_version(client, "churn-test") == "1"
    known_studies = study_names(workspace)

    workspace.write_config(workspace.write_data("second.csv", customers(seed=4)),
                           tuning=FAST_TUNING | {"n_trials": 6})
    SERVER["armed"] = server
    failed = materialize_graph(workspace)

    assert not failed.success and server.process.poll() is not None  # killed mid-tuning
    failures = {e.step_key: e.step_failure_data for e in failed.all_events if e.is_step_failure}
    assert set(failures) == {"tuned_churn_model"}
    message = failures["tuned_churn_model"].user_failure_data.description
    assert f"MLflow tracking server {server.url} is unreachable" in message
    [study_name] = study_names(workspace) - known_studies
    kept = finished_trials(workspace, study_name)
    # The trials never talk to the server (their series is logged once after them), so the
    # kill after the 2nd trial costs no tuning: all were kept, and the retry fits none again.
    assert len(kept) == 6

    server.start()  # same port, same store
    assert current_champion_version(client, "churn-test") == "1"  # nothing moved meanwhile
    assert [v.version for v in client.search_model_versions("name='churn-test'")] == ["1"]
    resumed = materialize_graph(workspace)

    assert resumed.success
    after = finished_trials(workspace, study_name)
    assert set(map(repr, after)) == set(map(repr, kept))  # the first run's trials, no more
    tuned = next(e for e in resumed.get_asset_materialization_events()
                 if e.asset_key.to_user_string() == "tuned_churn_model")
    assert tuned.materialization.metadata["n_trials"].value == 6
    versions = sorted(v.version for v in client.search_model_versions("name='churn-test'"))
    assert versions == ["1", "2"]  # the killed run registered nothing
    assert current_champion_version(client, "churn-test") in ("1", "2")
