"""The whole graph with campaign economics: the contact list, its metadata and pictures."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # the whole asset graph, in process

ECONOMICS = {"contact_cost": 5, "incentive_cost": 20, "retention_rate": 0.3,
             "customer_value": "MonthlyCharges * 12"}


def _metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def test_economics_turn_churn_scores_into_a_contact_list(workspace: ChurnWorkspace):
    frame = customers()
    workspace.write_config(workspace.write_data("customers.csv", frame), economics=ECONOMICS,
                           decision={"policy": "expected_profit"})
    result = materialize_graph(workspace)
    assert result.success
    scores = pd.read_parquet(workspace.root / "state" / "assets" / "churn_scores.parquet")
    assert list(scores.columns) == ["customerID", "churn_probability", "churn_prediction",
                                    "expected_value", "rank", "contact", "reason_1",
                                    "reason_2", "reason_3"]
    assert ((scores["expected_value"] > 0) == (scores["contact"] == 1)).all()
    assert sorted(scores["rank"]) == list(range(1, len(frame) + 1))
    listed = _metadata(result, "churn_scores")
    assert listed["to_contact"] == int(scores["contact"].sum()) > 0
    assert listed["campaign_expected_value"] == pytest.approx(
        scores.loc[scores["contact"] == 1, "expected_value"].sum(), abs=0.01)

    tuned = _metadata(result, "tuned_churn_model")
    assert tuned["decision_policy"] == "expected_profit"
    for picture in ("Cumulative gains", "Lift", "Expected profit curve", "Reliability"):
        assert f"**{picture}**" in tuned["evaluation"]
    assert "## Retention campaign" in tuned["model_card"]
    assert tuned["test_expected_profit_policy"] >= tuned["test_expected_profit_random_same_size"]
    run = mlflow.get_run(tuned["mlflow_run_id"])
    assert run.data.params["decision.policy"] == "expected_profit"
    assert {"test_top_decile_lift", "test_brier_calibrated", "test_ece_raw"} <= set(
        run.data.metrics)
