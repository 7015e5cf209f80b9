"""The Dask data path's rows for training: a seeded local sample of each split and its
features (made as the partitions' were), and the whole table's figures for the model card.
``DaskCluster.training_rows`` hands these to ``tuned_churn_model`` when the tables it reads
are partitions; on the pandas path the tables go as they are."""

from __future__ import annotations

from typing import Any

import pandas as pd

from churn_assets.distributed.local_views import LOCAL_ROWS, local_split_rows, partitions_digest
from churn_assets.model.sections import TuningConfig
from churn_assets.pipeline.training import TrainingRows


def sampled_training_rows(splits: Any, features: Any, preprocessor_state: dict, id_column: str,
                          tuning: TuningConfig) -> TrainingRows:
    card_data = _partitioned_card_data(splits, features)
    local_splits, local_features = _local_sample(splits, preprocessor_state, id_column,
                                                 tuning, card_data)
    return TrainingRows(local_splits, local_features, features, card_data, local_cap(tuning))


def local_cap(tuning: TuningConfig) -> int:
    """Rows per split held here on the Dask data path: what tuning and a local final fit
    read (valid and test figures then come from as many rows)."""
    if tuning.fit_rows is None:  # "fit on every train row": as many as a local view holds
        return max(LOCAL_ROWS, tuning.sample_rows or 0)
    return max(tuning.sample_rows or 0, tuning.fit_rows)


def _local_sample(splits, preprocessor_state: dict, id_column: str, tuning: TuningConfig,
                  card_data: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded samples of each split's rows and their features, made as the partitions'."""
    from churn_assets.distributed.steps import feature_rows

    sizes = {name: split["rows"] for name, split in card_data["splits"].items()}
    rows = local_split_rows(splits, local_cap(tuning), tuning.seed, sizes)
    return rows, feature_rows(rows, preprocessor_state, id_column)


def _partitioned_card_data(splits, features) -> dict:
    """The whole table's figures for the model card; the digest is the feature table's
    (one pass fewer than hashing the split rows too, and it names the same data)."""
    from churn_assets.distributed.steps import split_sizes

    sizes = split_sizes(splits)
    return {"data": {"rows": int(sizes["rows"].sum()), "sha256": partitions_digest(features)},
            "splits": {name: {"rows": int(row.rows), "churn_rate": float(row.churn_rate)}
                       for name, row in sizes.iterrows()}}
