"""What every family provides (``ModelFamily``) and what its fitted model answers
(``FittedModel``). Plain data and protocols: no model library imported here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

FAMILY_FILE = "family.json"
# How often a boosting family reports to Optuna: each report is a journal append under a
# file lock with an fsync, and each pruning question a storage read.
PRUNING_REPORT_EVERY = 10


class FittedModel(Protocol):
    """A fitted model of any family, on the preprocessed model matrix."""

    family: str

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Churn probability per row (1-d, float64)."""

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """Per-row contributions to the churn log-odds, shape (rows, features + 1); the last
        column is the bias, and each row sums to the logit of ``predict_proba``."""

    def importances(self) -> dict[str, float]:
        """Global importance per feature (the family's own measure), unnormalised."""

    def save(self, folder: Path) -> None:
        """The model's files into ``folder``, without pickle."""

    @property
    def size(self) -> int | None:
        """Boosting rounds or trees in use; None where the family has no such count."""


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a float or int range (``log`` scale or not) or choices."""

    kind: str  # "float", "int" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any, name: str) -> Any:
        if self.kind == "float":
            return trial.suggest_float(name, self.low, self.high, log=self.log)
        if self.kind == "int":
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_categorical(name, list(self.choices))

    def overridden(self, value: Any, where: str) -> Dimension:
        """This dimension with the YAML's ``[low, high]`` (ranges) or list (choices)."""
        if self.kind == "categorical":
            if not isinstance(value, list | tuple) or not value:
                raise ValueError(f"{where}: give a non-empty list of choices")
            return replace(self, choices=tuple(value))
        if not (isinstance(value, list | tuple) and len(value) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
                and value[0] <= value[1]):
            raise ValueError(f"{where}: give [low, high] with low <= high")
        if self.log and value[0] <= 0:
            raise ValueError(f"{where}: a log-scale range needs low > 0")
        return replace(self, low=value[0], high=value[1])


SearchSpace = Mapping[str, Dimension]


def narrowed(space: SearchSpace, overrides: Mapping[str, Any], family: str) -> dict:
    """``space`` with the YAML's per-parameter overrides; an unknown parameter is an error
    naming it and the known ones."""
    unknown = sorted(set(overrides) - set(space))
    if unknown:
        raise ValueError(f"model.search_space.{family}.{unknown[0]}: unknown parameter "
                         f"(known: {', '.join(space)})")
    return {name: (dimension.overridden(overrides[name], f"model.search_space.{family}.{name}")
                   if name in overrides else dimension)
            for name, dimension in space.items()}


@dataclass(frozen=True)
class ModelFamily:
    """A family's contract, one module each (see the package docstring).

    ``fit(params, config, x_train, y_train, x_valid, y_valid, trial=None)`` fits on train
    and stops on valid (early stopping, or the family's equivalent); with ``trial`` it also
    reports to Optuna and raises ``optuna.TrialPruned``. ``refit(params, config, fitted, x,
    y)`` fits the same parameters on more rows without a validation split, as large as
    ``fitted`` turned out. ``config`` is the dataset's tuning section."""

    name: str
    space: SearchSpace
    fit: Callable[..., FittedModel]
    refit: Callable[..., FittedModel]
    load: Callable[[Path], FittedModel]
    requirements: tuple[str, ...]  # pip requirements of the served model, beyond numpy/pandas
    importance_kind: str  # shown in the importance picture's title
    fit_on_cluster: Callable[..., FittedModel] | None = None  # dask client first
    # (x_train, y_train, x_valid, y_valid) -> what the trials of one tuning call on these
    # rows share, passed to ``fit`` as ``shared=`` (e.g. XGBoost's quantised matrices).
    prepare_trials: Callable[..., Any] | None = None

    def suggest(self, trial: Any, overrides: Mapping[str, Any] | None = None) -> dict:
        space = narrowed(self.space, overrides or {}, self.name)
        return {name: dimension.suggest(trial, name) for name, dimension in space.items()}


def logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def sigmoid(log_odds: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(log_odds, dtype=float)))
