"""The S3 endpoint (a real moto HTTP server on 127.0.0.1) goes away during ingestion and
during a sensor tick: a clear failure or skip, the cursor stays, everything is picked up
after recovery. (A first tick during an outage: test_event_driven.py.)"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from churn_assets.defs.sensors import new_customer_data_sensor
from churn_assets_tests.helpers.s3_server import MotoS3Server, s3_in_environment
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # botocore retries the dead endpoint before giving up

BUCKET = "churn-faults"


@pytest.fixture
def s3(workspace: ChurnWorkspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3Server]:
    with s3_in_environment(monkeypatch, BUCKET) as server:
        yield server
        server.start()
        server.reset()


def put(server: MotoS3Server, key: str, seed: int) -> bytes:
    body = customers(n_rows=200, seed=seed).to_csv(index=False).encode()
    server.client().put_object(Bucket=BUCKET, Key=key, Body=body)
    return body


def test_ingestion_fails_clearly_while_s3_is_down_and_reads_after_recovery(
    workspace: ChurnWorkspace, s3: MotoS3Server,
) -> None:
    body = put(s3, "snapshots/a.csv", seed=1)
    uri = f"s3://{BUCKET}/snapshots/a.csv"
    workspace.write_config(uri)
    s3.stop()

    down = materialize_graph(workspace, selection="raw_customers")

    [failure] = [e.step_failure_data for e in down.all_events if e.is_step_failure]
    description = failure.user_failure_data.description
    assert description.startswith(f"cannot reach the S3 endpoint {s3.endpoint_url} to read {uri}")
    assert "\n" not in description

    s3.start()
    up = materialize_graph(workspace, selection="raw_customers")

    assert up.success
    [event] = up.get_asset_materialization_events()
    assert event.materialization.metadata["sha256"].value == hashlib.sha256(body).hexdigest()


def tick(workspace: ChurnWorkspace, cursor: str | None) -> dg.SensorExecutionData:
    context = dg.build_sensor_context(
        instance=workspace.instance, cursor=cursor,
        resources={"dataset": workspace.definitions().resources["dataset"],
                   "s3": S3Resource(max_attempts=1)})
    data = new_customer_data_sensor.evaluate_tick(context)
    return data


def test_a_tick_during_an_outage_keeps_the_cursor_and_the_next_one_catches_up(
    workspace: ChurnWorkspace, s3: MotoS3Server,
) -> None:
    workspace.write_config(workspace.write_data("seed.csv", customers(n_rows=200)),
                           landing=f"s3://{BUCKET}/landing/")
    put(s3, "landing/a.csv", seed=1)
    first = tick(workspace, None)
    assert [r.tags["churn/snapshot_key"] for r in first.run_requests] == ["landing/a.csv"]
    cursor = first.cursor
    put(s3, "landing/b.csv", seed=2)
    s3.stop()

    during = tick(workspace, cursor)

    assert not during.run_requests
    assert "unreachable, will retry" in during.skip_message
    assert during.cursor in (None, cursor)  # not advanced
    s3.start()
    after = tick(workspace, cursor)
    assert [r.tags["churn/snapshot_key"] for r in after.run_requests] == ["landing/b.csv"]
