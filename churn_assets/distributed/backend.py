"""``DaskTables``: the table backend of the Dask data path, the same methods as
``pipeline.tables.PandasTables`` with every table ``dask.dataframe`` partitions (the steps in
``distributed.tables``, ``distributed.steps`` and ``distributed.checks``). Steps that need rows
in one process read seeded local samples of them (``distributed.local_views``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd

from churn_assets.data.column_roles import ColumnRoles
from churn_assets.data.expectations import ExpectationOutcome
from churn_assets.dataset_config import DatasetConfig
from churn_assets.distributed import steps
from churn_assets.distributed.checks import validate_partitions
from churn_assets.distributed.local_views import LOCAL_ROWS, local_rows, local_split_rows
from churn_assets.distributed.tables import head_rows, prepare_partitions
from churn_assets.distributed.training_rows import sampled_training_rows
from churn_assets.model.contact_list import SCORE_PARAMS, served_decision
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.sections import TuningConfig
from churn_assets.names import PREDICTION, PROBABILITY, SPLIT, SPLITS
from churn_assets.pipeline.scoring import HISTOGRAM_BINS, ScoreFigures
from churn_assets.pipeline.training import TrainingRows


class DaskTables:
    """Every table ``dask.dataframe`` partitions; computes run on the cluster's client."""

    partitioned = True

    def head_rows(self, raw: dd.DataFrame) -> pd.DataFrame:
        """The first partitions' ``ROLE_SAMPLE_ROWS`` rows: a column's role (and the leakage
        check) is a schema decision that many rows settle."""
        return head_rows(raw)

    def prepare(self, raw: dd.DataFrame, config: DatasetConfig, roles: ColumnRoles) -> Any:
        return prepare_partitions(raw, config, roles)

    def run_expectations(self, frame: dd.DataFrame, config: DatasetConfig,
                         numeric: Sequence[str], categorical: Sequence[str],
                         require_target: bool) -> dict[str, list[ExpectationOutcome]]:
        """The same expectations as per-partition counts."""
        return validate_partitions(frame, config, numeric, categorical,
                                   require_target=require_target)

    def split(self, frame: dd.DataFrame, config: DatasetConfig
              ) -> tuple[dd.DataFrame, pd.DataFrame]:
        """Each row's split from its own id's hash, as on the pandas path."""
        splits = steps.split_partitions(frame, config)
        summary = steps.split_sizes(splits).reindex(list(SPLITS)).fillna(0).astype(
            {"rows": int}).reset_index()
        return splits, summary

    def fit_preprocessor(self, splits: dd.DataFrame, roles: ColumnRoles,
                         declared: Sequence[dict]) -> tuple[ChurnPreprocessor, int]:
        """Fitted on a seeded sample of at most ``FIT_SAMPLE_ROWS`` train rows."""
        preprocessor = steps.fit_preprocessor(splits, roles.numeric, roles.categorical,
                                              declared)
        # A seeded Bernoulli sample beyond FIT_SAMPLE_ROWS: about that many rows.
        train = int((splits[SPLIT] == "train").sum().compute())
        return preprocessor, min(train, steps.FIT_SAMPLE_ROWS)

    def features(self, splits: dd.DataFrame, preprocessor: ChurnPreprocessor,
                 id_column: str) -> dd.DataFrame:
        """Target encodings out of fold within each partition."""
        return steps.feature_partitions(splits, preprocessor, id_column)

    def training_rows(self, splits: dd.DataFrame, features: dd.DataFrame,
                      preprocessor_state: dict, id_column: str,
                      tuning: TuningConfig) -> TrainingRows:
        return sampled_training_rows(splits, features, preprocessor_state, id_column, tuning)

    def test_split(self, splits: dd.DataFrame, id_column: str, seed: int
                   ) -> tuple[pd.Series, pd.DataFrame]:
        """Every id, and a seeded local sample (``LOCAL_ROWS``) of the test rows."""
        test = local_split_rows(splits[splits[SPLIT] == "test"], LOCAL_ROWS, seed)
        return splits[id_column].compute(), test[test[SPLIT] == "test"]

    def local_rows(self, frame: dd.DataFrame, max_rows: int) -> tuple[pd.DataFrame, int]:
        """A seeded sample of at most about ``max_rows`` rows, and its size."""
        sample = local_rows(frame, max_rows)
        return sample, len(sample)

    def score(self, model: Any, rows: dd.DataFrame, model_location: Callable[[], str],
              data: DatasetConfig) -> tuple[dd.DataFrame, Any, str | None]:
        """Each partition scored on the workers, which load the model from its artifact
        location; economics' rank and contact need the whole list and are left out."""
        scores, figures = _score_partitions(rows, model_location(), data)
        note = None
        if served_decision(model) is not None and data.economics is not None:
            note = ("economics set: rank and contact are not computed on the Dask data path "
                    "(they rank the whole list at once)")
        return scores, figures, note


def _score_partitions(rows: Any, model_location: str, data: DatasetConfig
                      ) -> tuple[Any, ScoreFigures]:
    """Scores per partition, kept on the workers (spilled to their disks past their memory
    target) so that the figures and the stored dataset come from one scoring pass."""
    scores = steps.score_partitions(rows, model_location, data.id_column, data.target,
                                    SCORE_PARAMS).persist()
    count, flagged, total = dask.compute(scores.shape[0], scores[PREDICTION].sum(),
                                         scores[PROBABILITY].sum())
    counts = steps.score_histogram_counts(scores, HISTOGRAM_BINS)
    return scores, ScoreFigures(int(count), int(flagged), float(total) / max(int(count), 1),
                                counts)
