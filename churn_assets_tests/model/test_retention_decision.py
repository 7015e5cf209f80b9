"""The retention decision on a small real candidate: fitted on valid rows only, carried by the
served model, reasons that add up, and the two-column predict contract kept by default."""

from __future__ import annotations

import re

import mlflow
import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.candidate import split_matrix
from churn_assets.model.contact_list import SCORE_PARAMS, contact_list, served_decision
from churn_assets.model.model_logging import log_candidate
from churn_assets.model.reason_codes import (
    by_raw_column,
    contributions,
    raw_sources,
    top_reasons,
)
from churn_assets.model.retention import train_retention
from churn_assets.model.sections import DecisionConfig, EconomicsConfig
from churn_assets.names import LABEL, SPLIT
from churn_assets_tests.helpers.small_candidate import train_small_candidate
from churn_assets_tests.helpers.workspace import seed_mlflow_store

ECONOMICS = EconomicsConfig(contact_cost=5, incentive_cost=20, retention_rate=0.3,
                            customer_value="MonthlyCharges * 12")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return train_small_candidate(tmp_path_factory.mktemp("small"))


PROFIT_POLICY = DecisionConfig(policy="expected_profit")


def _retention(small, features, folder, decision=PROFIT_POLICY):
    x_test, _ = split_matrix(features, "test")
    test_probability = small.candidate.model.predict_proba(x_test)
    raw = small.customers.drop(columns="Churn")
    return train_retention(features, raw, small.candidate.valid_probability, test_probability,
                           small.candidate.threshold, ECONOMICS, decision, folder)


def test_the_decision_never_reads_test_rows(small, tmp_path):
    honest = _retention(small, small.features, tmp_path / "a")
    scrambled = small.features.copy()
    test = (scrambled[SPLIT] == "test").to_numpy()
    scrambled.loc[test, LABEL] = 1 - scrambled.loc[test, LABEL]  # every test label flipped
    other = _retention(small, scrambled, tmp_path / "b")
    assert honest.fit.decision.to_dict() == other.fit.decision.to_dict()
    assert honest.fit.valid_metrics == other.fit.valid_metrics
    assert honest.metrics["test_expected_profit_policy"] != other.metrics[
        "test_expected_profit_policy"]  # the test figures did see the flipped labels
    assert {"cumulative_gains", "lift", "reliability", "expected_profit_curve"} <= set(
        honest.pictures)
    assert all(path.stat().st_size > 0 for path in honest.pictures.values())


def test_test_figures_compare_the_policy_with_its_alternatives(small, tmp_path):
    metrics = _retention(small, small.features, tmp_path).metrics
    contacted = metrics["test_contacted_share"]
    assert metrics["test_expected_profit_random_same_size"] == pytest.approx(
        contacted * metrics["test_expected_profit_everyone"])
    for name in ("test_brier_raw", "test_brier_calibrated", "test_ece_raw",
                 "test_ece_calibrated", "test_top_decile_lift"):
        assert np.isfinite(metrics[name]) and metrics[name] >= 0


def test_the_reasons_of_a_one_hot_column_add_up(small):
    x_test, _ = split_matrix(small.features, "test")
    rows = small.split_rows("test").drop(columns="Churn")
    model = small.candidate.model  # the family's fitted model, as the served model holds it
    pieces = contributions(model, x_test)
    summed = by_raw_column(pieces, raw_sources(small.preprocessor))
    contract = [c for c in x_test.columns if c.startswith("cat__Contract=")]
    assert len(contract) >= 3
    # The one-hot pieces and the engineered feature read from Contract alone: one reason.
    contract += ["eng__contract_risk"]
    np.testing.assert_allclose(summed["Contract"], pieces[contract].sum(axis=1), atol=1e-6)
    assert "contract_risk" not in summed and "avg_monthly_spend" in summed
    # All raw columns together still explain the margin (TreeSHAP is additive).
    margin = logit(model.predict_proba(x_test))
    bias = margin - pieces.sum(axis=1).to_numpy()
    np.testing.assert_allclose(summed.sum(axis=1).to_numpy() + bias, margin, atol=1e-4)
    assert np.ptp(bias) < 1e-4  # one bias for every row
    reasons = top_reasons(rows, x_test, pieces, small.preprocessor)
    pattern = re.compile(r"^(?P<column>[^=]+)=(?P<value>.*) \((?P<amount>[+-]\d+\.\d\d)\)$")
    for position, (row_id, row) in enumerate(reasons.iterrows()):
        amounts = []
        for reason in row:
            match = pattern.match(reason)
            assert match, reason
            column = match["column"]
            assert float(match["amount"]) == pytest.approx(summed[column].iloc[position],
                                                           abs=0.005)
            if column == "Contract":
                assert match["value"] == str(rows.loc[row_id, "Contract"]).strip()
            amounts.append(summed[column].iloc[position])
        assert amounts == sorted(amounts, reverse=True)
        assert amounts[0] == pytest.approx(summed.iloc[position].max())


def test_predict_keeps_two_columns_by_default_and_adds_the_contact_list_on_request(
        small, tmp_path):
    retention = _retention(small, small.features, tmp_path / "pictures",
                           DecisionConfig(policy="capacity", capacity=0.2))
    seed_mlflow_store(tmp_path / "mlflow.db", tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("served", artifact_location=(tmp_path / "a").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_candidate(small.candidate, small.preprocessor.state(),
                             small.customers.drop(columns="Churn"),
                             decision=retention.fit.decision.to_dict())
    model = mlflow.pyfunc.load_model(info.model_uri)
    rows = small.split_rows("test").drop(columns="Churn")
    plain = model.predict(rows)
    assert list(plain.columns) == ["churn_probability", "churn_prediction"]
    x_test, _ = split_matrix(small.features, "test")
    np.testing.assert_allclose(plain["churn_probability"],
                               small.candidate.model.predict_proba(x_test), atol=1e-6)
    full = model.predict(rows, params=SCORE_PARAMS)
    assert list(full.columns) == ["churn_probability", "churn_prediction", "expected_value",
                                  "rank", "contact", "reason_1", "reason_2", "reason_3"]
    pd.testing.assert_frame_equal(full[list(plain.columns)], plain)
    contacted = full["contact"].astype(bool)
    assert contacted.sum() <= np.ceil(0.2 * len(rows))
    assert (full.loc[contacted, "expected_value"] > 0).all()
    left_out = ~contacted & (full["expected_value"] > 0)
    assert left_out.any(), "the capacity should bind on this list"
    assert full.loc[contacted, "rank"].max() < full.loc[left_out, "rank"].min()
    # Scored in batches, the list is ranked again over all rows: the same as one call.
    batched = predict_in_batches(model, rows, batch_rows=50, params=SCORE_PARAMS)
    ids = rows[["customerID"]]
    listed = contact_list(ids, batched, served_decision(model))
    whole = contact_list(ids, full, served_decision(model))
    pd.testing.assert_frame_equal(listed, whole)
