"""The service's lean paths answer exactly what the frame-based path answered: the answer
built from column lists (not a frame's inserts and ``to_dict``), the log's input rows taken
from pandas' JSON lines (not parsed and dumped again), and small requests scored on the
event loop (lookups and POSTs of up to ``INLINE_ROWS`` rows) equal to the worker-thread path."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from churn_assets.dataset_sections import ServingConfig
from churn_assets.serving import app as app_module
from churn_assets.serving.app import create_app
from churn_assets.serving.model_set import LoadedModel, ModelSet, customer_share
from churn_assets.serving.online_store import open_store
from churn_assets.serving.scoring import answer, input_rows_json, log_rows
from churn_assets.serving.service import build_service
from churn_assets_tests.serving.conftest import world_for

WANTED = ["churn_probability", "churn_prediction", "reason_1", "reason_2", "reason_3"]


@pytest.fixture(scope="module")
def pyfunc(served):
    mlflow.set_tracking_uri(served.tracking_uri)
    mlflow.set_registry_uri(served.tracking_uri)
    return mlflow.pyfunc.load_model(f"models:/{served.name}/{served.version}")


def frame_answer(pyfunc, rows: pd.DataFrame, version: str, arm: str) -> list[dict]:
    """The answer as the frame path built it: the model's frame, version and arm added as
    columns, ``to_dict("records")``."""
    scored = pyfunc.predict(rows, params={"reasons": True})[WANTED].copy()
    scored["model_version"], scored["arm"] = version, arm
    return scored.to_dict(orient="records")


@pytest.mark.parametrize("size", [1, 3, 64, 300])
def test_the_answer_from_lists_equals_the_frames(served, pyfunc, size) -> None:
    rows = served.raw_rows.sample(size, random_state=size).set_index(
        pd.Index(np.arange(size) * 7 + 3))  # not a RangeIndex: answer() renumbers
    models = ModelSet(LoadedModel(served.name, "4", "champion", datetime.now(UTC), pyfunc))
    got = answer(models, rows, "customerID").payload()
    expected = frame_answer(pyfunc, rows.reset_index(drop=True), "4", "champion")
    assert got == expected  # the same Python values, keys in the same order
    assert [list(row) for row in got] == [list(row) for row in expected]
    assert json.dumps(got) == json.dumps(expected)


def test_mixed_arms_keep_the_rows_order(served, pyfunc) -> None:
    champion = LoadedModel(served.name, "1", "champion", datetime.now(UTC), pyfunc)
    challenger = LoadedModel(served.name, "2", "challenger", datetime.now(UTC), pyfunc)
    models = ModelSet(champion, challenger, ServingConfig(challenger_share=0.5))
    rows = served.raw_rows.iloc[200:260].reset_index(drop=True)
    got = answer(models, rows, "customerID").payload()
    arms = ["challenger" if customer_share(c) < 0.5 else "champion" for c in rows["customerID"]]
    assert 10 < arms.count("challenger") < 50
    whole = frame_answer(pyfunc, rows, "", "")
    for row, arm, alone in zip(got, arms, whole, strict=True):
        assert row == {**alone, "model_version": "2" if arm == "challenger" else "1",
                       "arm": arm}


def test_log_input_rows_parse_as_the_old_rows() -> None:
    rows = pd.DataFrame({
        "customerID": ["a-1", "b/2", "c\n3", "é\u2028d"],
        "tenure": [1, 0, 72, 5],
        "TotalCharges": [29.85, np.nan, 1e-12, 123456789.123456789],
        "Contract": ["Month-to-month", None, "Two year", " "],
        "seen": pd.to_datetime(["2026-01-02 00:00", None, "2026-12-07 08:00", "1999-12-31 23:59"]),
        "flag": [True, False, True, False]})
    old = [json.dumps(row) for row in json.loads(
        rows.to_json(orient="records", date_format="iso"))]
    new = input_rows_json(rows)
    assert [json.loads(text) for text in new] == [json.loads(text) for text in old]
    assert input_rows_json(rows.head(0)) == []


def test_log_rows_carry_the_answer(served, pyfunc) -> None:
    rows = served.raw_rows.head(5)
    models = ModelSet(LoadedModel(served.name, "3", "champion", datetime.now(UTC), pyfunc))
    answered = answer(models, rows, "customerID")
    logged = list(log_rows(answered, "customerID")())
    expected = frame_answer(pyfunc, rows, "3", "champion")
    assert [r["churn_probability"] for r in logged] == [e["churn_probability"] for e in expected]
    assert [json.loads(r["reasons"]) for r in logged] == [
        [e["reason_1"], e["reason_2"], e["reason_3"]] for e in expected]
    assert [r["customer_id"] for r in logged] == rows["customerID"].tolist()
    assert [json.loads(r["input_row"]) for r in logged] == json.loads(
        rows.to_json(orient="records", date_format="iso"))


def test_small_requests_on_the_loop_answer_as_in_a_worker_thread(
        served, tmp_path, monkeypatch) -> None:
    """The same lookups and POSTs scored inline (ready store, few rows) and in the worker
    threads (``INLINE_ROWS`` 0, store not ready): identical answers but the request id."""
    world = world_for(served, tmp_path)
    customers = served.raw_rows.head(12)
    open_store(served.name, "customerID", world.location()).push([customers])
    body = {"dataframe_records": json.loads(customers.head(5).to_json(orient="records"))}

    def answers(inline: bool) -> list[dict]:
        service = build_service(str(world.config_path), world.environment)
        monkeypatch.setattr(app_module, "INLINE_ROWS", 64 if inline else 0)
        got = []
        with TestClient(create_app(service)) as client:
            if not inline:
                monkeypatch.setattr(type(service.store), "ready", property(lambda _: False))
            for customer in customers["customerID"].iloc[::3]:
                got.append(client.get(f"/customers/{customer}").json())
            got.append(client.post("/predict", json=body).json())
            if inline:
                assert service.store.ready  # the inline path was the one taken
        monkeypatch.undo()
        for one in got:
            assert one.pop("request_id")
            one["model"].pop("since")
        return got

    inline, threaded = answers(True), answers(False)
    assert len(inline) == 5 and "features" in inline[0]
    assert inline == threaded
