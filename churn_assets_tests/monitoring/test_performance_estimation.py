"""CBPE: the champion's F1 and ROC-AUC estimated from calibrated probabilities, no labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score, roc_auc_score

from churn_assets.model.calibration import Calibrator, fit_calibrator
from churn_assets.model.metric_registry import ESTIMATED_METRICS
from churn_assets.monitoring.performance import DecayRule, realized_performance
from churn_assets.monitoring.performance_estimation import (
    estimate_f1,
    estimate_roc_auc,
    estimated_performance,
    expected_confusion,
)
from churn_assets_tests.monitoring.small_model import (
    COVARIATE_SHIFT,
    SmallChampion,
    labels,
    snapshot,
)

FAST = DecayRule(resamples=100)


def test_expected_confusion_by_hand():
    calibrated = np.array([0.9, 0.6, 0.3, 0.1])
    predicted = np.array([1, 1, 0, 0])
    tp, fp, fn, tn = expected_confusion(calibrated, predicted)
    assert (tp, fp, fn, tn) == pytest.approx((1.5, 0.5, 0.4, 1.6))
    assert estimate_f1(calibrated, predicted) == pytest.approx(3.0 / (3.0 + 0.5 + 0.4))


def test_with_certain_probabilities_the_estimates_are_the_realized_metrics():
    """Calibrated probabilities of exactly 0/1 are the labels: CBPE must reduce to the
    metrics themselves (ties in the scores included)."""
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(int)
    scores = np.round(np.clip(0.3 * y + rng.random(500) * 0.7, 0, 1), 2)  # many ties
    predicted = scores >= 0.5
    assert estimate_f1(y.astype(float), predicted) == pytest.approx(f1_score(y, predicted))
    assert estimate_roc_auc(y.astype(float), scores) == pytest.approx(roc_auc_score(y, scores))


def test_isotonic_calibrator_matches_sklearn_and_survives_json():
    rng = np.random.default_rng(1)
    p = rng.random(2000)
    y = (rng.random(2000) < p**2).astype(int)
    calibrator = fit_calibrator(y, p)
    fresh = rng.random(100) * 1.2 - 0.1  # outside the fitted range too
    sklearn = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    np.testing.assert_allclose(calibrator.apply(fresh), sklearn.predict(fresh), atol=1e-12)
    restored = Calibrator.from_dict(json.loads(json.dumps(calibrator.to_dict())))
    assert restored == calibrator


def test_platt_calibrator_is_monotone_and_fixes_a_distortion():
    rng = np.random.default_rng(2)
    p = rng.random(4000)
    y = (rng.random(4000) < p).astype(int)
    distorted = p**3  # an over-confident negative model
    calibrator = fit_calibrator(y, distorted, "platt")
    out = calibrator.apply(np.sort(distorted))
    assert np.all(np.diff(out) >= 0)
    assert abs(calibrator.apply(distorted).mean() - y.mean()) < 0.02
    assert abs(distorted.mean() - y.mean()) > 0.2


def test_calibration_needs_both_classes_and_a_known_method():
    with pytest.raises(ValueError, match="both classes"):
        fit_calibrator([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="unknown calibration method"):
        fit_calibrator([0, 1], [0.2, 0.9], "beta")


@pytest.mark.parametrize("shift", [{}, COVARIATE_SHIFT], ids=["unshifted", "covariate_shift"])
def test_estimate_falls_inside_the_realized_interval(small_champion: SmallChampion, shift):
    """The brief's check: on a labeled snapshot, CBPE (labels hidden) lands inside the
    realized metric's bootstrap interval; calibration fitted on the champion's valid rows."""
    valid = small_champion.valid
    calibrator = fit_calibrator(labels(valid), small_champion.probabilities(valid))
    frame = snapshot(seed=41, **shift)
    p = small_champion.probabilities(frame)
    realized = realized_performance(labels(frame), p, small_champion.threshold,
                                    small_champion.reference, FAST)
    estimated = estimated_performance(p, small_champion.threshold, calibrator,
                                      small_champion.reference, FAST)
    for metric in ESTIMATED_METRICS:
        truth, guess = realized.check(metric).interval, estimated.check(metric).interval
        assert truth.low <= guess.estimate <= truth.high, (metric, truth, guess)
    assert not estimated.decayed


def test_concept_shift_is_invisible_to_cbpe(small_champion: SmallChampion):
    """CBPE assumes P(churn | features) is unchanged: a concept shift hurts the realized
    figures while the estimate stays healthy. This is why labeled snapshots matter."""
    valid = small_champion.valid
    calibrator = fit_calibrator(labels(valid), small_champion.probabilities(valid))
    frame = snapshot(seed=42, concept_shift=0.5)
    p = small_champion.probabilities(frame)
    realized = realized_performance(labels(frame), p, small_champion.threshold,
                                    small_champion.reference, FAST)
    estimated = estimated_performance(p, small_champion.threshold, calibrator,
                                      small_champion.reference, FAST)
    assert realized.decayed and not estimated.decayed


def test_estimated_decay_verdict_and_figures(small_champion: SmallChampion):
    frame = snapshot(seed=43, rows=1000)
    p = small_champion.probabilities(frame)
    high_bar = {"f1": 0.99, "roc_auc": 0.99}
    report = estimated_performance(p, small_champion.threshold, Calibrator("identity"),
                                   high_bar, FAST)
    assert report.decayed and report.kind == "estimated"
    figures = report.figures()
    assert {"estimated_f1", "estimated_f1_low", "estimated_f1_high", "estimated_roc_auc",
            "estimated_roc_auc_drop", "estimated_decay", "estimated_rows"} <= set(figures)
    assert "pr_auc" not in " ".join(figures)
    again = estimated_performance(p, small_champion.threshold, Calibrator("identity"),
                                  high_bar, FAST)
    assert again == report  # seeded


def test_pr_auc_cannot_decide_an_estimate():
    with pytest.raises(ValueError, match="pr_auc"):
        estimated_performance(np.linspace(0, 1, 200), 0.5, Calibrator("identity"), {},
                              DecayRule(deciding=("pr_auc",)))
