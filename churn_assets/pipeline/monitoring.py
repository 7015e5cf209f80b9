"""One monitored snapshot, as ``feature_drift`` runs it: drift against the champion's
training rows and its performance on rows it never trained on (``measure_snapshot``), then
the retraining decision over the history (``decide_on_snapshot``) and the record the history
keeps of it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import DatasetConfig, DriftConfig
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.monitoring.drift import DRIFT_SAMPLE_ROWS, DriftReport, detect_drift, sample_rows
from churn_assets.monitoring.drift_report import write_drift_report
from churn_assets.monitoring.history import SnapshotRecord, feature_statistics
from churn_assets.monitoring.performance import DecayRule
from churn_assets.monitoring.retraining_policy import (
    PastSnapshot,
    RetrainDecision,
    RetrainingPolicy,
    SnapshotFacts,
    decide,
)
from churn_assets.monitoring.snapshot_performance import (
    ChampionFigures,
    SnapshotPerformance,
    snapshot_performance,
    unseen_rows,
)
from churn_assets.names import PROBABILITY
from churn_assets.registry.model_registry import ChampionReference

# mlflow is imported where it is used: the definitions import this module, and loading
# them (code server, sensor, `dg check defs`) talks to no tracking server.

EVALUATION_SAMPLE_ROWS = 50_000  # bootstrap cost grows with rows; intervals stay honest
# Rows a partitioned snapshot is sampled down to: as many as the pandas path compares and
# evaluates at most.
LOCAL_SNAPSHOT_ROWS = max(DRIFT_SAMPLE_ROWS, EVALUATION_SAMPLE_ROWS)


@dataclass(frozen=True)
class SnapshotMeasurement:
    """What was measured (nothing without a champion): drift, performance, their figures
    and the counts a person checks them by."""

    report: DriftReport | None = None
    performance: SnapshotPerformance | None = None
    figures: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def facts(self, labeled: bool, has_champion: bool) -> SnapshotFacts:
        report, performance = self.report, self.performance
        return SnapshotFacts(
            labeled, bool(report and report.drift_detected),
            report.drifted_share if report else 0.0, performance.decay if performance else None,
            performance.summary if performance else "", has_champion=has_champion)

    def features_markdown(self) -> str | None:
        return self.report.to_frame().to_markdown(index=False, floatfmt=".4f") \
            if self.report else None


def decide_on_snapshot(facts: SnapshotFacts, history: list[SnapshotRecord],
                       last_scheduled: datetime | None, now: datetime, knobs: DriftConfig,
                       force_retrain: bool) -> RetrainDecision:
    """The retraining policy (``monitoring.retraining_policy``) with the YAML's knobs."""
    policy = RetrainingPolicy(knobs.consecutive_drifted, timedelta(hours=knobs.cooldown_hours),
                              knobs.retrain_on_decay)
    past: list[PastSnapshot] = [r.as_past_snapshot() for r in history]
    return decide(facts, past, last_scheduled, now, policy,
                  forced=force_retrain or knobs.retrain_policy == "always")


def snapshot_record(snapshot_uri: str, now: datetime, rows: int, labeled: bool,
                    facts: SnapshotFacts, measured: SnapshotMeasurement,
                    decision: RetrainDecision, champion_version: str | None) -> SnapshotRecord:
    return SnapshotRecord(
        snapshot_uri, now, rows, labeled, facts.drifted_share, facts.drift_detected,
        decision.rule, decision.reason, decision.retrain, champion_version, measured.figures,
        feature_statistics(measured.report) if measured.report else {})


def measure_snapshot(rows: pd.DataFrame, champion: ChampionReference, figures: ChampionFigures,
                     data: DatasetConfig, knobs: DriftConfig) -> SnapshotMeasurement:
    """Feature drift on seeded samples, and performance on the rows the champion never saw,
    inside the active MLflow run: the drift report (HTML) and the figures are logged to it."""
    import mlflow

    model = mlflow.pyfunc.load_model(champion.model_uri)
    preprocessor = model.unwrap_python_model().preprocessor  # the columns the champion reads

    def scores(frame: pd.DataFrame):
        features_only = frame.drop(columns=[data.target], errors="ignore")
        return predict_in_batches(model, features_only)[PROBABILITY]

    reference, current = sample_rows(champion.rows), sample_rows(rows)
    reference_scores, current_scores = scores(reference).to_numpy(), scores(current).to_numpy()
    report = detect_drift(reference, current, preprocessor.numeric, preprocessor.categorical,
                          knobs, reference_scores, current_scores)
    ids = rows[data.id_column]
    unseen = unseen_rows(ids, assign_splits(ids, data.split), champion.rows[data.id_column],
                         reference_complete=len(champion.rows) < DRIFT_SAMPLE_ROWS)
    evaluated = sample_rows(rows[unseen], EVALUATION_SAMPLE_ROWS)
    rule = DecayRule(margin=knobs.decay_margin, resamples=knobs.bootstrap_resamples)
    performance = snapshot_performance(evaluated, data.target, data.positive_label,
                                       scores(evaluated).to_numpy(), figures, rule)
    extra = {"reference_rows": len(champion.rows), "unseen_rows": int(unseen.sum()),
             "compared_rows": {"reference": len(reference), "current": len(current)}}
    if report.prediction_drift:
        extra["prediction_drift_statistic"] = round(report.prediction_drift.statistic, 4)
        extra["prediction_drifted"] = report.prediction_drift.drifted
    with tempfile.TemporaryDirectory() as tmp:
        html = write_drift_report(reference, current, report, Path(tmp),
                                  reference_scores=reference_scores,
                                  current_scores=current_scores)
        mlflow.log_artifacts(str(html.parent), artifact_path="drift_report")
    figures = performance.report.figures() if performance.report else {}
    mlflow.log_metrics(figures | {"drifted_share": report.drifted_share,
                                  "drift_detected": float(report.drift_detected)})
    return SnapshotMeasurement(report, performance, figures, extra)
