"""`online_features` pushes the validated snapshot's rows through Feast to its Redis online
store (a real ``redis-server`` on 127.0.0.1); the service's `GET /customers/{id}` reads them
through Feast and answers exactly what `churn_scores` computed in batch for the same
customer. A newer snapshot replaces a customer's row; the Redis password stays out of logs and
metadata. A dataset without an id column pushes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from churn_assets.defs.assets.scoring import churn_scores_asset
from churn_assets.defs.assets.serving import online_features
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.scores_database import ScoresDatabase
from churn_assets.defs.resources.serving_stores import ServingStores
from churn_assets.defs.retries import service_retry_policy
from churn_assets.environment import Settings
from churn_assets.serving.app import create_app
from churn_assets.serving.online_store import (
    NO_FEAST,
    open_store,
    redis_connection_string,
    store_location,
)
from churn_assets.serving.service import build_service
from churn_assets_tests.helpers.s3_server import s3_in_environment
from churn_assets_tests.serving.conftest import world_for
from churn_dev.redis_server import redis_unavailable, running_redis


def snapshot_asset(rows: pd.DataFrame):
    @dg.asset(name="validated_customers")
    def snapshot() -> pd.DataFrame:
        return rows

    return snapshot


@pytest.mark.skipif(redis_unavailable() is not None, reason=str(redis_unavailable()))
def test_online_answers_equal_batch_scores(served, tmp_path: Path) -> None:
    rows = served.small.customers.head(300)  # the target included, as validated rows are
    with running_redis() as redis_url:
        world = world_for(served, tmp_path, online_store_url=redis_url)
        result = dg.materialize_to_memory(
            [snapshot_asset(rows), online_features,
             churn_scores_asset(service_retry_policy(Settings()))],
            resources={"dataset": DatasetResource(config_path=str(world.config_path)),
                       "mlflow_tracking": MlflowTracking(tracking_uri=served.tracking_uri),
                       "scores_database": ScoresDatabase(), "dask_cluster": DaskCluster(),
                       "serving_stores": world.stores()})
        assert result.success
        pushed = result.asset_materializations_for_node("online_features")[0].metadata
        assert pushed["pushed_rows"].value == len(rows)
        assert pushed["online_store"].value == "redis"
        assert pushed["feast_entity"].value == "customerID"
        batch = result.output_for_node("churn_scores").set_index("customerID")
        service = build_service(str(world.config_path), world.environment)
        with TestClient(create_app(service)) as client:
            for customer in rows["customerID"].sample(40, random_state=3):
                answer = client.get(f"/customers/{customer}").json()
                online = answer["predictions"][0]
                assert "Churn" not in answer["features"]
                assert online["churn_probability"] == batch.loc[customer, "churn_probability"]
                assert online["churn_prediction"] == batch.loc[customer, "churn_prediction"]
                assert [online[f"reason_{k}"] for k in (1, 2, 3)] == \
                    batch.loc[customer, ["reason_1", "reason_2", "reason_3"]].tolist()


def test_without_an_id_column_nothing_is_pushed(served, tmp_path: Path) -> None:
    config = tmp_path / "no-id.yaml"
    config.write_text(yaml.safe_dump({"source": "unused.csv", "target": "Churn",
                                      "positive_label": "Yes", "model_name": served.name}))
    store = ServingStores(online_store_url=str(tmp_path / "online.db"),
                          storage_uri=str(tmp_path / "state" / "assets"))
    result = dg.materialize_to_memory(
        [snapshot_asset(served.small.customers.head(50)), online_features],
        resources={"dataset": DatasetResource(config_path=str(config)), "serving_stores": store})
    metadata = result.asset_materializations_for_node("online_features")[0].metadata
    assert metadata["pushed_rows"].value == 0 and metadata["online_lookups"].value is False
    assert not (tmp_path / "online.db").exists()


def test_without_feast_installed_nothing_is_pushed_and_the_log_says_why(
        served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "feast", None)  # import feast fails as if not installed
    world = world_for(served, tmp_path)
    result = dg.materialize_to_memory(
        [snapshot_asset(served.small.customers.head(50)), online_features],
        resources={"dataset": DatasetResource(config_path=str(world.config_path)),
                   "serving_stores": world.stores()})
    assert result.success  # `make train` without the [serve] extra still trains and scores
    metadata = result.asset_materializations_for_node("online_features")[0].metadata
    assert metadata["pushed_rows"].value == 0 and metadata["online_lookups"].value is False
    assert metadata["why_no_lookups"].value == NO_FEAST


@pytest.mark.skipif(redis_unavailable() is not None, reason=str(redis_unavailable()))
def test_a_newer_snapshot_replaces_rows_and_the_password_stays_secret(
        served, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    password = "pw-for-this-test-only"
    first = served.small.customers.head(50)
    newer = first.copy()
    newer["tenure"] = newer["tenure"] + 7  # the next month's snapshot of the same people
    with running_redis(password) as redis_url:
        world = world_for(served, tmp_path, online_store_url=redis_url)
        resources = {"dataset": DatasetResource(config_path=str(world.config_path)),
                     "serving_stores": world.stores()}
        results = [dg.materialize_to_memory([snapshot_asset(rows), online_features],
                                             resources=resources) for rows in (first, newer)]
        service = build_service(str(world.config_path), world.environment)
        with TestClient(create_app(service)) as client:
            for customer, tenure in newer[["customerID", "tenure"]].head(10).itertuples(
                    index=False):
                answer = client.get(f"/customers/{customer}")
                assert answer.status_code == 200, answer.text
                assert answer.json()["features"]["tenure"] == tenure
            assert client.get("/customers/nobody").status_code == 404
    for result in results:
        assert result.success
        metadata = result.asset_materializations_for_node("online_features")[0].metadata
        assert password not in str({k: v.value for k, v in metadata.items()})
        logged = " ".join(str(event.message) for event in result.all_events)
        assert password not in logged
    assert password not in caplog.text


def test_redis_urls_become_feasts_connection_strings() -> None:
    assert redis_connection_string("redis://:p%40ss@cache:6380/2") == \
        "cache:6380,db=2,socket_timeout=2,password=p@ss"
    assert redis_connection_string("rediss://u:p@cache") == \
        "cache:6379,db=0,socket_timeout=2,username=u,password=p,ssl=true"
    with pytest.raises(ValueError, match="password .* contains a comma"):
        redis_connection_string("redis://:a%2Cb@cache:6379/0")


def test_the_registry_on_s3_is_shared_by_the_writer_and_the_service(
        served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The container stack keeps intermediate tables in S3 (`CHURN_STORAGE_URI`), so Feast's
    registry goes there too: the run container that pushes and the scoring container that
    reads share nothing else but the online store."""
    rows = served.raw_rows.head(20)
    location = store_location(str(tmp_path / "online.db"), "s3://churn/assets")
    with s3_in_environment(monkeypatch, "churn") as s3:
        assert open_store(served.name, "customerID", location).push([rows]) == len(rows)
        keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket="churn")["Contents"]]
        reader = open_store(served.name, "customerID", location)  # another process's view
        found = reader.get(rows["customerID"].iloc[7])
    assert keys == ["assets/feature_repo/registry.db"]
    expected = rows.iloc[7].to_dict()
    assert found == {key: (None if pd.isna(value) else value) for key, value in expected.items()}
