"""The scoring service in process (FastAPI's TestClient, the real app and a real model):
the model's own contract with reasons, 422s that name the problem, the write key, the
online lookup equal to batch scoring, and every answer in ``prediction_log``."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from churn_assets.serving.app import create_app
from churn_assets.serving.online_store import open_store
from churn_assets.serving.service import build_service
from churn_assets_tests.serving.conftest import API_KEY, world_for


@pytest.fixture
def world(served, tmp_path: Path):
    return world_for(served, tmp_path)


@pytest.fixture
def client(world):
    service = build_service(str(world.config_path), world.environment)
    with TestClient(create_app(service)) as client:
        client.service = service
        yield client


def local_answer(served, rows: pd.DataFrame) -> pd.DataFrame:
    mlflow.set_tracking_uri(served.tracking_uri)
    mlflow.set_registry_uri(served.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{served.name}/{served.version}")
    return model.predict(rows, params={"reasons": True})


def test_predict_answers_the_models_contract_with_its_reasons(client, served) -> None:
    rows = served.raw_rows.head(7)
    split = json.loads(rows.to_json(orient="split", index=False))
    by_split = client.post("/predict", json={"dataframe_split": split})
    by_records = client.post("/predict", json={
        "dataframe_records": json.loads(rows.to_json(orient="records"))})
    assert by_split.status_code == by_records.status_code == 200, by_split.text
    expected = local_answer(served, rows)
    for response in (by_split, by_records):
        answer = pd.DataFrame(response.json()["predictions"])
        assert answer["churn_probability"].round(9).tolist() == \
            expected["churn_probability"].round(9).tolist()
        assert answer["churn_prediction"].tolist() == expected["churn_prediction"].tolist()
        for reason in ("reason_1", "reason_2", "reason_3"):
            assert answer[reason].tolist() == expected[reason].tolist()
        assert set(answer["model_version"]) == {served.version}
        assert set(answer["arm"]) == {"champion"}
    assert client.get("/version").json()["champion"]["version"] == served.version


@pytest.mark.parametrize(("body", "field", "words"), [
    ({}, "body", "exactly one of dataframe_records or dataframe_split"),
    ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}}, "dataframe_split",
     "data[1] has 1 values for 2 columns"),
    ({"dataframe_records": []}, "dataframe_records", "no rows"),
    ({"dataframe_records": [{"x": 1}] * 51}, "dataframe_records",
     "51 rows, more than serving.max_rows = 50"),
    ({"dataframe_records": [{"customerID": "a", "tenure": 3}]}, "rows", "could not score"),
    ({"dataframe_rows": []}, "dataframe_rows", "Extra inputs are not permitted"),
])
def test_bad_input_answers_422_naming_the_field(served, tmp_path, body, field,
                                                words) -> None:
    world = world_for(served, tmp_path, max_rows=50)
    with TestClient(create_app(build_service(str(world.config_path), world.environment))) as c:
        response = c.post("/predict", json=body)
    assert response.status_code == 422, response.text
    details = response.json()["detail"]
    assert any(field in map(str, d["loc"]) and words in d["msg"] for d in details) \
        or any(words in d["msg"] for d in details if field == "body"), details


def test_a_missing_column_is_named(client, served) -> None:
    rows = json.loads(served.raw_rows.head(2).drop(columns=["Contract"]).to_json(
        orient="records"))
    response = client.post("/predict", json={"dataframe_records": rows})
    assert response.status_code == 422
    assert "Contract" in response.json()["detail"][0]["msg"]


def test_a_body_over_the_limit_is_refused_before_parsing(served, tmp_path):
    world = world_for(served, tmp_path, max_body_bytes=2000)
    rows = json.loads(served.raw_rows.head(20).to_json(orient="records"))
    body = json.dumps({"dataframe_records": rows}).encode()
    with TestClient(create_app(build_service(str(world.config_path), world.environment))) as c:
        response = c.post("/predict", json={"dataframe_records": rows})
        # Chunked (no Content-Length): counted as it arrives.
        chunked = c.post("/predict", content=iter([body[:1500], body[1500:]]),
                         headers={"Content-Type": "application/json"})
        small = c.post("/predict", content=iter([json.dumps(
            {"dataframe_records": rows[:1]}).encode()]),
            headers={"Content-Type": "application/json"})
    assert response.status_code == chunked.status_code == 413
    assert "serving.max_body_bytes = 2000" in response.json()["detail"][0]["msg"]
    assert small.status_code == 200, small.text


def test_outcomes_need_the_api_key(client) -> None:
    body = {"outcomes": [{"customer_id": "c-1", "churned": True}]}
    assert client.post("/outcomes", json=body).status_code == 401
    assert client.post("/outcomes", json=body, headers={"X-API-Key": "wrong"}).status_code == 401
    ok = client.post("/outcomes", json=body, headers={"X-API-Key": API_KEY})
    assert ok.status_code == 200 and ok.json() == {"accepted": 1}


def test_customer_lookup_equals_batch_scoring(client, served, world, tmp_path) -> None:
    """Feast's embedded SQLite store (the `make dev` default)."""
    customers = served.raw_rows.head(30)
    assert client.get("/customers/nobody").status_code == 404  # nothing pushed yet
    assert open_store(served.name, "customerID", world.location()).push([customers]) == 30
    assert (tmp_path / "online.db").exists()
    expected = local_answer(served, customers)
    for position in (0, 11, 29):
        customer = customers["customerID"].iloc[position]
        response = client.get(f"/customers/{customer}")
        assert response.status_code == 200, response.text
        row = response.json()["predictions"][0]
        assert row["churn_probability"] == pytest.approx(
            expected["churn_probability"].iloc[position], abs=1e-12)
        assert row["reason_1"] == expected["reason_1"].iloc[position]
    missing = client.get("/customers/nobody")
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]


def test_every_answer_is_logged(served, tmp_path) -> None:
    world = world_for(served, tmp_path)
    service = build_service(str(world.config_path), world.environment)
    sizes = [1, 5, 40, 3]
    with TestClient(create_app(service)) as c:
        ids = []
        for size in sizes:
            rows = served.raw_rows.sample(size, random_state=size)
            response = c.post("/predict", json={
                "dataframe_records": json.loads(rows.to_json(orient="records"))})
            ids.append(response.json()["request_id"])
        health = c.get("/health").json()
    assert health["status"] == "ok"
    engine = sa.create_engine(world.environment.log_url)
    log = pd.read_sql("SELECT * FROM prediction_log", engine)
    assert len(log) == sum(sizes)
    assert log.groupby("request_id").size().loc[ids].tolist() == sizes
    assert set(log["model_version"]) == {served.version}
    first = json.loads(log["input_row"].iloc[0])
    assert "customerID" in first and first["customerID"] == log["customer_id"].iloc[0]
    assert json.loads(log["reasons"].iloc[0])[0].count("=") >= 1
    assert service.log.counts["written"] == sum(sizes)
