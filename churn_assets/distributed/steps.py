"""Splits, features and scores over partitions.

Each is the pandas path's pure function applied per partition: ``assign_splits`` hashes
each id on its own, so a row gets the same split on either path; the preprocessor is fitted
on the train rows (a seeded sample of them beyond ``FIT_SAMPLE_ROWS``) and transforms each
partition; the champion scores each partition. (The final fit on the feature partitions is
``model.dask_tuning.fit_final_on_cluster``.)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import DatasetConfig
from churn_assets.distributed.local_views import sample_partitions
from churn_assets.distributed.tables import object_strings
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.contact_list import contact_list
from churn_assets.names import LABEL, PROBABILITY, ROW_ID, SPLIT

# The preprocessor (a scikit-learn estimator) is imported by the steps that build one: a
# worker running a typing, split or scoring partition never loads scikit-learn for it.
if TYPE_CHECKING:
    from churn_assets.model.preprocessing import ChurnPreprocessor

FIT_SAMPLE_ROWS = 250_000  # train rows the preprocessor is fitted on (levels, encodings)


def _split_part(part: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    frame = part.copy()
    frame[SPLIT] = assign_splits(frame[config.id_column], config.split)
    frame[LABEL] = binary_target(frame[config.target], config.positive_label)
    return frame


def split_partitions(frame: dd.DataFrame, config: DatasetConfig) -> dd.DataFrame:
    """Validated rows plus ``split`` and ``label``, as ``customer_splits`` adds them."""
    meta = frame._meta.assign(**{SPLIT: pd.Series(dtype=object),
                                 LABEL: pd.Series(dtype="int8")})
    with object_strings():
        return frame.map_partitions(_split_part, config, meta=meta)


def split_sizes(splits: dd.DataFrame) -> pd.DataFrame:
    """Rows and churn rate per split (``split_summary``'s table, from partition counts)."""
    summary = splits.groupby(SPLIT)[LABEL].agg(["count", "mean"]).compute()
    return summary.rename(columns={"count": "rows", "mean": "churn_rate"})


def fit_preprocessor(splits: dd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
                     engineered: Sequence[dict] = (),
                     max_rows: int = FIT_SAMPLE_ROWS) -> ChurnPreprocessor:
    """The preprocessor fitted on train rows only, as ``feature_preprocessor`` fits it (on
    the columns its fit reads: the categoricals' levels and encodings, and the label)."""
    from churn_assets.model.preprocessing import ChurnPreprocessor

    train = splits[splits[SPLIT] == "train"][[*categorical, LABEL]]
    train = sample_partitions(train, max_rows)
    return ChurnPreprocessor(tuple(numeric), tuple(categorical),
                             engineered=tuple(engineered)).fit(train, train[LABEL])


def feature_rows(part: pd.DataFrame, state: dict, id_column: str) -> pd.DataFrame:
    """One partition's (or a local sample's) feature rows. Target-encoded columns of its
    train rows are out-of-fold encodings within these rows, as ``customer_features`` makes
    them within the whole train split: no row sees its own label."""
    from churn_assets.model.preprocessing import ChurnPreprocessor

    preprocessor = ChurnPreprocessor.from_state(state)
    matrix = preprocessor.transform(part.drop(columns=[SPLIT, LABEL]))
    train = part[part[SPLIT] == "train"]
    if preprocessor.encodings_ and len(train):
        encoded = preprocessor.out_of_fold_encodings(train, train[LABEL])
        matrix.loc[encoded.index, encoded.columns] = encoded
    meta = pd.DataFrame({ROW_ID: part[id_column].astype(str), SPLIT: part[SPLIT],
                         LABEL: part[LABEL]})
    return pd.concat([meta, matrix], axis=1)


def feature_partitions(splits: dd.DataFrame, preprocessor: ChurnPreprocessor,
                       id_column: str) -> dd.DataFrame:
    """The model matrix with ``row_id``, ``split``, ``label``, as ``customer_features``."""
    state = preprocessor.state()
    meta = feature_rows(splits._meta, state, id_column)
    with object_strings():
        return splits.map_partitions(feature_rows, state, id_column, meta=meta)


@functools.lru_cache(maxsize=2)
def _loaded_model(model_uri: str) -> Any:
    """The served model, loaded once per worker process."""
    import mlflow

    return mlflow.pyfunc.load_model(model_uri)


def _score_part(part: pd.DataFrame, model_uri: str, id_column: str, target: str,
                params: dict | None) -> pd.DataFrame:
    model = _loaded_model(model_uri)
    rows = part.drop(columns=[target], errors="ignore")
    answers = predict_in_batches(model, rows, params=params)
    return contact_list(rows[[id_column]], answers, None)


def score_partitions(rows: dd.DataFrame, model_uri: str, id_column: str, target: str,
                     params: dict | None = None) -> dd.DataFrame:
    """One score row per customer, partition by partition: the id, ``churn_probability``,
    ``churn_prediction`` and the reasons. Each worker loads the model from ``model_uri``
    (``models:/name/version`` with ``MLFLOW_TRACKING_URI`` set on the workers, as for any
    MLflow client). Economics' ``rank``/``contact`` rank every row at once and are not
    computed here."""
    sample = rows.get_partition(0).head(2, compute=True)  # a real row types the output
    meta = _score_part(sample, model_uri, id_column, target, params).iloc[:0]
    with object_strings():
        return rows.map_partitions(_score_part, model_uri, id_column, target, params,
                                   meta=meta)


def score_histogram_counts(scores: dd.DataFrame, bins: int = 10) -> np.ndarray:
    """Customers per probability band, summed from each partition's histogram."""
    def counts(part: pd.DataFrame) -> pd.DataFrame:
        found, _ = np.histogram(part[PROBABILITY].to_numpy(float), bins=bins, range=(0.0, 1.0))
        return pd.DataFrame([found])

    per_part = scores.map_partitions(counts, meta=pd.DataFrame({i: pd.Series(dtype="int64")
                                                                for i in range(bins)}))
    return per_part.sum().compute().to_numpy()
