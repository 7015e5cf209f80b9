"""A dropped column has no influence: no feature, engineered ones included, reads it.

A model is trained through the package's pure functions (roles, splits, preprocessing with
the bundled YAML's engineered declarations, tuning); shuffling the dropped columns must leave
every prediction unchanged, while shuffling the same columns when they are kept moves them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import (
    DEFAULT_CONFIG_PATH,
    DatasetConfig,
    load_dataset_config,
)
from churn_assets.generator import generate_customers
from churn_assets.model.candidate import train_candidate
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.sections import TuningConfig
from churn_assets.model.tuning import open_study, study_storage
from churn_assets.names import LABEL, ROW_ID, SPLIT

DROPPED = ["Contract", "tenure", "MonthlyCharges", "TotalCharges"]
TELCO = load_dataset_config(DEFAULT_CONFIG_PATH).engineered


def trained_predictor(folder: Path, drop: list[str]):
    config = DatasetConfig(
        source="x.csv", target="Churn", positive_label="Yes", id_column="customerID",
        model_name="churn-dropped", drop=tuple(drop), engineered=TELCO,
        tuning=TuningConfig(n_trials=3, max_estimators=150, early_stopping_rounds=15,
                            timeout_seconds=None, n_jobs=1))
    customers = generate_customers(1500, seed=11)
    split = assign_splits(customers["customerID"], config.split)
    roles = infer_column_roles(customers, config)
    fitted = ChurnPreprocessor(roles.numeric, roles.categorical,
                               engineered=tuple(config.engineered_declarations())).fit(
        customers[split == "train"])
    meta = pd.DataFrame({ROW_ID: customers["customerID"], SPLIT: split,
                         LABEL: binary_target(customers["Churn"], config.positive_label)})
    features = pd.concat([meta, fitted.transform(customers)], axis=1)
    storage = study_storage(f"journal://{folder / 'study.journal'}")
    candidate = train_candidate(features, config.tuning,
                                lambda family: open_study(storage, "dropped", config.tuning.seed))
    shipped = ChurnPreprocessor.from_json(fitted.to_json())  # what the logged model carries

    def predict(rows: pd.DataFrame) -> np.ndarray:
        return candidate.model.predict_proba(shipped.transform(rows))

    return predict, shipped, customers.drop(columns=["Churn"])


def shuffled(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    out = rows.copy()
    for column in columns:
        out[column] = rng.permutation(out[column].to_numpy())
    return out


def test_shuffling_dropped_columns_leaves_every_prediction_unchanged(tmp_path: Path) -> None:
    predict, preprocessor, rows = trained_predictor(tmp_path, DROPPED)

    assert not set(preprocessor.required_columns()) & set(DROPPED)
    assert preprocessor.engineered_inputs() == {}  # every Telco feature reads a dropped column
    np.testing.assert_array_equal(predict(shuffled(rows, DROPPED)), predict(rows))
    # the dropped columns may even be absent
    np.testing.assert_array_equal(predict(rows.drop(columns=DROPPED)), predict(rows))


def test_the_same_shuffle_moves_predictions_when_the_columns_are_kept(tmp_path: Path) -> None:
    predict, preprocessor, rows = trained_predictor(tmp_path, [])

    assert set(preprocessor.engineered_inputs()) == {"tenure_band", "avg_monthly_spend",
                                                      "contract_risk"}
    moved = np.abs(predict(shuffled(rows, DROPPED)) - predict(rows))
    assert moved.max() > 0.1
