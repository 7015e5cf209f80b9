"""Calibration choice, ECE, the paired promotion intervals and the contact policies."""

from __future__ import annotations

import numpy as np
import pytest

from churn_assets.model.calibration import choose_calibrator, expected_calibration_error
from churn_assets.model.campaign_metrics import (
    brier_delta_interval,
    calibration_refusal,
    cumulative_gains,
    lift_at,
)
from churn_assets.model.decision_policy import RetentionDecision, capacity_count, ranks
from churn_assets.model.economics import Economics

ECONOMICS = Economics(5, 20, 0.3, 500.0)


def _labels(p: np.ndarray, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=p.size) < p).astype(int)


def test_ece_by_hand():
    # Bin [0.1, 0.2): p 0.1, 0.1 vs rate 0.5 -> 0.4 on 2 rows; bin [0.9, 1]: 0.9 vs 1 -> 0.1.
    labels = np.array([1, 0, 1])
    assert expected_calibration_error(labels, np.array([0.1, 0.1, 0.9])) == pytest.approx(
        (2 * 0.4 + 0.1) / 3)


def test_a_miscalibrated_model_gets_a_calibrator_and_a_calibrated_one_need_not():
    truth = np.random.default_rng(1).uniform(0.02, 0.98, 4000)
    labels = _labels(truth, 2)
    squashed = choose_calibrator(labels, truth ** 3)  # far too low everywhere
    assert squashed.method in ("isotonic", "platt")
    assert squashed.out_of_fold_brier[squashed.method] < squashed.out_of_fold_brier["identity"]
    calibrated = squashed.calibrator.apply(truth ** 3)
    assert expected_calibration_error(labels, calibrated) < expected_calibration_error(
        labels, truth ** 3) / 3
    honest = choose_calibrator(labels, truth)
    assert honest.out_of_fold_brier["identity"] <= min(honest.out_of_fold_brier.values()) + 1e-3


def test_promotion_refuses_clearly_worse_calibration_only():
    truth = np.random.default_rng(3).uniform(0.02, 0.98, 3000)
    labels = _labels(truth, 4)
    worse = brier_delta_interval(labels, np.clip(truth + 0.25, 0, 1), truth)
    assert worse.low > 0 and calibration_refusal(worse) is not None
    noise = np.clip(truth + np.random.default_rng(5).normal(0, 0.01, truth.size), 0, 1)
    same = brier_delta_interval(labels, noise, truth)
    assert same.low < 0.002 and calibration_refusal(same) is None
    better = brier_delta_interval(labels, truth, np.clip(truth + 0.25, 0, 1))
    assert calibration_refusal(better) is None and better.high < 0


def test_gains_and_lift():
    labels = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    scores = np.linspace(1, 0, 10)
    contacted, reached = cumulative_gains(labels, scores)
    assert reached[2] == 1.0 and contacted[2] == pytest.approx(0.2)
    assert lift_at(labels, scores, 0.1) == pytest.approx(5.0)
    assert lift_at(labels, scores[::-1], 0.1) == 0.0


def test_policies_contact_whom_they_promise():
    values = np.array([30.0, -5.0, 12.0, 0.0, 50.0, 7.0])
    flagged = np.array([1, 1, 0, 0, 1, 0])
    assert RetentionDecision(0.5, "f1").contact(flagged, None).tolist() == flagged.tolist()
    assert RetentionDecision(0.5, "expected_profit", economics=ECONOMICS).contact(
        flagged, values).tolist() == [1, 0, 1, 0, 1, 1]
    assert RetentionDecision(0.5, "capacity", 2, economics=ECONOMICS).contact(
        flagged, values).tolist() == [1, 0, 0, 0, 1, 0]
    # A share of 0.9 of 6 rows is 6 contacts, but never one with EV <= 0.
    assert RetentionDecision(0.5, "capacity", 0.9, economics=ECONOMICS).contact(
        flagged, values).tolist() == [1, 0, 1, 0, 1, 1]
    assert ranks(values).tolist() == [2, 6, 3, 5, 1, 4]
    assert capacity_count(0.25, 10) == 3 and capacity_count(40, 10) == 10


def test_a_decision_survives_json_and_reads_models_logged_before_it():
    decision = RetentionDecision(0.31, "capacity", 0.1, {"method": "platt", "slope": 1.2,
                                                          "intercept": -0.3}, ECONOMICS)
    assert RetentionDecision.from_dict(decision.to_dict()) == decision
    old = RetentionDecision.from_dict({"threshold": 0.4})
    assert (old.policy, old.economics) == ("f1", None)
    np.testing.assert_array_equal(old.calibrated(np.array([0.2, 0.7])), [0.2, 0.7])
