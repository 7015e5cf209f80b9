"""Shadow and canary: with ``serving.challenger_share`` 0 the @challenger scores every
request too, logged as arm ``shadow`` while the answer stays the champion's; set above 0 in
the YAML (no restart) that share of customers, sticky by id, get the challenger's answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import mlflow
import pandas as pd
import sqlalchemy as sa
from fastapi.testclient import TestClient

from churn_assets.names import CHALLENGER
from churn_assets.serving.app import create_app
from churn_assets.serving.model_set import customer_share
from churn_assets.serving.service import build_service
from churn_assets_tests.serving.conftest import register_version, world_for, write_config


def records(rows: pd.DataFrame) -> dict:
    return {"dataframe_records": json.loads(rows.to_json(orient="records"))}


def test_shadow_then_a_sticky_share_without_restart(served, tmp_path: Path) -> None:
    challenger = register_version(served)
    mlflow.MlflowClient(served.tracking_uri).set_registered_model_alias(
        served.name, CHALLENGER, challenger)
    world = world_for(served, tmp_path)
    service = build_service(str(world.config_path), world.environment)
    shadowed = served.raw_rows.head(10)
    with TestClient(create_app(service)) as client:
        assert client.get("/version").json()["challenger"]["version"] == challenger
        shadow_answer = client.post("/predict", json=records(shadowed)).json()
        write_config(world.config_path, served.name, challenger_share=0.5)
        deadline = time.monotonic() + 30
        while client.get("/version").json()["challenger_share"] != 0.5:
            assert time.monotonic() < deadline, "the new share was never read"
            time.sleep(0.2)
        customers = served.raw_rows.iloc[100:300]
        first = client.post("/predict", json=records(customers)).json()["predictions"]
        again = client.post("/predict", json=records(customers.iloc[::-1])).json()["predictions"]
    assert {p["arm"] for p in shadow_answer["predictions"]} == {"champion"}
    arms = [p["arm"] for p in first]
    assert arms == [p["arm"] for p in reversed(again)]  # sticky: the same customer, same arm
    expected = ["challenger" if customer_share(c) < 0.5 else "champion"
                for c in customers["customerID"]]
    assert arms == expected and 60 <= arms.count("challenger") <= 140
    assert {p["model_version"] for p in first if p["arm"] == "challenger"} == {challenger}
    log = pd.read_sql("SELECT * FROM prediction_log", sa.create_engine(world.environment.log_url))
    shadow = log[log["request_id"] == shadow_answer["request_id"]]
    assert sorted(shadow["arm"].value_counts().items()) == [("champion", 10), ("shadow", 10)]
    assert set(shadow.loc[shadow["arm"] == "shadow", "model_version"]) == {challenger}
    paired = shadow.pivot(index="customer_id", columns="arm", values="churn_probability")
    assert paired.notna().all().all() and len(paired) == 10
    assert "shadow" not in set(log.loc[log["request_id"] != shadow_answer["request_id"], "arm"])
