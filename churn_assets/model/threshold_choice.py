"""Where the F1-optimal decision threshold is chosen: on the validation split, or — when it
holds few churners — on out-of-fold predictions over train + valid (issue 29).

The F1 curve's peak is read off the positives: with ~100 validation churners it moves by
several points of probability from one split to the next. Out of fold, every train and
valid row is scored by a model that did not train on it (the chosen parameters refitted on
k-1 folds, its rounds those early stopping chose, scaled to the fold's rows: no fold stops
on its own held-out rows), so the threshold is read off all labeled churners. Only train and
valid rows are read; the test split is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn_assets.model.families import FittedModel, ModelFamily
from churn_assets.model.metrics import best_f1_threshold

# Below this many validation churners "auto" chooses out of fold. The F1 peak is read off
# the churners: its noise shrinks like 1/sqrt(positives), and the table that lost
# 0.05 of F1 had ~100. 200 doubles that; a table with more valid churners than this (at the
# default 15 % valid share and 15 % churn, ~9,000 rows) has a valid split worth trusting, and
# the k refits out of fold grow with its rows.
OUT_OF_FOLD_POSITIVES = 200
DEFAULT_FOLDS = 5
SOURCES = ("auto", "valid", "out_of_fold")


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    source: str  # "valid" or "out_of_fold"
    valid_positives: int
    folds: int | None = None  # out of fold only

    def params(self) -> dict[str, Any]:
        """MLflow params saying how the threshold was chosen."""
        params: dict[str, Any] = {"threshold_source": self.source,
                                  "threshold_valid_positives": self.valid_positives}
        return params | ({"threshold_folds": self.folds} if self.folds else {})


def out_of_fold_probability(
    family: ModelFamily, params: dict[str, Any], tuning: Any, fitted: FittedModel,
    fitted_rows: int, x: pd.DataFrame, y: np.ndarray, folds: int,
) -> np.ndarray:
    """Each row's probability from the chosen parameters refitted on the other folds."""
    from sklearn.model_selection import StratifiedKFold  # heavy: not at code-location load

    splitter = StratifiedKFold(folds, shuffle=True, random_state=tuning.seed)
    probability = np.empty(len(y))
    for fit_rows, held_rows in splitter.split(x, y):
        model = family.refit(params, tuning, fitted, x.iloc[fit_rows], y[fit_rows],
                             len(fit_rows) / fitted_rows)
        probability[held_rows] = model.predict_proba(x.iloc[held_rows])
    return probability


def choose_threshold(
    family: ModelFamily, params: dict[str, Any], tuning: Any, fitted: FittedModel,
    fitted_rows: int, train: Callable[[], tuple[pd.DataFrame, np.ndarray]],
    valid: tuple[pd.DataFrame, np.ndarray], valid_probability: np.ndarray,
) -> ThresholdChoice:
    """``tuning.threshold_from``: ``valid``, ``out_of_fold``, or ``auto`` (out of fold below
    ``OUT_OF_FOLD_POSITIVES`` validation churners). Folds: ``tuning.cv_folds`` or 5.
    ``fitted``: the model of ``params`` fitted on ``fitted_rows`` train rows; ``train()``
    gives the train rows, read only out of fold (a large table's valid path never copies
    them)."""
    mode = getattr(tuning, "threshold_from", "valid")
    if mode not in SOURCES:
        raise ValueError(f"unknown threshold_from '{mode}': use {', '.join(SOURCES)}")
    x_valid, y_valid = valid
    positives = int(np.sum(y_valid))
    if mode == "valid" or (mode == "auto" and positives >= OUT_OF_FOLD_POSITIVES):
        return ThresholdChoice(best_f1_threshold(y_valid, valid_probability), "valid",
                               positives)
    x_train, y_train = train()
    x = pd.concat([x_train, x_valid], ignore_index=True)
    y = np.concatenate([y_train, y_valid])
    folds = max(2, min(tuning.cv_folds or DEFAULT_FOLDS, int(np.bincount(y).min())))
    probability = out_of_fold_probability(family, params, tuning, fitted, fitted_rows, x, y,
                                          folds)
    return ThresholdChoice(best_f1_threshold(y, probability), "out_of_fold", positives, folds)
