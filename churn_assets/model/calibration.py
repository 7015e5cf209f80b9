"""Calibrated probabilities, fitted on the validation rows only.

Two candidates, scikit-learn's usual pair: isotonic regression and Platt's sigmoid (on the
logit), fitted by ``fit_calibrator`` into a ``Calibrator`` (plain-number state, no pickle;
monitoring's performance estimation applies it too). Which one — or none — is chosen by
measurement: each is cross-fitted over stratified folds of the validation rows (fit on k-1
folds, predict the held-out fold), and the lowest out-of-fold Brier score wins; ``identity``
(no calibration) competes too, so a calibrator that does not help is not used. The winner is
then refitted on all validation rows. Test rows are never read; their Brier and ECE before
and after are reported by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

# sklearn is imported in the functions that fit: applying a stored Calibrator needs numpy
# only, and a process that only loads the definitions never fits one.
METHODS = ("identity", "isotonic", "platt")
ECE_BINS = 10
_CLIP = 1e-6  # keeps logits finite for probabilities of exactly 0 or 1


@dataclass(frozen=True)
class Calibrator:
    """A fitted probability map, plain numbers only (JSON-able, no pickle).

    isotonic: piecewise-linear through the knots ``(x, y)``, flat outside them (what
    ``IsotonicRegression(out_of_bounds="clip").predict`` does). platt: sigmoid(slope *
    logit(p) + intercept). identity: p unchanged.
    """

    method: str
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    slope: float = 1.0
    intercept: float = 0.0

    def apply(self, probabilities: ArrayLike) -> np.ndarray:
        p = np.asarray(probabilities, dtype=float)
        if self.method == "identity":
            return p
        if self.method == "isotonic":
            return np.interp(p, self.x, self.y)
        if self.method == "platt":
            return 1 / (1 + np.exp(-(self.slope * _logit(p) + self.intercept)))
        raise ValueError(f"unknown calibration method '{self.method}'")

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Calibrator:
        return cls(str(data["method"]), tuple(data.get("x", ())),  # type: ignore[arg-type]
                   tuple(data.get("y", ())), float(data.get("slope", 1.0)),  # type: ignore[arg-type]
                   float(data.get("intercept", 0.0)))  # type: ignore[arg-type]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def fit_calibrator(
    labels: ArrayLike, probabilities: ArrayLike, method: str = "isotonic"
) -> Calibrator:
    """Fit on labeled reference rows the model did not train on (its validation rows)."""
    y = np.asarray(labels).astype(int)
    p = np.asarray(probabilities, dtype=float)
    if y.shape != p.shape or np.unique(y).size < 2:
        raise ValueError("calibration needs labels of both classes, one per probability")
    if method == "identity":
        return Calibrator("identity")
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Calibrator("isotonic", tuple(map(float, iso.X_thresholds_)),
                          tuple(map(float, iso.y_thresholds_)))
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        fit = LogisticRegression(C=1e6).fit(_logit(p).reshape(-1, 1), y)
        return Calibrator("platt", slope=float(fit.coef_[0, 0]),
                          intercept=float(fit.intercept_[0]))
    raise ValueError(f"unknown calibration method '{method}': use isotonic, platt or identity")


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
    from sklearn.metrics import brier_score_loss

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
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    out_of_fold = {method: np.empty(p.size) for method in METHODS}
    for fit_rows, held_rows in splitter.split(p.reshape(-1, 1), y):
        for method in METHODS:
            fitted = fit_calibrator(y[fit_rows], p[fit_rows], method)
            out_of_fold[method][held_rows] = fitted.apply(p[held_rows])
    scores = {method: brier(y, values) for method, values in out_of_fold.items()}
    best = min(METHODS, key=lambda method: (scores[method], METHODS.index(method)))
    return CalibrationChoice(fit_calibrator(y, p, best), scores)
