"""Estimated performance without labels: confidence-based performance estimation (CBPE).

NannyML's CBPE, implemented here because ``nannyml`` does not install beside the pinned
family (its FLAML[automl] dependency requires ``xgboost<3``). The method, as NannyML
documents it:

1. Calibrate. The champion's probabilities are mapped through a calibrator fitted on a
   labeled reference set (e.g. the champion's validation rows): isotonic regression by
   default (NannyML's choice), Platt scaling on the logit as an option.
2. F1. With calibrated probability ``c`` and the model's own prediction ``raw >= threshold``,
   a predicted positive is a true positive with probability ``c`` and a false positive with
   ``1 - c``; a predicted negative is a false negative with probability ``c``. Summing gives
   the expected confusion matrix, and F1 = 2 TP / (2 TP + FP + FN).
3. ROC-AUC. The same expected confusion matrix at every cut of the *model's* scores (rows
   sorted by raw score, ties cut together): expected TPR = cumsum(c) / sum(c), expected
   FPR = cumsum(1 - c) / sum(1 - c), and the area under that curve (trapezoids, so ties count
   one half, as in ``roc_auc_score``).

The interval around each estimate comes from simulating labels ``y ~ Bernoulli(c)`` and
computing the metric on them: it is the spread of the realized metric this snapshot would
show if the calibration holds (it does not cover calibration error, nor concept drift, which
CBPE by construction cannot see: it only sees covariate shift through the scores).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from churn_assets.model.calibration import Calibrator
from churn_assets.model.intervals import Interval
from churn_assets.model.metric_registry import ESTIMATED_METRICS
from churn_assets.monitoring.performance import (
    DEFAULT_RULE,
    DecayRule,
    PerformanceReport,
    check_deciding,
    checks_against,
)

# scipy is imported where it is used: loading the definitions estimates nothing.


def expected_confusion(
    calibrated: ArrayLike, predictions: ArrayLike
) -> tuple[float, float, float, float]:
    """Expected (TP, FP, FN, TN) of 0/1 predictions whose positive probability is ``calibrated``."""
    c = np.asarray(calibrated, dtype=float)
    positive = np.asarray(predictions).astype(bool)
    return (float(c[positive].sum()), float((1 - c[positive]).sum()),
            float(c[~positive].sum()), float((1 - c[~positive]).sum()))


def estimate_f1(calibrated: ArrayLike, predictions: ArrayLike) -> float:
    tp, fp, fn, _ = expected_confusion(calibrated, predictions)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def estimate_roc_auc(calibrated: ArrayLike, scores: ArrayLike) -> float:
    """Area under the expected ROC curve, cutting at each distinct model score."""
    c, s = np.asarray(calibrated, dtype=float), np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    c, s = c[order], s[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    tp = np.r_[0.0, np.cumsum(c)[last_of_tie]]
    fp = np.r_[0.0, np.cumsum(1 - c)[last_of_tie]]
    if tp[-1] <= 0 or fp[-1] <= 0:
        raise ValueError("calibrated probabilities are all 0 or all 1: ROC-AUC is undefined")
    return float(np.trapezoid(tp / tp[-1], fp / fp[-1]))


def _simulated_intervals(
    calibrated: np.ndarray, scores: np.ndarray, predictions: np.ndarray,
    estimates: Mapping[str, float], rule: DecayRule,
) -> dict[str, Interval]:
    """Percentile intervals of F1 and ROC-AUC over labels drawn from the calibrated
    probabilities (vectorised: F1 from counts, ROC-AUC from the Mann-Whitney rank sum)."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(rule.seed)
    labels = rng.random((rule.resamples, calibrated.size)) < calibrated  # (draws, rows)
    positives = labels.sum(axis=1).astype(float)
    negatives = calibrated.size - positives
    usable = (positives > 0) & (negatives > 0)
    tp = labels[:, predictions].sum(axis=1)
    f1 = 2 * tp / np.maximum(positives + predictions.sum(), 1)
    ranks = rankdata(scores)  # average ranks, so ties count one half
    rank_sum = labels.astype(float) @ ranks
    auc = (rank_sum - positives * (positives + 1) / 2) / np.where(
        usable, positives * negatives, 1)
    tail = (1 - rule.level) / 2 * 100
    out = {}
    for name, draws in (("f1", f1[usable]), ("roc_auc", auc[usable])):
        low, high = np.percentile(draws, [tail, 100 - tail])
        out[name] = Interval(estimates[name], float(low), float(high), rule.level,
                             int(draws.size))
    return out


def estimated_performance(
    probabilities: ArrayLike, threshold: float, calibrator: Calibrator,
    reference: Mapping[str, float], rule: DecayRule = DEFAULT_RULE,
) -> PerformanceReport:
    """CBPE estimates of F1 and ROC-AUC on unlabeled rows, with the same decay rule as the
    realized figures (interval entirely below reference - margin)."""
    check_deciding(rule, ESTIMATED_METRICS)
    scores = np.asarray(probabilities, dtype=float)
    if scores.size < rule.min_rows:
        raise ValueError(f"only {scores.size} rows (at least {rule.min_rows} needed)")
    calibrated = np.clip(calibrator.apply(scores), 0.0, 1.0)
    predictions = scores >= threshold
    estimates = {"f1": estimate_f1(calibrated, predictions),
                 "roc_auc": estimate_roc_auc(calibrated, scores)}
    intervals = _simulated_intervals(calibrated, scores, predictions, estimates, rule)
    return PerformanceReport("estimated", int(scores.size), float(calibrated.sum()),
                             float(threshold), checks_against(intervals, reference, rule.margin),
                             rule.deciding)
