"""`online_performance` reads the service's real log back: realized metrics per arm and
version from the outcomes (posted and from the labeled snapshot), the shadow arm's pairs as
one look of the challenger's trial, and the drift of the logged requests against the
champion's training rows."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import f1_score

from churn_assets.defs.assets.serving import online_performance
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.serving_stores import ServingStores
from churn_assets.monitoring.history import SnapshotRecord
from churn_assets.names import CHALLENGER, REFERENCE_ARTIFACT
from churn_assets.registry.challenger_trial import LOOKS_TAG
from churn_assets.registry.sequential_evidence import looks_from_json
from churn_assets.serving.app import create_app
from churn_assets.serving.service import build_service
from churn_assets_tests.helpers.small_candidate import train_small_candidate
from churn_assets_tests.serving.conftest import API_KEY, register_version, world_for


def snapshot_asset(rows: pd.DataFrame):
    @dg.asset(name="validated_customers")
    def snapshot() -> pd.DataFrame:
        return rows

    return snapshot


def log_reference(served, folder: Path) -> None:
    """The champion's training rows, where monitoring reads them."""
    path = folder / Path(REFERENCE_ARTIFACT).name
    served.small.split_rows("train").drop(columns=["Churn"]).to_parquet(path)
    mlflow.MlflowClient(served.tracking_uri).log_artifact(
        served.run_id, str(path), str(Path(REFERENCE_ARTIFACT).parent))


def test_the_log_gives_realized_metrics_a_trial_look_and_drift(
        served, tmp_path: Path) -> None:
    log_reference(served, tmp_path)
    # What a promotion records and monitoring compares with; a modest registration figure,
    # so the logged answers cannot show decay and the decision is known.
    for metric, value in (("decision_threshold", served.small.candidate.threshold),
                          ("test_f1", 0.2), ("test_roc_auc", 0.55)):
        mlflow.MlflowClient(served.tracking_uri).log_metric(served.run_id, metric, value)
    other = train_small_candidate(tmp_path / "other", seed=5)
    challenger = register_version(served, other)
    client = mlflow.MlflowClient(served.tracking_uri)
    client.set_registered_model_alias(served.name, CHALLENGER, challenger)
    world = world_for(served, tmp_path)
    labeled = served.small.customers.sample(400, random_state=8)
    posted, from_snapshot = labeled.iloc[:150], labeled.iloc[150:]
    service = build_service(str(world.config_path), world.environment)
    with TestClient(create_app(service)) as http:
        for start in range(0, len(labeled), 80):
            rows = labeled.iloc[start:start + 80].drop(columns=["Churn"])
            assert http.post("/predict", json={"dataframe_records": json.loads(
                rows.to_json(orient="records"))}).status_code == 200
        outcomes = [{"customer_id": c, "churned": bool(y == "Yes")}
                    for c, y in zip(posted["customerID"], posted["Churn"], strict=True)]
        assert http.post("/outcomes", json={"outcomes": outcomes},
                         headers={"X-API-Key": API_KEY}).status_code == 200
    resources = {"dataset": DatasetResource(config_path=str(world.config_path)),
                 "mlflow_tracking": MlflowTracking(tracking_uri=served.tracking_uri),
                 "serving_stores": ServingStores(prediction_log_url=world.environment.log_url)}
    result = dg.materialize_to_memory([snapshot_asset(from_snapshot), online_performance],
                                      resources=resources)
    meta = {k: v.value for k, v in
            result.asset_materializations_for_node("online_performance")[0].metadata.items()}
    print({k: v for k, v in meta.items() if not isinstance(v, str) or len(v) < 200})
    assert meta["log_rows"] == 2 * len(labeled) and meta["outcome_rows"] == 2 * len(labeled)
    truth = (labeled["Churn"] == "Yes").astype(int).to_numpy()
    mlflow.set_tracking_uri(served.tracking_uri)
    champion = mlflow.pyfunc.load_model(f"models:/{served.name}/{served.version}")
    expected = f1_score(truth, champion.predict(labeled.drop(columns=["Churn"]))[
        "churn_prediction"])
    assert meta[f"realized_f1_champion_v{served.version}"] == pytest.approx(expected, abs=1e-4)
    assert f"realized_roc_auc_shadow_v{challenger}" in meta
    assert meta["shadow_pairs"] == len(labeled)
    assert meta["challenger_decision"] in ("continue", "promoted", "retired")
    looks = looks_from_json(client.get_model_version(served.name, challenger).tags[LOOKS_TAG])
    assert len(looks) == 1 and looks[0].snapshot.startswith("prediction_log until ")
    assert looks[0].rows == len(labeled) and np.isfinite(looks[0].gain)
    assert meta["logged_drift_rows"] == len(labeled)
    assert 0 <= meta["logged_drifted_share"] <= 1
    # The champion's logged answers, monitored like a snapshot: realized on the answered
    # customers it never trained on, then the retraining policy's decision and history line.
    trained_on = set(served.small.split_rows("train")["customerID"])
    unseen = labeled[~labeled["customerID"].isin(trained_on)]
    assert meta["logged_evaluated_rows"] == len(unseen) >= 100
    assert meta["logged_realized_f1"] == pytest.approx(f1_score(
        unseen["Churn"] == "Yes", champion.predict(unseen.drop(columns=["Churn"]))[
            "churn_prediction"]), abs=1e-4)
    record = SnapshotRecord.from_dict(meta["history_record"])
    assert record.snapshot_key.startswith("prediction_log until ") and not record.labeled
    assert (record.rows, record.drift_detected, record.rule, record.retrained) == (
        len(labeled), meta["logged_drift_detected"], meta["retrain_rule"], meta["retrain"])
    assert (meta["retrain"], meta["retrain_rule"], meta["train_on"]) == \
        (False, "unlabeled", "none")  # the log is unlabeled data: drift alone never retrains
    again = dg.materialize_to_memory([snapshot_asset(from_snapshot), online_performance],
                                     resources=resources)
    meta = again.asset_materializations_for_node("online_performance")[0].metadata
    # No pair counts twice: the first look used them all (or ended the trial).
    assert meta["shadow_pairs"].value == 0
    assert len(looks_from_json(client.get_model_version(served.name, challenger).tags[
        LOOKS_TAG])) == 1


def test_before_the_service_logged_anything_it_reports_an_empty_log(
        served, tmp_path: Path) -> None:
    """The whole graph (`--select '*'`) includes it: no service, no log, still a success."""
    world = world_for(served, tmp_path)
    nothing_logged = ServingStores(prediction_log_url=f"sqlite:///{tmp_path / 'none.db'}")
    result = dg.materialize_to_memory(
        [snapshot_asset(served.small.customers.head(100)), online_performance],
        resources={"dataset": DatasetResource(config_path=str(world.config_path)),
                   "mlflow_tracking": MlflowTracking(tracking_uri=served.tracking_uri),
                   "serving_stores": nothing_logged})
    assert result.success
    meta = result.asset_materializations_for_node("online_performance")[0].metadata
    assert meta["log_rows"].value == 0 and meta["outcome_rows"].value == 0
    assert "logged_drift_rows" not in meta and "history_record" not in meta
    assert (meta["retrain"].value, meta["retrain_rule"].value) == (False, "not_measured")
