"""From the feature table to a fitted, thresholded and honestly evaluated candidate."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import xgboost as xgb

from churn_assets.dataset_config import DatasetConfig
from churn_assets.model.metrics import best_f1_threshold, classification_metrics
from churn_assets.model.tuning import (
    SEARCH_SPACE_VERSION,
    TuningResult,
    fit_on_train,
    open_study,
    tune,
)
from churn_assets.names import LABEL, META_COLUMNS, SPLIT


@dataclass(frozen=True)
class Candidate:
    model: xgb.XGBClassifier
    threshold: float
    tuning: TuningResult
    metrics: dict[str, float]  # valid_* and test_*; test rows touched only here, once


def split_matrix(features: pd.DataFrame, split: str) -> tuple[pd.DataFrame, np.ndarray]:
    rows = features[features[SPLIT] == split]
    return rows.drop(columns=list(META_COLUMNS)), rows[LABEL].to_numpy()


def stratified_sample(labels: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``max_rows`` rows, each class keeping its share; all rows
    when there are no more than ``max_rows``."""
    if len(labels) <= max_rows:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(1, round(max_rows * len(members) / len(labels)))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def study_name_for(config: DatasetConfig, data_version: str,
                   tuning_sample_rows: int | None = None) -> str:
    """One study per model, search space, objective settings and feature data: re-running
    the same data resumes the study (a larger n_trials adds trials); any change to what a
    trial computes starts a new one. ``tuning_sample_rows`` only when sampling applied."""
    tuning = config.tuning
    settings = (tuning.seed, tuning.early_stopping_rounds, tuning.max_estimators)
    if tuning_sample_rows is not None:
        settings += (tuning_sample_rows,)
    settings = repr(settings).encode()
    digest = hashlib.sha256(settings + data_version.encode()).hexdigest()[:16]
    return f"{config.model_name}-{SEARCH_SPACE_VERSION}-{digest}"


def features_version(features: pd.DataFrame) -> str:
    """A content hash of the feature table."""
    return hashlib.sha256(pd.util.hash_pandas_object(features, index=False).to_numpy()).hexdigest()


def train_candidate(
    features: pd.DataFrame, config: DatasetConfig, study_file: Path, data_version: str,
    on_trial: Callable[[optuna.trial.FrozenTrial, int], None] | None = None,
    tuning_sample_rows: int | None = 50_000,
) -> Candidate:
    """Tune on at most ``tuning_sample_rows`` stratified train rows (and as many valid rows),
    then fit the best parameters on all train rows, threshold on all valid rows, score test.
    A trial's ranking barely changes beyond some 50k rows, its cost grows linearly."""
    x_train, y_train = split_matrix(features, "train")
    x_valid, y_valid = split_matrix(features, "valid")
    x_test, y_test = split_matrix(features, "test")
    for name, labels in (("train", y_train), ("valid", y_valid), ("test", y_test)):
        if np.unique(labels).size < 2:
            raise ValueError(f"the {name} split holds a single class; cannot train or evaluate")

    tuning_data = (x_train, y_train, x_valid, y_valid)
    sampled = tuning_sample_rows is not None and max(len(y_train), len(y_valid)) > \
        tuning_sample_rows
    if sampled:
        train_rows = stratified_sample(y_train, tuning_sample_rows, config.tuning.seed)
        valid_rows = stratified_sample(y_valid, tuning_sample_rows, config.tuning.seed)
        tuning_data = (x_train.iloc[train_rows], y_train[train_rows],
                       x_valid.iloc[valid_rows], y_valid[valid_rows])
    name = study_name_for(config, data_version, tuning_sample_rows if sampled else None)
    study = open_study(study_file, name, config.tuning.seed)
    result = tune(study, config.tuning, *tuning_data, on_trial)
    model = fit_on_train(result.best_params, config.tuning, x_train, y_train, x_valid, y_valid)

    valid_probability = model.predict_proba(x_valid)[:, 1]
    threshold = best_f1_threshold(y_valid, valid_probability)
    metrics = {f"valid_{k}": v for k, v in
               classification_metrics(y_valid, valid_probability, threshold).items()}
    test_probability = model.predict_proba(x_test)[:, 1]
    metrics |= {f"test_{k}": v for k, v in
                classification_metrics(y_test, test_probability, threshold).items()}
    return Candidate(model=model, threshold=threshold, tuning=result, metrics=metrics)
