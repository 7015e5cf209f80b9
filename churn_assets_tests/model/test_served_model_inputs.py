"""What a user of the logged model sees when rows lack columns: one short line, or a result."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import optuna
import pandas as pd
import pytest

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import (
    DEFAULT_CONFIG_PATH,
    DatasetConfig,
    load_dataset_config,
)
from churn_assets.generator import generate_customers
from churn_assets.model.candidate import train_candidate
from churn_assets.model.model_logging import log_candidate
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.sections import TuningConfig
from churn_assets.model.tuning import open_study
from churn_assets.names import LABEL, ROW_ID, SPLIT
from churn_assets_tests.helpers.workspace import seed_mlflow_store

CONFIG = DatasetConfig(
    source="x.csv", target="Churn", positive_label="Yes", id_column="customerID",
    model_name="churn-inputs", tuning=TuningConfig(n_trials=2, max_estimators=30,
                                                   early_stopping_rounds=5, n_jobs=1,
                                                   timeout_seconds=None))


@pytest.fixture(scope="module")
def raw_rows() -> pd.DataFrame:
    """Source rows with extra columns the model does not use (a constant and a counter)."""
    customers = generate_customers(400, seed=21)
    return customers.assign(batch="2024-05", row_number=range(len(customers)))


@pytest.fixture(scope="module")
def served(raw_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A candidate trained and logged to a temporary MLflow store, loaded back as pyfunc."""
    root = tmp_path_factory.mktemp("mlflow")
    previous = mlflow.get_tracking_uri()
    seed_mlflow_store(root / "mlflow.db", root)
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    try:
        split = assign_splits(raw_rows["customerID"], CONFIG.split)
        roles = infer_column_roles(raw_rows, CONFIG)
        assert {"batch", "row_number"} <= set(roles.dropped)  # extra, unused columns
        prep = ChurnPreprocessor(roles.numeric, roles.categorical).fit(raw_rows[split == "train"])
        meta = pd.DataFrame({ROW_ID: raw_rows["customerID"], SPLIT: split,
                             LABEL: binary_target(raw_rows["Churn"], CONFIG.positive_label)})
        features = pd.concat([meta, prep.transform(raw_rows)], axis=1)
        candidate = train_candidate(features, CONFIG.tuning, lambda family: open_study(
            optuna.storages.InMemoryStorage(), "inputs", CONFIG.tuning.seed))
        experiment = mlflow.create_experiment("inputs", artifact_location=(root / "a").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = log_candidate(candidate, prep.state(), raw_rows.drop(columns="Churn"))
        yield mlflow.pyfunc.load_model(info.model_uri)
    finally:
        mlflow.set_tracking_uri(previous)


def test_rows_without_unused_extra_columns_are_accepted(served, raw_rows) -> None:
    rows = raw_rows.drop(columns="Churn").head(20)
    full = served.predict(rows)
    lean = served.predict(rows.drop(columns=["batch", "row_number", "customerID"]))
    pd.testing.assert_frame_equal(full, lean)
    assert list(full.columns) == ["churn_probability", "churn_prediction"]


@pytest.mark.parametrize("missing", [["tenure"], ["tenure", "Contract"], ["TotalCharges"]])
def test_missing_required_columns_are_named_in_one_short_line(served, raw_rows, missing) -> None:
    rows = raw_rows.drop(columns=["Churn", *missing]).head(5)
    with pytest.raises(Exception) as raised:  # noqa: PT011 (the message is what matters)
        served.predict(rows)
    message = str(raised.value)
    assert message == f"missing required column(s): {', '.join(missing)}"
    assert isinstance(raised.value, ValueError)


def test_many_missing_columns_stay_one_line(served, raw_rows) -> None:
    rows = raw_rows[["customerID"]].head(3)
    with pytest.raises(ValueError, match=r"^missing required column\(s\): ") as raised:
        served.predict(rows)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 200
    assert message.endswith("more")


def test_preprocessor_requires_only_kept_feature_columns() -> None:
    frame = generate_customers(60, seed=1)
    telco = load_dataset_config(DEFAULT_CONFIG_PATH).engineered_declarations()
    prep = ChurnPreprocessor(("MonthlyCharges",), ("gender",), engineered=telco).fit(frame)
    # every engineered feature reads a column that is not kept, so none is computed
    assert prep.required_columns() == ["MonthlyCharges", "gender"]
    assert prep.transform(frame.drop(columns=["Contract", "tenure"])).shape[0] == len(frame)
    with pytest.raises(KeyError, match="missing required column"):
        prep.transform(frame.drop(columns=["gender"]))
