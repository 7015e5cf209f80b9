"""For the benchmarks and the tests only: the training data path on partitions, step by step
with Parquet datasets between steps:
read -> typed raw rows -> column roles -> prepared (validated) rows -> checks -> splits ->
preprocessor -> features. The assets run the same steps one per asset; this runs them in one
go for the bench and the tests, timing each step."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import dask.dataframe as dd
import pandas as pd

from churn_assets.data.column_roles import ColumnRoles, infer_column_roles
from churn_assets.data.expectations import ExpectationOutcome
from churn_assets.dataset_config import DatasetConfig, DriftConfig
from churn_assets.distributed.checks import validate_partitions
from churn_assets.distributed.local_views import BLOCKSIZE, sample_partitions
from churn_assets.distributed.steps import (
    feature_partitions,
    fit_preprocessor,
    split_partitions,
)
from churn_assets.distributed.tables import (
    head_rows,
    object_strings,
    prepare_partitions,
    read_partitions,
    type_and_count_partitions,
)
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.monitoring.drift import DRIFT_SAMPLE_ROWS, DriftReport, detect_drift


@dataclass
class DataPath:
    raw: dd.DataFrame
    roles: ColumnRoles
    validated: dd.DataFrame
    notes: tuple[str, ...]
    outcomes: dict[str, list[ExpectationOutcome]]
    splits: dd.DataFrame | None = None
    preprocessor: ChurnPreprocessor | None = None
    features: dd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, found in self.outcomes.items()
                if any(not o.success for o in found)]


def dataset_uri(root: str, asset: str) -> str:
    return f"{root.rstrip('/')}/{asset}"


def run_data_path(uri: str, config: DatasetConfig, root: str, *,
                  options: dict[str, Any] | None = None, blocksize: str | int = BLOCKSIZE,
                  around: Callable[[str], AbstractContextManager] | None = None) -> DataPath:
    """Every step up to the feature table; stops after the checks when one fails (the
    blocking checks of the asset graph), with the outcomes saying why. ``around(step)``
    wraps each step (the bench records the cluster's task stream with it)."""
    seconds: dict[str, float] = {}

    def timed(step: str, work: Callable[[], Any]) -> Any:
        with around(step) if around else nullcontext():
            start = time.perf_counter()
            result = work()
            seconds[step] = time.perf_counter() - start
        return result

    def stored(frame: dd.DataFrame, asset: str) -> dd.DataFrame:
        return store_partitions(frame, dataset_uri(root, asset), options)

    def read_and_type() -> tuple[dd.DataFrame, list[str]]:
        typed, notes = type_partitions(read_partitions(uri, blocksize=blocksize,
                                                       options=options),
                                       text_columns=(config.id_column,))
        return stored(typed, "raw_customers"), notes

    raw, type_notes = timed("read_and_type", read_and_type)
    roles = timed("column_roles", lambda: infer_column_roles(head_rows(raw), config))
    prepared = timed("prepare", lambda: prepare_partitions(raw, config, roles))
    validated = timed("store_validated", lambda: stored(prepared.frame, "validated_customers"))
    outcomes = timed("validate", lambda: validate_partitions(validated, config, roles.numeric,
                                                             roles.categorical))
    path = DataPath(raw, roles, validated, (*type_notes, *prepared.notes), outcomes,
                    seconds=seconds)
    if path.failed_checks:
        return path
    path.splits = timed("split", lambda: stored(split_partitions(validated, config),
                                                "customer_splits"))
    path.preprocessor = timed("fit_preprocessor", lambda: fit_preprocessor(
        path.splits, roles.numeric, roles.categorical, config.engineered_declarations()))
    path.features = timed("features", lambda: stored(feature_partitions(
        path.splits, path.preprocessor, config.id_column), "customer_features"))
    return path


def drift_on_partitions(reference: pd.DataFrame, current: dd.DataFrame, numeric: Sequence[str],
                        categorical: Sequence[str], cfg: DriftConfig,
                        max_rows: int = DRIFT_SAMPLE_ROWS, seed: int = 0) -> DriftReport:
    """``detect_drift`` of a seeded sample of the partitions (every row up to ``max_rows``)
    against the reference rows, the same tests and thresholds as the pandas path."""
    sample = sample_partitions(current[[*numeric, *categorical]], max_rows, seed)
    return detect_drift(reference, sample, numeric, categorical, cfg)


def type_partitions(frame: dd.DataFrame, text_columns: Iterable[str] = ()
                    ) -> tuple[dd.DataFrame, list[str]]:
    """``type_and_count_partitions`` without the count."""
    typed, notes, _ = type_and_count_partitions(frame, text_columns)
    return typed, notes


def store_partitions(frame: dd.DataFrame, uri: str,
                     options: dict[str, Any] | None = None) -> dd.DataFrame:
    """Write the partitions as a Parquet dataset (a folder or s3:// prefix, replaced whole)
    and read it back lazily, so the next step starts from storage, not from this graph."""
    frame.to_parquet(uri, write_index=False, overwrite=True, storage_options=options)
    with object_strings():
        return dd.read_parquet(uri, storage_options=options)
