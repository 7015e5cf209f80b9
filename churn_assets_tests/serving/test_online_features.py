"""`online_features` pushes the validated snapshot's rows to Redis (a real ``redis-server``
on 127.0.0.1); the service's `GET /customers/{id}` then answers exactly what `churn_scores`
computed in batch for the same customer. A dataset without an id column pushes nothing."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from churn_assets.defs.assets.scoring import churn_scores
from churn_assets.defs.assets.serving import online_features
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.scores_database import ScoresDatabase
from churn_assets.defs.resources.serving_stores import ServingStores
from churn_assets.serving.app import create_app
from churn_assets.serving.service import build_service
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
            [snapshot_asset(rows), online_features, churn_scores],
            resources={"dataset": DatasetResource(config_path=str(world.config_path)),
                       "mlflow_tracking": MlflowTracking(tracking_uri=served.tracking_uri),
                       "scores_database": ScoresDatabase(), "dask_cluster": DaskCluster(),
                       "serving_stores": ServingStores(online_store_url=redis_url)})
        assert result.success
        pushed = result.asset_materializations_for_node("online_features")[0].metadata
        assert pushed["pushed_rows"].value == len(rows)
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
    store = ServingStores(online_store_url=str(tmp_path / "online.db"))
    result = dg.materialize_to_memory(
        [snapshot_asset(served.small.customers.head(50)), online_features],
        resources={"dataset": DatasetResource(config_path=str(config)), "serving_stores": store})
    metadata = result.asset_materializations_for_node("online_features")[0].metadata
    assert metadata["pushed_rows"].value == 0 and metadata["online_lookups"].value is False
    assert not (tmp_path / "online.db").exists()
