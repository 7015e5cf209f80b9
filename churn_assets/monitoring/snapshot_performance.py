"""The champion's performance on one snapshot: realized with labels, estimated without.

Glue between the validated rows of a snapshot and ``performance`` / ``performance_estimation``:
which rows the champion never trained on, and which of the two evaluations applies. Plain
parameters only, so the Dagster asset just loads things and calls ``snapshot_performance``;
``champion_figures`` is the one reader of the registry, the champion's figures as logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from churn_assets.data.splits import binary_target
from churn_assets.model.calibration import Calibrator
from churn_assets.model.metric_registry import ESTIMATED_METRICS, MONITORED_METRICS
from churn_assets.monitoring.performance import (
    DecayRule,
    PerformanceReport,
    realized_performance,
    rows_unseen_by_champion,
    why_not_evaluable,
)
from churn_assets.monitoring.performance_estimation import estimated_performance
from churn_assets.names import CALIBRATOR_ARTIFACT


@dataclass(frozen=True)
class ChampionFigures:
    """What the registry knows about the champion: its decision threshold, its test figures
    at registration (``f1``, ``roc_auc``, ``pr_auc``) and its calibrator (None for a champion
    trained before calibrators were logged: no estimate without labels then)."""

    threshold: float
    reference: Mapping[str, float]
    calibrator: Calibrator | None = None

    @classmethod
    def from_run_metrics(cls, metrics: Mapping[str, float],
                         calibrator: Calibrator | None) -> ChampionFigures:
        if "decision_threshold" not in metrics:
            raise ValueError("the champion's run has no decision_threshold metric")
        reference = {m: float(metrics[f"test_{m}"]) for m in MONITORED_METRICS
                     if f"test_{m}" in metrics}
        return cls(float(metrics["decision_threshold"]), reference, calibrator)


def champion_figures(client, name: str, version: str) -> ChampionFigures:
    """The figures and calibrator logged with a registered version's run."""
    import mlflow
    from mlflow.exceptions import MlflowException

    run_id = client.get_model_version(name, version).run_id
    try:
        calibrator = Calibrator.from_dict(
            mlflow.artifacts.load_dict(f"runs:/{run_id}/{CALIBRATOR_ARTIFACT}"))
    except (MlflowException, OSError):  # a champion trained before calibrators were logged
        calibrator = None
    return ChampionFigures.from_run_metrics(client.get_run(run_id).data.metrics, calibrator)


@dataclass(frozen=True)
class SnapshotPerformance:
    """The report (None when no verdict is possible), why not, and how many rows it used."""

    report: PerformanceReport | None
    note: str
    evaluated_rows: int

    @property
    def decay(self) -> bool | None:
        return None if self.report is None else self.report.decayed

    @property
    def summary(self) -> str:
        return self.report.summary() if self.report is not None else self.note


def unseen_rows(ids: pd.Series, splits: pd.Series, reference_ids: Iterable[object],
                reference_complete: bool) -> np.ndarray:
    """Rows the champion never trained on. The reference artifact holds the champion's train
    rows only up to a sample size: when it holds all of them, an id absent from it is unseen
    (exact, new customers included); when it is a sample, absence proves nothing, so only the
    stable hash split decides (its valid and test rows are never trained on)."""
    if reference_complete:
        return rows_unseen_by_champion(ids, training_ids=reference_ids)
    return rows_unseen_by_champion(ids, splits=splits)


def snapshot_performance(
    rows: pd.DataFrame, target: str, positive_label: object, probabilities: ArrayLike,
    champion: ChampionFigures, rule: DecayRule,
) -> SnapshotPerformance:
    """Realized performance when ``rows`` carry ``target``, else the CBPE estimate.

    ``rows`` are the snapshot rows the champion never trained on (``unseen_rows``) and
    ``probabilities`` its scores for them, so a snapshot that repeats the champion's training
    customers is not scored on what the champion memorised."""
    p = np.asarray(probabilities, dtype=float)
    count = int(p.size)
    if count != len(rows):
        raise ValueError("one probability per row is needed")
    if target in rows:
        labels = binary_target(rows[target], positive_label).to_numpy()
        problem = why_not_evaluable(labels, rule)
        if problem:
            return SnapshotPerformance(None, f"realized performance not evaluated: {problem}",
                                       count)
        report = realized_performance(labels, p, champion.threshold, champion.reference, rule)
        return SnapshotPerformance(report, "", count)
    if champion.calibrator is None:
        return SnapshotPerformance(None, "no estimate: the champion has no calibrator "
                                   "(retrain it to log one)", count)
    if count < rule.min_rows:
        return SnapshotPerformance(None, f"no estimate: only {count} unseen rows (at least "
                                   f"{rule.min_rows} needed)", count)
    # CBPE estimates F1 and ROC-AUC only; PR-AUC cannot decide without labels.
    rule = replace(rule, deciding=tuple(m for m in rule.deciding if m in ESTIMATED_METRICS))
    report = estimated_performance(p, champion.threshold, champion.calibrator,
                                   champion.reference, rule)
    return SnapshotPerformance(report, "", count)
