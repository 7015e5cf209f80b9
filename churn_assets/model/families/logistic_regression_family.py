"""Logistic regression (scikit-learn, L2): a linear baseline on standardised features, missing
values at the training mean. Exported as its coefficients in JSON, folded back to the raw
feature scale, so that predictions and contributions are ``coef * x`` exactly.

No rounds: the fit runs to convergence, so there is nothing to stop early and nothing to
prune; the validation split only scores the trial."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import Dimension, ModelFamily, sigmoid

MODEL_FILE = "coefficients.json"

SPACE = {"C": Dimension("float", 1e-3, 10.0, log=True)}


@dataclass
class LinearModel:
    columns: list[str]
    coefficients: np.ndarray  # per raw feature
    intercept: float
    fill: np.ndarray  # what a missing value counts as (the training mean)
    spread: np.ndarray  # the training standard deviation, for importances
    family: str = "logistic_regression"

    @property
    def size(self) -> None:
        return None

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        x = features[self.columns].to_numpy(dtype="float64")
        return np.where(np.isnan(x), self.fill, x)

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        parts = self._matrix(features) * self.coefficients
        return np.hstack([parts, np.full((len(features), 1), self.intercept)])

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return sigmoid(self.contributions(features).sum(axis=1))

    def importances(self) -> dict[str, float]:
        # |standardised coefficient|: the log-odds change per standard deviation.
        return {name: float(abs(c * s)) for name, c, s in
                zip(self.columns, self.coefficients, self.spread, strict=True) if c != 0}

    def save(self, folder: Path) -> None:
        (folder / MODEL_FILE).write_text(json.dumps({
            "columns": self.columns, "coefficients": self.coefficients.tolist(),
            "intercept": self.intercept, "fill": self.fill.tolist(),
            "spread": self.spread.tolist()}))


def load(folder: Path) -> LinearModel:
    state = json.loads((Path(folder) / MODEL_FILE).read_text())
    return LinearModel(state["columns"], np.asarray(state["coefficients"], dtype="float64"),
                       float(state["intercept"]), np.asarray(state["fill"], dtype="float64"),
                      np.asarray(state["spread"], dtype="float64"))


def _fit_rows(params: dict[str, Any], config: Any, x: pd.DataFrame,
              y: np.ndarray) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    raw = x.to_numpy(dtype="float64")
    mean = np.nan_to_num(np.nanmean(raw, axis=0))
    filled = np.where(np.isnan(raw), mean, raw)
    scale = filled.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=params["C"], max_iter=2000, random_state=config.seed)
    model.fit((filled - mean) / scale, y)
    coefficients = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - np.sum(coefficients * mean))
    return LinearModel(list(x.columns), coefficients, intercept, mean, scale)


def fit(params: dict[str, Any], config: Any, x_train: pd.DataFrame, y_train: np.ndarray,
        x_valid: pd.DataFrame, y_valid: np.ndarray, trial: Any = None) -> LinearModel:
    return _fit_rows(params, config, x_train, y_train)


def refit(params: dict[str, Any], config: Any, fitted: LinearModel, x: pd.DataFrame,
          y: np.ndarray, row_ratio: float) -> LinearModel:
    return _fit_rows(params, config, x, y)


FAMILY = ModelFamily(
    name="logistic_regression", space=SPACE, fit=fit, refit=refit, load=load,
    requirements=("scikit-learn",), importance_kind="|standardised coefficient|")
