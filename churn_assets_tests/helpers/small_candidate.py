"""A small real candidate for model tests: generated customers, the package's own column
roles, splits and preprocessing, and a few Optuna trials (seconds, not minutes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import (
    DEFAULT_CONFIG_PATH,
    DatasetConfig,
    load_dataset_config,
)
from churn_assets.generator import generate_customers
from churn_assets.model.candidate import Candidate, train_candidate
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.sections import TuningConfig
from churn_assets.model.tuning import open_study, study_storage
from churn_assets.names import LABEL, ROW_ID, SPLIT

CONFIG = DatasetConfig(
    source="x.csv", target="Churn", positive_label="Yes", id_column="customerID",
    model_name="churn-test",
    tuning=TuningConfig(n_trials=4, max_estimators=200, early_stopping_rounds=20,
                        timeout_seconds=None, n_jobs=1))


@dataclass(frozen=True)
class SmallCandidate:
    customers: pd.DataFrame  # raw rows, target included
    features: pd.DataFrame  # the feature table (row_id, split, label, model matrix)
    preprocessor: ChurnPreprocessor
    candidate: Candidate
    study: optuna.Study

    def split_rows(self, split: str) -> pd.DataFrame:
        return self.customers[(self.features[SPLIT] == split).to_numpy()]


def train_small_candidate(folder: Path, rows: int = 1500, seed: int = 21) -> SmallCandidate:
    customers = generate_customers(rows, seed=seed)
    split = assign_splits(customers["customerID"], CONFIG.split)
    roles = infer_column_roles(customers, CONFIG)
    telco = tuple(load_dataset_config(DEFAULT_CONFIG_PATH).engineered_declarations())
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical, engineered=telco).fit(
        customers[split == "train"])
    meta = pd.DataFrame({ROW_ID: customers["customerID"], SPLIT: split,
                         LABEL: binary_target(customers["Churn"], CONFIG.positive_label)})
    features = pd.concat([meta, preprocessor.transform(customers)], axis=1)
    storage = study_storage(f"journal://{folder / 'study.journal'}")
    study_name = f"small-{rows}-{seed}"
    candidate = train_candidate(features, CONFIG.tuning,
                                lambda family: open_study(storage, study_name, CONFIG.tuning.seed))
    study = optuna.load_study(study_name=study_name, storage=storage)
    return SmallCandidate(customers, features, preprocessor, candidate, study)
