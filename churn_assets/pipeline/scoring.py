"""The champion's scores for a whole snapshot, as ``churn_scores`` makes them: one row per
customer (id, probability, prediction, reasons; the contact list with economics) and the
figures a person checks them by. ``score_rows`` scores a pandas table here, batch by batch
(``distributed.backend.DaskTables.score``: each partition on the Dask workers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn_assets.dataset_config import DatasetConfig
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.contact_list import SCORE_PARAMS, contact_list, served_decision
from churn_assets.names import PREDICTION, PROBABILITY

HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class ScoreFigures:
    rows: int
    flagged: int  # at or above the decision threshold
    mean: float  # mean churn probability
    histogram: np.ndarray  # customers per probability band, HISTOGRAM_BINS bands over [0, 1]


def score_rows(model: Any, rows: pd.DataFrame, data: DatasetConfig
               ) -> tuple[pd.DataFrame, ScoreFigures]:
    # The target is dropped batch by batch: no copy of the whole snapshot without it.
    predictions = predict_in_batches(model, rows, params=SCORE_PARAMS, drop=(data.target,))
    scores = contact_list(rows[[data.id_column]], predictions, served_decision(model))
    return scores, ScoreFigures(
        len(scores), int(scores[PREDICTION].sum()), float(scores[PROBABILITY].mean()),
        np.histogram(scores[PROBABILITY].to_numpy(float), bins=HISTOGRAM_BINS,
                     range=(0.0, 1.0))[0])
