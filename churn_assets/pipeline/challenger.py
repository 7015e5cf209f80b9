"""One look at the challenger's trial, as ``challenger_trial`` takes it: the snapshot rows
neither model saw (``trial_rows``), and the accumulated evidence logged to the active MLflow
run (``log_trial_evidence``); ``registry.challenger_trial`` judges."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import DatasetConfig, PromotionConfig
from churn_assets.model.evaluation_plots import markdown_with_images
from churn_assets.monitoring.drift import DRIFT_SAMPLE_ROWS
from churn_assets.monitoring.snapshot_performance import unseen_rows
from churn_assets.names import REFERENCE_ARTIFACT
from churn_assets.registry.challenger_trial import TrialOutcome, load_source_ids
from churn_assets.registry.model_registry import load_version_reference
from churn_assets.registry.promotion_metrics import promotion_metric
from churn_assets.registry.trial_plot import evidence_plot, evidence_table

# mlflow is imported where it is used: the definitions import this module, and loading
# them (code server, sensor, `dg check defs`) talks to no tracking server.


def unseen_by_both(client, name: str, versions: tuple[str, str], rows: pd.DataFrame,
                    id_column: str, split) -> np.ndarray:
    """Rows of neither model's own data (train, valid or test: the candidate's test rows put
    it on trial, and reusing them would count that luck twice); for a version without the
    record, rows it never trained on (as monitoring decides for the champion)."""
    ids = rows[id_column]
    mask = np.ones(len(rows), dtype=bool)
    for version in versions:
        source = load_source_ids(client, name, version)
        if source is not None:
            mask &= ~ids.astype(str).isin(source).to_numpy()
            continue
        reference = load_version_reference(client, name, version, REFERENCE_ARTIFACT).rows
        mask &= unseen_rows(ids, assign_splits(ids, split), reference[id_column],
                            reference_complete=len(reference) < DRIFT_SAMPLE_ROWS)
    return mask


def trial_rows(client, data: DatasetConfig, versions: tuple[str, str], snapshot: pd.DataFrame
               ) -> tuple[pd.DataFrame, np.ndarray]:
    """The labeled snapshot rows unseen by both models (``unseen_by_both``) and their 0/1
    labels."""
    unseen = unseen_by_both(client, data.model_name, versions, snapshot, data.id_column,
                            data.split)
    rows = snapshot[unseen]
    return rows, binary_target(rows[data.target], data.positive_label).to_numpy()


def log_trial_evidence(outcome: TrialOutcome, settings: PromotionConfig
                       ) -> tuple[pd.DataFrame, str]:
    """Every look's gain and interval as metric steps, the evidence picture and the looks
    table, into the active MLflow run; returns the table and the picture as markdown."""
    import mlflow

    table = evidence_table(outcome.looks, outcome.path(settings))
    label = promotion_metric(settings.metric).label
    with tempfile.TemporaryDirectory() as tmp:
        picture = evidence_plot(table, settings.min_delta, label, Path(tmp) / "evidence.png")
        for number, row in table.iterrows():
            mlflow.log_metrics({"challenger_gain": row["gain"],
                                "challenger_accumulated_gain": row["accumulated_gain"],
                                "challenger_delta_low": max(row["low"], -1.0),
                                "challenger_delta_high": min(row["high"], 1.0)},
                               step=int(number) + 1)
        mlflow.log_artifact(str(picture), artifact_path="challenger_trial")
        mlflow.log_text(table.to_csv(index=False), "challenger_trial/looks.csv")
        return table, markdown_with_images({"accumulated_evidence": picture})
