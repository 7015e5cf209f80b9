"""The whole graph from a PostgreSQL table without an id column: the watermark sensor asks
for a run, the run trains and registers a champion keyed by the derived row_key; a wrong
password or a table missing a column fails in one line, registers nothing, moves nothing."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from churn_assets.defs.sensors import new_customer_data_sensor
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.helpers.services import running_postgres
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # the whole asset graph, in process
PASSWORD = "graph-test-password"
VARIABLE = "CHURN_TEST_PG_PASSWORD"


@pytest.fixture
def postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    with running_postgres(password=PASSWORD) as port:
        engine = sa.create_engine(f"postgresql://dagster:{PASSWORD}@127.0.0.1:{port}/postgres")
        frame = customers(1500, seed=3).drop(columns="customerID")  # no id column at all
        frame["updated_at"] = pd.Timestamp("2026-02-01") + pd.to_timedelta(frame.index, "min")
        with engine.begin() as connection:
            frame.to_sql("crm_customers", connection, index=False)
            frame.drop(columns="Contract").to_sql("crm_no_contract", connection, index=False)
        engine.dispose()
        monkeypatch.setenv(VARIABLE, PASSWORD)
        yield port


def configure(workspace: ChurnWorkspace, port: int, table: str) -> None:
    workspace.write_config(f"postgresql://dagster:${{{VARIABLE}}}@127.0.0.1:{port}/postgres",
                           id_column=None, source_table=table, watermark_column="updated_at",
                           drop=["updated_at"])


def tick(workspace: ChurnWorkspace, cursor: str | None) -> dg.SensorExecutionData:
    context = dg.build_sensor_context(
        instance=workspace.instance, cursor=cursor,
        resources={"dataset": workspace.definitions().resources["dataset"],
                   "s3": S3Resource(max_attempts=1)})
    return new_customer_data_sensor.evaluate_tick(context)


def versions(workspace: ChurnWorkspace) -> int:
    return len(workspace.client().search_model_versions("name = 'churn-test'"))


def test_a_postgres_table_without_id_trains_and_bad_reads_move_nothing(
    workspace: ChurnWorkspace, postgres: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(workspace, postgres, "crm_customers")
    first = tick(workspace, None)
    [request] = first.run_requests
    assert request.run_key == "crm_customers@2026-02-02 00:59:00"
    assert "no new rows" in tick(workspace, first.cursor).skip_message

    trained = materialize_graph(workspace)
    assert trained.success
    raw = next(e for e in trained.get_asset_materialization_events()
               if e.asset_key == dg.AssetKey("raw_customers")).materialization.metadata
    assert PASSWORD not in str(raw["source_uri"].value)
    assert any("'row_key' derived from each row's content" in n for n in raw["read_notes"].value)
    scores = trained.output_for_node("churn_scores")
    assert "row_key" in scores.columns and scores["row_key"].str.fullmatch("[0-9a-f]{16}").all()
    assert current_champion_version(workspace.client(), "churn-test") == "1"

    monkeypatch.setenv(VARIABLE, "not-the-password")
    refused = materialize_graph(workspace)
    assert not refused.success
    [failure] = [e for e in refused.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert "password authentication failed" in message and "not-the-password" not in message

    monkeypatch.setenv(VARIABLE, PASSWORD)
    configure(workspace, postgres, "crm_no_contract")
    workspace.write_config(  # the YAML names Contract in its value sets
        f"postgresql://dagster:${{{VARIABLE}}}@127.0.0.1:{postgres}/postgres", id_column=None,
        source_table="crm_no_contract", drop=["updated_at"])
    blocked = materialize_graph(workspace)
    assert not blocked.success
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in blocked.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks["required_columns"] is False

    assert versions(workspace) == 1
    assert current_champion_version(workspace.client(), "churn-test") == "1"
