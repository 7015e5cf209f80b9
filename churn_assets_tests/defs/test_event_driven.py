"""New data arriving in S3 (a real moto HTTP server on 127.0.0.1) drives drift and retraining."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pandas as pd
import pytest

from churn_assets.definitions import build_definitions
from churn_assets.defs.sensors import drift_retraining_sensor, new_customer_data_sensor
from churn_assets.environment import Settings
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.defs.operator import Operator, drift_metadata
from churn_assets_tests.helpers.s3_server import MotoS3Server, s3_in_environment
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # the whole asset graph, in process

BUCKET = "churn-landing"
SHIFT = {"month_to_month_share": 0.85, "fiber_share": 0.7, "no_internet_share": 0.05,
         "electronic_check_share": 0.6, "senior_share": 0.35, "charges_multiplier": 1.25,
         "tenure_multiplier": 0.6}


@pytest.fixture
def s3(workspace: ChurnWorkspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3Server]:
    with s3_in_environment(monkeypatch, BUCKET) as server:
        yield server
        server.reset()


def upload(server: MotoS3Server, key: str, frame: pd.DataFrame) -> None:
    server.client().put_object(Bucket=BUCKET, Key=key, Body=frame.to_csv(index=False).encode())


def test_snapshots_drive_drift_and_retraining(workspace: ChurnWorkspace, s3: MotoS3Server):
    # The one-snapshot policy of old: drift alone retrains at once, no cooldown (the
    # k-in-a-row and cooldown rules are tested in test_performance_monitoring.py).
    workspace.write_config(workspace.write_data("seed.csv", customers()),
                           landing=f"s3://{BUCKET}/snapshots/",
                           drift={"consecutive_drifted": 1, "cooldown_hours": 0})
    operator = Operator(workspace)
    client = workspace.client()

    upload(s3, "snapshots/2026-11-01.csv", customers(seed=3))
    upload(s3, "snapshots/README.txt", pd.DataFrame({"x": [1]}))
    tick = operator.tick(new_customer_data_sensor)
    assert [r.tags["churn/snapshot_key"] for r in tick.run_requests] == ["snapshots/2026-11-01.csv"]
    (intake,) = operator.launch(tick)
    assert intake.success
    assert drift_metadata(intake)["retrain"] is True  # no champion yet
    (retraining,) = operator.launch(operator.tick(drift_retraining_sensor))
    assert retraining.success
    assert current_champion_version(client, "churn-test") == "1"

    upload(s3, "snapshots/2026-11-08.csv", customers(seed=4, **SHIFT))
    (intake,) = operator.launch(operator.tick(new_customer_data_sensor))
    drift = drift_metadata(intake)
    assert drift["drift_detected"] is True and drift["drifted_share"] >= 0.5
    (retraining,) = operator.launch(operator.tick(drift_retraining_sensor))
    assert retraining.success
    assert len(client.search_model_versions("name = 'churn-test'")) == 2

    upload(s3, "snapshots/2026-11-15.csv", customers(seed=5))
    (intake,) = operator.launch(operator.tick(new_customer_data_sensor))
    drift = drift_metadata(intake)
    assert drift["drift_detected"] is False and drift["retrain"] is False
    no_retrain = operator.tick(drift_retraining_sensor)
    assert not no_retrain.run_requests and "(healthy)" in no_retrain.skip_message
    assert len(client.search_model_versions("name = 'churn-test'")) == 2

    upload(s3, "snapshots/2026-11-15.csv", customers(seed=5))  # same bytes, same ETag
    again = operator.tick(new_customer_data_sensor)
    assert operator.launch(again) == []


def test_unreachable_store_skips_without_losing_objects(workspace: ChurnWorkspace,
                                                        s3: MotoS3Server):
    workspace.write_config(workspace.write_data("seed.csv", customers()),
                           landing=f"s3://{BUCKET}/outage/")
    operator = Operator(workspace)
    upload(s3, "outage/a.csv", customers(n_rows=50, seed=1))
    upload(s3, "outage/b.parquet", customers(n_rows=50, seed=2))
    s3.stop()
    skipped = operator.tick(new_customer_data_sensor)
    assert not skipped.run_requests
    assert "unreachable" in skipped.skip_message
    assert operator.cursors[new_customer_data_sensor.name] is None

    s3.start()
    resumed = operator.tick(new_customer_data_sensor)
    assert sorted(r.tags["churn/snapshot_key"] for r in resumed.run_requests) == \
        ["outage/a.csv", "outage/b.parquet"]
    assert operator.tick(new_customer_data_sensor).skip_message.startswith("no new snapshot")


def test_local_landing_folder_is_the_embedded_default(workspace: ChurnWorkspace):
    landing = workspace.root / "landing"
    landing.mkdir()
    workspace.write_config(workspace.write_data("seed.csv", customers()))
    buffer = io.BytesIO()
    customers(n_rows=50).to_parquet(buffer, index=False)
    (landing / "week-47.parquet").write_bytes(buffer.getvalue())
    (landing / ".gitkeep").write_bytes(b"")

    tick = Operator(workspace).tick(new_customer_data_sensor)

    (request,) = tick.run_requests
    assert request.run_config["ops"]["raw_customers"]["config"]["source_uri"] == \
        str(landing / "week-47.parquet")
    assert request.run_key.startswith("week-47.parquet:")


def test_weekly_schedule_retrains_on_validated_data():
    definitions = build_definitions(Settings())
    schedule = definitions.resolve_schedule_def("weekly_retraining_schedule")
    assert schedule.cron_schedule == "0 2 * * 0"
    job = definitions.resolve_job_def(schedule.job_name)
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {
        "customer_splits", "feature_preprocessor", "customer_features", "tuned_churn_model",
        "champion_model", "churn_scores"}


def test_intermediate_data_can_live_in_s3_and_a_trained_graph_is_not_retrained_needlessly(
        workspace: ChurnWorkspace, s3: MotoS3Server):
    s3.client().create_bucket(Bucket="churn-assets-storage")
    workspace.configure(storage_uri="s3://churn-assets-storage/assets")
    source = f"s3://{BUCKET}/seed/customers.parquet"
    buffer = io.BytesIO()
    customers().to_parquet(buffer, index=False)
    s3.client().put_object(Bucket=BUCKET, Key="seed/customers.parquet", Body=buffer.getvalue())
    workspace.write_config(source)

    assert materialize_graph(workspace).success

    stored = s3.client().list_objects_v2(Bucket="churn-assets-storage")["Contents"]
    keys = {item["Key"] for item in stored}
    assert {"assets/customer_splits.parquet", "assets/customer_features.parquet",
            "assets/feature_preprocessor.json", "assets/tuned_churn_model.json",
            "assets/churn_scores.parquet"} <= keys
    assert not (workspace.root / "state" / "assets").exists()
    preprocessor = json.loads(s3.client().get_object(
        Bucket="churn-assets-storage", Key="assets/feature_preprocessor.json")["Body"].read())
    assert preprocessor["levels"] and preprocessor["numeric"]  # fitted state, as JSON

    # The same trained workspace (one whole-graph training, not two): a full graph run does
    # not trigger a second training, and a snapshot that failed validation is not retrained on.
    assert_a_full_graph_run_does_not_trigger_a_second_training(workspace)
    assert_retraining_refuses_a_snapshot_that_failed_validation(workspace)


def assert_a_full_graph_run_does_not_trigger_a_second_training(trained: ChurnWorkspace):
    tick = Operator(trained).tick(drift_retraining_sensor)

    assert not tick.run_requests
    assert "already trained a candidate" in tick.skip_message


def assert_retraining_refuses_a_snapshot_that_failed_validation(trained: ChurnWorkspace):
    workspace = trained
    bad = customers(seed=8)
    bad.loc[1, "customerID"] = bad.loc[0, "customerID"]
    snapshot = workspace.write_data("bad-snapshot.csv", bad)
    intake = workspace.definitions().resolve_job_def("snapshot_intake_job").execute_in_process(
        run_config={"ops": {"raw_customers": {"config": {"source_uri": str(snapshot)}}}},
        instance=workspace.instance, raise_on_error=False)
    assert not intake.success

    retraining = workspace.definitions().resolve_job_def("churn_retraining_job").execute_in_process(
        instance=workspace.instance, raise_on_error=False)

    assert not retraining.success
    assert not retraining.get_asset_materialization_events()
    assert current_champion_version(workspace.client(), "churn-test") == "1"
