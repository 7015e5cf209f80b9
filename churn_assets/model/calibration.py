"""Calibrated probabilities, fitted on the validation rows only.

Two candidates, scikit-learn's usual pair: isotonic regression and Platt's sigmoid (on the
logit), fitted by ``monitoring.performance_estimation.fit_calibrator`` (plain-number state, no
pickle). Which one — or none — is chosen by measurement: each is cross-fitted over stratified
folds of the validation rows (fit on k-1 folds, predict the held-out fold), and the lowest
out-of-fold Brier score wins; ``identity`` (no calibration) competes too, so a calibrator
that does not help is not used. The winner is then refitted on all validation rows. Test rows
are never read; their Brier and ECE before and after are reported by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

from churn_assets.monitoring.performance_estimation import Calibrator, fit_calibrator

METHODS = ("identity", "isotonic", "platt")
ECE_BINS = 10


def expected_calibration_error(labels: ArrayLike, probabilities: ArrayLike,
                               bins: int = ECE_BINS) -> float:
    """ECE: over equal-width probability bins, the row-weighted mean of |observed churn rate -
    mean predicted probability| (Guo et al., 2017; Naeini et al., 2015)."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(index):
        members = index == b
        total += members.sum() * abs(y[members].mean() - p[members].mean())
    return float(total / max(y.size, 1))


def brier(labels: ArrayLike, probabilities: ArrayLike) -> float:
    return float(brier_score_loss(np.asarray(labels).astype(int), probabilities))


@dataclass(frozen=True)
class CalibrationChoice:
    calibrator: Calibrator  # refitted on all validation rows
    out_of_fold_brier: dict[str, float]  # per method, cross-fitted on the validation rows

    @property
    def method(self) -> str:
        return self.calibrator.method


def choose_calibrator(labels: ArrayLike, probabilities: ArrayLike, folds: int = 5,
                      seed: int = 0) -> CalibrationChoice:
    """The method with the lowest cross-fitted Brier score on these (validation) rows."""
    y = np.asarray(labels).astype(int)
    p = np.asarray(probabilities, dtype=float)
    if y.shape != p.shape or np.unique(y).size < 2:
        raise ValueError("calibration needs labels of both classes, one per probability")
    folds = max(2, min(folds, int(np.bincount(y).min())))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    out_of_fold = {method: np.empty(p.size) for method in METHODS}
    for fit_rows, held_rows in splitter.split(p.reshape(-1, 1), y):
        for method in METHODS:
            fitted = fit_calibrator(y[fit_rows], p[fit_rows], method)
            out_of_fold[method][held_rows] = fitted.apply(p[held_rows])
    scores = {method: brier(y, values) for method, values in out_of_fold.items()}
    best = min(METHODS, key=lambda method: (scores[method], METHODS.index(method)))
    return CalibrationChoice(fit_calibrator(y, p, best), scores)
