"""LightGBM: leaf-wise trees, early stopping on valid log-loss, pruned every 10 rounds;
exported as LightGBM's native text model; TreeSHAP contributions from LightGBM itself.

Trained on the bare matrix with the columns' positions as names: LightGBM rejects JSON
special characters in feature names, which one-hot levels may hold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from .base import PRUNING_REPORT_EVERY, Dimension, ModelFamily

MODEL_FILE = "model.txt"
COLUMNS_FILE = "columns.json"

SPACE = {
    "learning_rate": Dimension("float", 0.02, 0.2, log=True),
    "num_leaves": Dimension("int", 4, 64, log=True),
    "min_child_samples": Dimension("int", 5, 200, log=True),
    "feature_fraction": Dimension("float", 0.4, 1.0),
    "bagging_fraction": Dimension("float", 0.5, 1.0),
    "lambda_l2": Dimension("float", 1e-3, 20.0, log=True),
    "lambda_l1": Dimension("float", 1e-3, 5.0, log=True),
}


def _settings(params: dict[str, Any], config: Any) -> dict[str, Any]:
    return {**params, "objective": "binary", "metric": "binary_logloss", "bagging_freq": 1,
            "seed": config.seed, "deterministic": True, "num_threads": config.n_jobs,
            "verbosity": -1}


def _matrix(features: pd.DataFrame) -> np.ndarray:
    return features.to_numpy(dtype="float64")


@dataclass
class LightGBMModel:
    booster: lgb.Booster
    columns: list[str]
    family: str = "lightgbm"

    @property
    def size(self) -> int:
        return self.booster.num_trees()

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(_matrix(features[self.columns])).astype("float64")

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(_matrix(features[self.columns]),
                                               pred_contrib=True), dtype="float64")

    def importances(self) -> dict[str, float]:
        gain = self.booster.feature_importance(importance_type="gain")
        return {name: float(value) for name, value in zip(self.columns, gain, strict=True)
                if value > 0}

    def save(self, folder: Path) -> None:
        self.booster.save_model(str(folder / MODEL_FILE))
        (folder / COLUMNS_FILE).write_text(json.dumps(self.columns))


def load(folder: Path) -> LightGBMModel:
    folder = Path(folder)
    return LightGBMModel(lgb.Booster(model_file=str(folder / MODEL_FILE)),
                         json.loads((folder / COLUMNS_FILE).read_text()))


def _pruning_callback(trial: Any) -> Any:
    from optuna_integration import LightGBMPruningCallback

    report = LightGBMPruningCallback(trial, "binary_logloss", valid_name="valid")

    def every_few_rounds(env: Any) -> None:
        if env.iteration % PRUNING_REPORT_EVERY == 0:
            report(env)

    return every_few_rounds


def fit(params: dict[str, Any], config: Any, x_train: pd.DataFrame, y_train: np.ndarray,
        x_valid: pd.DataFrame, y_valid: np.ndarray, trial: Any = None) -> LightGBMModel:
    """Fit on train; the validation split only decides when boosting stops."""
    train = lgb.Dataset(_matrix(x_train), label=y_train, free_raw_data=False)
    valid = lgb.Dataset(_matrix(x_valid), label=y_valid, reference=train)
    callbacks = [lgb.early_stopping(config.early_stopping_rounds, verbose=False)]
    if trial is not None:
        callbacks.append(_pruning_callback(trial))
    booster = lgb.train(_settings(params, config), train, num_boost_round=config.max_estimators,
                        valid_sets=[valid], valid_names=["valid"], callbacks=callbacks)
    # Keep only the trees in use, so predictions, export and explanations agree.
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    return LightGBMModel(kept, list(x_train.columns))


def refit(params: dict[str, Any], config: Any, fitted: LightGBMModel, x: pd.DataFrame,
          y: np.ndarray, row_ratio: float) -> LightGBMModel:
    rounds = max(1, round(fitted.size * row_ratio))
    booster = lgb.train(_settings(params, config), lgb.Dataset(_matrix(x), label=y),
                        num_boost_round=rounds)
    return LightGBMModel(booster, list(x.columns))


FAMILY = ModelFamily(
    name="lightgbm", space=SPACE, fit=fit, refit=refit, load=load,
    requirements=("lightgbm",), importance_kind="LightGBM total gain")
