"""Model families, shaped like MLflow's flavors: one module per family, named here.

Each module defines ``FAMILY`` (a :class:`~.base.ModelFamily`): its search space, its fit
(early stopping and Optuna pruning on the validation split, in the family's own terms),
its export without pickle and the loader the served model uses. Adding a family is one
module plus one line below. Modules are imported on first use, so a served XGBoost model
never needs LightGBM installed, and this package imports nothing heavy.

This package travels inside every logged model (MLflow ``code_paths``): its modules import
each other relatively and nothing else from ``churn_assets``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from .base import FAMILY_FILE, FittedModel, ModelFamily

# name -> module in this package
_MODULES = {
    "xgboost": "xgboost_family",
    "lightgbm": "lightgbm_family",
    "random_forest": "random_forest_family",
    "logistic_regression": "logistic_regression_family",
}
FAMILY_NAMES = tuple(_MODULES)
DEFAULT_FAMILY = FAMILY_NAMES[0]


def get_family(name: str) -> ModelFamily:
    if name not in _MODULES:
        raise ValueError(f"unknown model family '{name}' (known: {', '.join(FAMILY_NAMES)})")
    return importlib.import_module(f".{_MODULES[name]}", __name__).FAMILY


def save_fitted(model: FittedModel, folder: Path) -> None:
    """The model's files and ``family.json`` naming its family, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FAMILY_FILE).write_text(json.dumps({"family": model.family}))
    model.save(folder)


def load_fitted(folder: str | Path) -> FittedModel:
    """What ``save_fitted`` wrote, loaded by its family's own loader."""
    folder = Path(folder)
    name = json.loads((folder / FAMILY_FILE).read_text())["family"]
    return get_family(name).load(folder)


__all__ = ["DEFAULT_FAMILY", "FAMILY_NAMES", "FittedModel", "ModelFamily", "get_family",
           "load_fitted", "save_fitted"]
