"""Source freshness: no new snapshot of `raw_customers` within the configured days is a
warning on the check (UI) and an alert to the webhook; a re-read of unchanged content is no
new snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from churn_assets.defs.freshness import CHECK_NAME, freshness_sensor, raw_customers_freshness
from churn_assets.defs.resources.alerting import Alerting
from churn_assets.environment import Settings
from churn_assets.monitoring.freshness import SnapshotRead, snapshot_freshness
from churn_assets_tests.defs.test_faults_alerts import webhook  # noqa: F401 - a fixture
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

DAY = timedelta(days=1)
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def test_the_age_counts_from_the_first_read_of_the_current_content() -> None:
    reads = [SnapshotRead(NOW - 1 * DAY, "b"), SnapshotRead(NOW - 9 * DAY, "b"),  # re-read
             SnapshotRead(NOW - 20 * DAY, "a")]
    stale = snapshot_freshness(reads, NOW, max_age_days=8)
    assert (stale.fresh, stale.snapshot_since) == (False, NOW - 9 * DAY)
    assert stale.text().startswith("STALE: the newest snapshot arrived 2026-06-21 12:00 UTC, "
                                   "9.0 days ago (limit 8 days)")
    assert snapshot_freshness(reads, NOW, max_age_days=10).fresh
    assert snapshot_freshness(reads[:1], NOW, max_age_days=8).fresh  # first read of "b"
    never = snapshot_freshness([], NOW, max_age_days=8)
    assert (never.fresh, never.text()) == (False, "no snapshot has been read yet")


def check_evaluation(workspace: ChurnWorkspace, alerting: Alerting) -> dg.AssetCheckEvaluation:
    result = dg.materialize([raw_customers_freshness], instance=workspace.instance,
                            selection=dg.AssetSelection.checks(raw_customers_freshness),
                            resources={"alerting": alerting})
    assert result.success  # a warning, not a failed run
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK_NAME
    return evaluation


def test_a_stale_source_warns_on_the_check_and_alerts_the_webhook(
    workspace: ChurnWorkspace, webhook: tuple[str, list[dict]],  # noqa: F811
) -> None:
    url, received = webhook
    first = workspace.write_data("first.csv", customers(n_rows=300, seed=3))
    workspace.write_config(first)
    assert materialize_graph(workspace, selection="raw_customers").success
    read_at = workspace.instance.fetch_materializations(
        dg.AssetKey("raw_customers"), limit=1).records[0].timestamp

    fresh = check_evaluation(workspace, Alerting(webhook_url=url))  # default: 8 days
    assert fresh.passed and not received
    assert materialize_graph(workspace, selection="raw_customers").success  # same content
    # any snapshot is now too old
    stale = check_evaluation(workspace, Alerting(webhook_url=url, max_age_days=0))

    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.WARN
    assert stale.description.startswith("STALE: the newest snapshot arrived")
    since = datetime.fromisoformat(stale.metadata["snapshot_since"].value)
    assert abs(since.timestamp() - read_at) < 1  # the first read, not the re-read
    [alert] = received
    assert alert["json"]["check"] == CHECK_NAME and alert["json"]["asset"] == "raw_customers"
    assert alert["json"]["error"] == f"raw_customers: {stale.description}"

    workspace.write_config(workspace.write_data("second.csv", customers(n_rows=300, seed=4)))
    assert materialize_graph(workspace, selection="raw_customers").success  # new content
    assert check_evaluation(workspace, Alerting(webhook_url=url, max_age_days=1)).passed
    assert len(received) == 1


def test_the_sensor_runs_the_freshness_check_daily_and_is_on_by_default() -> None:
    from churn_assets.definitions import build_definitions

    definitions = build_definitions(Settings())
    sensor = definitions.get_sensor_def("raw_customers_freshness_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 86400
    assert build_definitions(Settings(freshness_interval_seconds=600)).get_sensor_def(
        "raw_customers_freshness_sensor").minimum_interval_seconds == 600
    request = freshness_sensor()(dg.build_sensor_context())
    assert request.asset_check_keys == [dg.AssetCheckKey(dg.AssetKey("raw_customers"),
                                                         CHECK_NAME)]
    assert "fresh" in CHECK_NAME


def test_dagsters_freshness_policy_calls_a_weekly_re_read_fresh_where_the_check_does_not(
    workspace: ChurnWorkspace,
) -> None:
    """Why the source freshness is our check and not a ``dg.FreshnessPolicy``, measured with
    Dagster's own evaluator: its time window counts from the last materialization, and the
    weekly retraining re-materializes `raw_customers` from a file nobody updated."""
    import asyncio

    from dagster._core.definitions.freshness import FreshnessState
    from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
    from dagster._core.loader import LoadingContextForTest
    from dagster._core.test_utils import freeze_time

    workspace.write_config(workspace.write_data("only.csv", customers(n_rows=300, seed=3)))
    now = datetime.now(UTC)
    for days_ago in (20, 13, 6, 1):  # one snapshot, then the weekly retraining re-reads it
        with freeze_time(now - days_ago * DAY):
            assert materialize_graph(workspace, selection="raw_customers").success

    policy = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8))
    raw_customers = workspace.definitions().get_assets_def("raw_customers")
    with_policy = raw_customers.map_asset_specs(
        lambda spec: spec.replace_attributes(freshness_policy=policy))
    graph = dg.Definitions(assets=[with_policy],
                           resources=workspace.definitions().resources).resolve_asset_graph()
    node = graph.get(raw_customers.key)
    dagster_state = asyncio.run(TimeWindowFreshnessPolicyEvaluator().evaluate_freshness(
        LoadingContextForTest(workspace.instance), node))

    ours = check_evaluation(workspace, Alerting())
    assert dagster_state == FreshnessState.PASS  # the re-read a day ago counts as new data
    assert not ours.passed and ours.metadata["age_days"].value == pytest.approx(20, abs=0.1)
