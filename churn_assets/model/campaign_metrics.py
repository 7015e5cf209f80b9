"""Campaign figures on labeled rows: gains, lift, and paired bootstrap comparisons of two
models (Brier score, expected profit) on the same rows, for promotion.

The paired bootstrap reuses ``model.intervals.stratified_counts``: the same stratified draws
of rows for both models, so the interval is about the difference, with the rows' shared noise
cancelled (as for the F1 and ROC-AUC deltas).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from churn_assets.model.intervals import Interval, stratified_counts

DEFAULT_BRIER_MARGIN = 0.002


def cumulative_gains(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(share of customers contacted, share of all churners reached), best scores first;
    both start at 0."""
    y = np.asarray(labels, dtype=float)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    reached = np.r_[0.0, np.cumsum(y[order])] / max(y.sum(), 1.0)
    contacted = np.arange(y.size + 1) / max(y.size, 1)
    return contacted, reached


def lift_at(labels: ArrayLike, scores: ArrayLike, share: float = 0.1) -> float:
    """Churn rate among the top ``share`` by score over the overall churn rate
    (top-decile lift for share 0.1)."""
    y = np.asarray(labels, dtype=float)
    top = max(1, int(np.ceil(share * y.size)))
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    return float(y[order[:top]].mean() / y.mean())


def _paired_interval(labels: np.ndarray, new: np.ndarray, old: np.ndarray, statistic: str,
                     resamples: int, seed: int, level: float) -> Interval:
    """statistic(new) - statistic(old) over rows ("mean" or "sum"), paired bootstrap."""
    if np.unique(labels).size < 2:
        raise ValueError("bootstrap intervals need both classes among the labels")
    if not (labels.shape == new.shape == old.shape):
        raise ValueError("labels and both models' per-row figures must cover the same rows")
    difference = new - old
    draws = []
    for counts in stratified_counts(labels, resamples, seed):
        total = counts @ difference
        draws.append(total / counts.sum(axis=1) if statistic == "mean" else total)
    draws = np.concatenate(draws)
    estimate = difference.mean() if statistic == "mean" else difference.sum()
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), level, int(draws.size))


def brier_delta_interval(labels: ArrayLike, candidate: ArrayLike, champion: ArrayLike,
                         resamples: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """Brier(candidate) - Brier(champion) on the same rows (positive = candidate worse)."""
    y = np.asarray(labels).astype(int)
    new = (np.asarray(candidate, dtype=float) - y) ** 2
    old = (np.asarray(champion, dtype=float) - y) ** 2
    return _paired_interval(y, new, old, "mean", resamples, seed, level)


def calibration_refusal(delta: Interval, margin: float = DEFAULT_BRIER_MARGIN) -> str | None:
    """The promotion rule on calibration: refuse when the candidate is *clearly* worse, i.e.
    the whole interval of its Brier excess lies above ``margin``; None when it may promote."""
    if delta.low > margin:
        return (f"not promoted: Brier score delta {delta.text()} - lower bound above "
                f"{margin:g}, the candidate's probabilities are clearly worse calibrated")
    return None

