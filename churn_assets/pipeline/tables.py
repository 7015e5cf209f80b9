"""The table backend the assets call: what a step does to a whole table, with the table held
as one pandas DataFrame in this process (``PandasTables``, here) or as ``dask.dataframe``
partitions on a cluster (``distributed.backend.DaskTables``), behind the same methods. The
``dask_cluster`` resource hands an asset the backend its input lives in (``tables_for``);
the asset calls it without asking which one it got."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from churn_assets.data.column_roles import ColumnRoles
from churn_assets.data.expectations import ExpectationOutcome, run_expectations
from churn_assets.data.preparation import prepare_customers
from churn_assets.data.splits import assign_splits, binary_target, split_summary
from churn_assets.dataset_config import DatasetConfig
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.sections import TuningConfig
from churn_assets.names import LABEL, ROW_ID, SPLIT
from churn_assets.pipeline.training import TrainingRows


class PandasTables:
    """Every table one DataFrame in this process."""

    partitioned = False

    def head_rows(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The rows column roles (and the leakage check) are decided on: all of them."""
        return raw

    def prepare(self, raw: pd.DataFrame, config: DatasetConfig, roles: ColumnRoles) -> Any:
        return prepare_customers(raw, config, roles)

    def run_expectations(self, frame: pd.DataFrame, config: DatasetConfig,
                         numeric: Sequence[str], categorical: Sequence[str],
                         require_target: bool) -> dict[str, list[ExpectationOutcome]]:
        return run_expectations(frame, config, numeric, categorical,
                                require_target=require_target)

    def split(self, frame: pd.DataFrame, config: DatasetConfig
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The rows plus ``split`` (by a hash of each id) and a 0/1 ``label``; the summary."""
        # Shallow: the new columns are added to this frame only, the rows' data is shared (a
        # deep copy of 10M rows held 1.7 GB more for nothing).
        frame = frame.copy(deep=False)
        frame[SPLIT] = assign_splits(frame[config.id_column], config.split)
        frame[LABEL] = binary_target(frame[config.target], config.positive_label)
        return frame, split_summary(frame[SPLIT], frame[LABEL])

    def fit_preprocessor(self, splits: pd.DataFrame, roles: ColumnRoles,
                         declared: Sequence[dict]) -> tuple[ChurnPreprocessor, int]:
        """Fitted on the train split only; and how many rows it was fitted on."""
        train = splits[splits[SPLIT] == "train"]
        preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical,
                                         engineered=tuple(declared)).fit(train, train[LABEL])
        return preprocessor, len(train)

    def features(self, splits: pd.DataFrame, preprocessor: ChurnPreprocessor,
                 id_column: str) -> pd.DataFrame:
        """The model matrix of every split; train rows' target encodings out of fold."""
        # The preprocessor reads only its own columns: no copy of the rows without split/label.
        table = preprocessor.transform(splits)
        if preprocessor.encodings_:
            train = splits[splits[SPLIT] == "train"]
            encoded = preprocessor.out_of_fold_encodings(train, train[LABEL])
            table.loc[encoded.index, encoded.columns] = encoded
        # Inserted, not concatenated: the float32 matrix is not copied again.
        for position, (name, values) in enumerate((
                (ROW_ID, splits[id_column].astype(str)), (SPLIT, splits[SPLIT]),
                (LABEL, splits[LABEL]))):
            table.insert(position, name, values)
        return table

    def training_rows(self, splits: pd.DataFrame, features: pd.DataFrame,
                      preprocessor_state: dict, id_column: str,
                      tuning: TuningConfig) -> TrainingRows:
        return TrainingRows(splits, features)

    def test_split(self, splits: pd.DataFrame, id_column: str, seed: int
                   ) -> tuple[pd.Series, pd.DataFrame]:
        """Every id of the table, and its test rows."""
        return splits[id_column], splits[splits[SPLIT] == "test"]

    def local_rows(self, frame: pd.DataFrame, max_rows: int) -> tuple[pd.DataFrame, None]:
        """The table as it is (None: not sampled)."""
        return frame, None

    def score(self, model: Any, rows: pd.DataFrame, model_location: Callable[[], str],
              data: DatasetConfig) -> tuple[pd.DataFrame, Any, str | None]:
        """``pipeline.scoring``'s scores and figures; no note."""
        from churn_assets.pipeline.scoring import score_rows

        return (*score_rows(model, rows, data), None)
