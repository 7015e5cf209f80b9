"""From the feature table to a fitted, thresholded and honestly evaluated candidate."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
import xgboost as xgb

from churn_assets.dataset_config import TuningConfig
from churn_assets.model.metrics import best_f1_threshold, classification_metrics
from churn_assets.model.tuning import (
    SEARCH_SPACE_VERSION,
    TuningResult,
    fit_on_train,
    make_classifier,
    tune,
)
from churn_assets.names import LABEL, META_COLUMNS, SPLIT


@dataclass(frozen=True)
class Candidate:
    model: xgb.XGBClassifier
    threshold: float
    tuning: TuningResult
    metrics: dict[str, float]  # valid_* and test_*; test rows touched only here, once
    refit_rounds: int | None = None  # boosting rounds of the train+valid refit, if any
    # The probabilities the threshold was chosen on (before any refit): calibration's input.
    valid_probability: np.ndarray | None = None


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


def study_name_for(model_name: str, tuning: TuningConfig, data_version: str) -> str:
    """One study per model, search space, objective settings and feature data: re-running
    the same data resumes the study (a larger n_trials adds trials); any change to what a
    trial computes starts a new one."""
    settings = (tuning.seed, tuning.early_stopping_rounds, tuning.max_estimators,
                tuning.sample_rows, tuning.parallel_trials)
    if tuning.cv_folds:  # only then, so studies stored before the option keep their names
        settings += (("cv_folds", tuning.cv_folds),)
    digest = hashlib.sha256(repr(settings).encode() + data_version.encode()).hexdigest()[:16]
    return f"{model_name}-{SEARCH_SPACE_VERSION}-{digest}"


def features_version(features: pd.DataFrame) -> str:
    """A content hash of the feature table."""
    return hashlib.sha256(pd.util.hash_pandas_object(features, index=False).to_numpy()).hexdigest()


def refit_on_train_valid(
    params: dict, tuning: TuningConfig, early_stopped: xgb.XGBClassifier,
    x_train: pd.DataFrame, y_train: np.ndarray, x_valid: pd.DataFrame, y_valid: np.ndarray,
) -> xgb.XGBClassifier:
    """The same parameters on train + valid, no early stopping: the rounds early stopping
    chose on train, scaled by (n_train + n_valid) / n_train for the larger table."""
    rounds = max(1, round((early_stopped.best_iteration + 1)
                          * (len(y_train) + len(y_valid)) / len(y_train)))
    model = make_classifier(params, tuning.model_copy(update={"max_estimators": rounds}))
    model.set_params(early_stopping_rounds=None)
    model.fit(pd.concat([x_train, x_valid]), np.concatenate([y_train, y_valid]), verbose=False)
    return model


def train_candidate(
    features: pd.DataFrame, tuning: TuningConfig, open_study: Callable[[], optuna.Study],
    on_trial: Callable[[optuna.trial.FrozenTrial, int], None] | None = None,
) -> Candidate:
    """Tune on at most ``tuning.sample_rows`` stratified train rows (and as many valid rows),
    then fit the best parameters on all train rows, threshold on all valid rows, score test
    once (with ``tuning.refit_on_train_valid``, by the refit on train + valid). A trial's
    ranking barely changes beyond some 50k rows; its cost grows linearly.

    ``open_study`` is called only once the data is known to be usable, so a rejected table
    leaves no study behind."""
    x_train, y_train = split_matrix(features, "train")
    x_valid, y_valid = split_matrix(features, "valid")
    x_test, y_test = split_matrix(features, "test")
    for name, labels in (("train", y_train), ("valid", y_valid), ("test", y_test)):
        if np.unique(labels).size < 2:
            raise ValueError(f"the {name} split holds a single class; cannot train or evaluate")

    tuning_data = (x_train, y_train, x_valid, y_valid)
    limit = tuning.sample_rows
    if limit is not None and max(len(y_train), len(y_valid)) > limit:
        train_rows = stratified_sample(y_train, limit, tuning.seed)
        valid_rows = stratified_sample(y_valid, limit, tuning.seed)
        tuning_data = (x_train.iloc[train_rows], y_train[train_rows],
                       x_valid.iloc[valid_rows], y_valid[valid_rows])
    study = open_study()
    result = tune(study, tuning, *tuning_data, on_trial)
    # A study on a Dask cluster (DaskStudy) also decides where the final fit runs.
    fit = getattr(study, "fit_on_train", fit_on_train)
    model = fit(result.best_params, tuning, x_train, y_train, x_valid, y_valid)

    valid_probability = model.predict_proba(x_valid)[:, 1]
    threshold = best_f1_threshold(y_valid, valid_probability)
    metrics = {f"valid_{k}": v for k, v in
               classification_metrics(y_valid, valid_probability, threshold).items()}
    refit_rounds = None
    if tuning.refit_on_train_valid:  # valid figures and threshold stay the honest ones above
        model = refit_on_train_valid(result.best_params, tuning, model, x_train, y_train,
                                     x_valid, y_valid)
        refit_rounds = model.n_estimators
    test_probability = model.predict_proba(x_test)[:, 1]
    metrics |= {f"test_{k}": v for k, v in
                classification_metrics(y_test, test_probability, threshold).items()}
    return Candidate(model=model, threshold=threshold, tuning=result, metrics=metrics,
                     refit_rounds=refit_rounds, valid_probability=valid_probability)
