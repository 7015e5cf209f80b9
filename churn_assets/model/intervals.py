"""Bootstrap intervals for classification metrics, single and paired.

Resampling is stratified by class (each resample keeps the positives and negatives counts),
so ROC-AUC is defined in every resample and small test sets do not produce degenerate draws.
Paired intervals resample the *same rows* for both models: the interval is about the
difference, with the shared noise of the rows cancelled out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

METRICS = ("f1", "roc_auc", "pr_auc")


@dataclass(frozen=True)
class Interval:
    """A point estimate on all rows and its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    level: float
    resamples: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def text(self, digits: int = 4) -> str:
        return (f"{self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"
                f" ({self.level:.0%}, {self.resamples} resamples)")


def _metric(name: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], float]:
    """metric(labels, probabilities, predictions) -> value."""
    if name == "f1":
        return lambda y, _p, yhat: float(f1_score(y, yhat, zero_division=0))
    if name == "roc_auc":
        return lambda y, p, _yhat: float(roc_auc_score(y, p))
    if name == "pr_auc":
        return lambda y, p, _yhat: float(average_precision_score(y, p))
    raise ValueError(f"unknown metric '{name}': use one of {', '.join(METRICS)}")


# Resamples scored per block: bounds the (block, rows) matrices to some 16 MB each.
BLOCK_CELLS = 2_000_000


def _f1_rows(y: np.ndarray, yhat: np.ndarray) -> np.ndarray:
    """F1 of each row of (resamples, n) label and 0/1 prediction matrices; 0 where there are
    no positives at all (sklearn's ``zero_division=0``)."""
    tp = np.count_nonzero(y & yhat, axis=1)
    wrong = np.count_nonzero(y != yhat, axis=1)  # fp + fn
    denominator = 2 * tp + wrong
    return np.divide(2 * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)


def _roc_auc_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row as the Mann-Whitney U statistic (average ranks for ties, as
    sklearn's trapezoidal AUC counts a tie as half)."""
    positives = y.sum(axis=1)
    negatives = y.shape[1] - positives
    rank_sum = np.where(y, rankdata(p, axis=1), 0.0).sum(axis=1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _draws(metric: str, y: np.ndarray, p: np.ndarray, yhat: np.ndarray,
           indices: np.ndarray) -> np.ndarray:
    """The metric on every resample (rows of ``indices``), vectorised for F1 and ROC-AUC."""
    if metric == "pr_auc":
        score = _metric(metric)
        return np.array([score(y[i], p[i], yhat[i]) for i in indices])
    block = max(1, BLOCK_CELLS // max(1, indices.shape[1]))
    parts = []
    for start in range(0, len(indices), block):
        rows = indices[start:start + block]
        if metric == "f1":
            parts.append(_f1_rows(y[rows].astype(bool), yhat[rows].astype(bool)))
        else:
            parts.append(_roc_auc_rows(y[rows].astype(bool), p[rows]))
    return np.concatenate(parts)


def stratified_resamples(labels: ArrayLike, resamples: int, seed: int) -> np.ndarray:
    """Row indices, shape (resamples, n): each row draws with replacement within each class."""
    labels = np.asarray(labels)
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    rng = np.random.default_rng(seed)
    blocks = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        blocks.append(members[rng.integers(0, members.size, size=(resamples, members.size))])
    return np.concatenate(blocks, axis=1)


def _check(labels: np.ndarray, *arrays: np.ndarray) -> None:
    if np.unique(labels).size < 2:
        raise ValueError("bootstrap intervals need both classes among the labels")
    if any(a.shape != labels.shape for a in arrays):
        raise ValueError("labels and scores must have the same length")


def _interval(estimate: float, draws: np.ndarray, level: float) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), level, int(draws.size))


def metric_interval(
    metric: str, labels: ArrayLike, probabilities: ArrayLike, threshold: float,
    resamples: int = 1000, seed: int = 0, level: float = 0.95,
) -> Interval:
    """The metric on all rows, and its bootstrap interval."""
    score = _metric(metric)
    y, p = np.asarray(labels), np.asarray(probabilities, dtype=float)
    _check(y, p)
    yhat = (p >= threshold).astype(int)
    draws = _draws(metric, y, p, yhat, stratified_resamples(y, resamples, seed))
    return _interval(score(y, p, yhat), draws, level)


def paired_delta_interval(
    metric: str, labels: ArrayLike, candidate: ArrayLike, candidate_threshold: float,
    champion: ArrayLike, champion_threshold: float,
    resamples: int = 1000, seed: int = 0, level: float = 0.95,
) -> Interval:
    """metric(candidate) - metric(champion) on the same rows, and its paired interval."""
    score = _metric(metric)
    y = np.asarray(labels)
    p_new, p_old = np.asarray(candidate, dtype=float), np.asarray(champion, dtype=float)
    _check(y, p_new, p_old)
    yhat_new = (p_new >= candidate_threshold).astype(int)
    yhat_old = (p_old >= champion_threshold).astype(int)

    indices = stratified_resamples(y, resamples, seed)
    draws = (_draws(metric, y, p_new, yhat_new, indices)
             - _draws(metric, y, p_old, yhat_old, indices))
    estimate = score(y, p_new, yhat_new) - score(y, p_old, yhat_old)
    return _interval(estimate, draws, level)
