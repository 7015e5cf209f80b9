"""Retries where a retry can help: a real MLflow tracking server goes away during tuning and
comes back; the tuning step's RetryPolicy absorbs the outage, the run succeeds and the
candidate is registered once. The refused promotion in the same run is not retried (failed
validations: test_faults_bad_input)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import mlflow
import pytest

from churn_assets.definitions import build_definitions
from churn_assets.defs.retries import service_retry_policy
from churn_assets.environment import Settings
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.helpers.services import MlflowServer
from churn_assets_tests.helpers.workspace import (
    FAST_TUNING,
    ChurnWorkspace,
    customers,
    materialize_graph,
    open_server_workspace,
)

pytestmark = pytest.mark.slow  # whole-graph runs (one against a real server)

KILL_AFTER = re.compile(r"trial 1 \(")  # the tuning step's progress line for the 2nd trial
RETRY_REQUESTED = "failed and has requested a retry"
OUTAGE: dict[str, object] = {"server": None, "state": "off"}


class TransientOutage(logging.Handler):
    """A Dagster log handler: the server dies when tuning reports its second trial and is
    started again when Dagster schedules the step's retry (both in the run's own thread, so
    no timing is involved)."""

    def emit(self, record: logging.LogRecord) -> None:
        server = OUTAGE["server"]
        if not isinstance(server, MlflowServer):
            return
        if OUTAGE["state"] == "armed" and KILL_AFTER.search(record.getMessage()):
            OUTAGE["state"] = "down"
            server.kill()
        elif OUTAGE["state"] == "down" and RETRY_REQUESTED in record.getMessage():
            OUTAGE["state"] = "back"
            server.start()  # same port, same store


@pytest.fixture
def server_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                     ) -> Iterator[tuple[ChurnWorkspace, MlflowServer]]:
    try:
        handler = f"{__name__}.TransientOutage"
        with open_server_workspace(tmp_path, monkeypatch, handler) as opened:
            yield opened
    finally:
        OUTAGE.update(server=None, state="off")


def test_a_tracking_server_outage_is_absorbed_by_a_retry_and_nothing_is_registered_twice(
    server_workspace: tuple[ChurnWorkspace, MlflowServer],
) -> None:
    workspace, server = server_workspace
    workspace.write_config(workspace.write_data("customers.csv", customers(seed=3)),
                           tuning=FAST_TUNING | {"n_trials": 6},
                           promotion={"min_f1": 0.99})  # a floor no candidate reaches
    OUTAGE.update(server=server, state="armed")

    result = materialize_graph(workspace)

    assert OUTAGE["state"] == "back"  # the server was down and came back mid-run
    assert result.success
    retried = [e.step_key for e in result.all_events if e.is_step_up_for_retry]
    assert retried == ["tuned_churn_model"]
    client = mlflow.MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    [version] = client.search_model_versions("name='churn-test'")  # registered once
    assert version.tags["promotion.decision"] == "rejected"  # refused, and not retried
    assert current_champion_version(client, "churn-test") is None


def test_service_steps_retry_with_backoff_configured_by_environment_shorter_locally() -> None:
    # The definitions take the policy from the Settings they are built from, not from this
    # process's environment at import.
    settings = Settings.from_environ({"CHURN_RETRY_MAX_RETRIES": "1",
                                      "CHURN_RETRY_DELAY_SECONDS": "30"})
    policies = {key.to_user_string(): assets.op.retry_policy
                for assets in build_definitions(settings).assets
                if isinstance(assets, dg.AssetsDefinition) and assets.op.retry_policy
                for key in assets.keys}
    assert set(policies) == {"raw_customers", "tuned_churn_model", "champion_model",
                             "churn_scores", "feature_drift"}  # S3 / MLflow; pure steps never
    assert {(p.max_retries, p.delay) for p in policies.values()} == {(1, 30.0)}
    local = service_retry_policy(Settings())
    prod = service_retry_policy(Settings(deployment="prod"))
    assert (local.max_retries, local.delay, prod.max_retries, prod.delay) == (3, 2.0, 3, 300.0)
    assert prod.backoff == dg.Backoff.LINEAR  # 5, 10, 15 minutes
    assert [prod.calculate_delay(n) for n in (1, 2, 3)] == [300.0, 600.0, 900.0]


def test_a_bad_dataset_yaml_fails_the_first_step_once_naming_the_key(
    workspace: ChurnWorkspace,
) -> None:
    # raw_customers talks to S3, so it retries; a typo in the YAML is no outage.
    workspace.write_config(workspace.write_data("customers.csv", customers(n_rows=300)),
                           promotion={"metric": "roc_acu"})
    result = materialize_graph(workspace)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["raw_customers"]
    message = failures[0].event_specific_data.error.message
    assert "promotion.metric" in message and "roc_acu" in message
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert not retried
