"""[monitoring] Is the champion still good on the newest snapshot, and must it be retrained?

`feature_drift` measures feature drift against the champion's training rows and the
champion's performance on the snapshot rows it never trained on (realized with labels,
estimated without), then applies the retraining policy to that and to the history of earlier
snapshots, which it reads back from its own earlier materializations. `monitoring_history`
is that history as a table a notebook can read.
"""

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from pydantic import Field

from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import DatasetConfig, DriftConfig
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.retries import SERVICE_RETRIES
from churn_assets.defs.settings import (
    OWNERS,
    as_metadata,
    effective,
    launchpad_config,
    launchpad_fields,
)
from churn_assets.distributed.local_views import local_rows
from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.calibration import Calibrator
from churn_assets.monitoring.drift import DRIFT_SAMPLE_ROWS, DriftReport, detect_drift, sample_rows
from churn_assets.monitoring.drift_report import write_drift_report
from churn_assets.monitoring.history import SnapshotRecord, feature_statistics, records_to_frame
from churn_assets.monitoring.performance import DecayRule
from churn_assets.monitoring.retraining_policy import RetrainingPolicy, SnapshotFacts, decide
from churn_assets.monitoring.snapshot_performance import (
    ChampionFigures,
    SnapshotPerformance,
    snapshot_performance,
    unseen_rows,
)
from churn_assets.names import CALIBRATOR_ARTIFACT, PROBABILITY, REFERENCE_ARTIFACT
from churn_assets.registry.model_registry import ChampionReference, load_champion_reference

FEATURE_DRIFT = dg.AssetKey("feature_drift")
HISTORY_METADATA_KEY = "history_record"
HISTORY_LIMIT = 500  # the policy needs the latest streak and retraining, not all of the past
EVALUATION_SAMPLE_ROWS = 50_000  # bootstrap cost grows with rows; intervals stay honest
SCHEDULE_NAME_TAG = "dagster/schedule_name"
TAGS = {"stage": "monitoring"}


DriftThresholds = launchpad_config(
    "DriftThresholds", launchpad_fields(DriftConfig, "drift"),
    {"force_retrain": (bool, Field(False, description="Retrain after this snapshot whatever "
                                   "the policy says, cooldown included."))},
    doc="Empty fields take the dataset YAML's `drift` section (else the documented default).")


def read_history(instance: dg.DagsterInstance, limit: int | None = None) -> list[SnapshotRecord]:
    """The records of earlier feature_drift materializations, newest first."""
    records: list[SnapshotRecord] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(FEATURE_DRIFT, limit=100, cursor=cursor)
        for event in page.records:
            stored = event.asset_materialization.metadata.get(HISTORY_METADATA_KEY)
            if stored is not None:
                records.append(SnapshotRecord.from_dict(stored.value))
        if not page.has_more or (limit is not None and len(records) >= limit):
            return records[:limit]
        cursor = page.cursor


def _last_scheduled_retraining(instance: dg.DagsterInstance) -> datetime | None:
    """Retrainings the drift sensor asked for are in the history; the schedule's are not."""
    for event in instance.fetch_materializations(dg.AssetKey("champion_model"), limit=20).records:
        run = instance.get_run_by_id(event.run_id)
        if run is not None and SCHEDULE_NAME_TAG in run.tags:
            return datetime.fromtimestamp(event.timestamp, UTC)
    return None


def _snapshot_uri(instance: dg.DagsterInstance) -> str:
    event = instance.get_latest_materialization_event(dg.AssetKey("raw_customers"))
    stored = event.asset_materialization.metadata.get("source_uri") if event else None
    return str(stored.value) if stored is not None else "unknown"


def _champion_figures(client, name: str, version: str) -> ChampionFigures:
    run_id = client.get_model_version(name, version).run_id
    try:
        calibrator = Calibrator.from_dict(
            mlflow.artifacts.load_dict(f"runs:/{run_id}/{CALIBRATOR_ARTIFACT}"))
    except (MlflowException, OSError):  # a champion trained before calibrators were logged
        calibrator = None
    return ChampionFigures.from_run_metrics(client.get_run(run_id).data.metrics, calibrator)


def _measure(rows: pd.DataFrame, champion: ChampionReference, figures: ChampionFigures,
             data: DatasetConfig, knobs: DriftConfig,
             ) -> tuple[DriftReport, SnapshotPerformance, dict]:
    """Feature drift on seeded samples, and performance on the rows the champion never saw."""
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
             "compared_rows": {"reference": len(reference), "current": len(current)},
             "features": dg.MetadataValue.md(report.to_frame().to_markdown(
                 index=False, floatfmt=".4f"))}
    if report.prediction_drift:
        extra["prediction_drift_statistic"] = round(report.prediction_drift.statistic, 4)
        extra["prediction_drifted"] = report.prediction_drift.drifted
    with tempfile.TemporaryDirectory() as tmp:
        html = write_drift_report(reference, current, report, Path(tmp),
                                  reference_scores=reference_scores,
                                  current_scores=current_scores)
        mlflow.log_artifacts(str(html.parent), artifact_path="drift_report")
    return report, performance, extra


@dg.asset(group_name="monitoring", kinds={"scipy", "mlflow"}, owners=OWNERS, tags=TAGS,
          code_version="2", deps=["champion_model"], retry_policy=SERVICE_RETRIES)
def feature_drift(
    context: dg.AssetExecutionContext, config: DriftThresholds,
    validated_customers: Table, dataset: DatasetResource, mlflow_tracking: MlflowTracking,
    dask_cluster: DaskCluster,
) -> dg.MaterializeResult:
    """Feature drift against the champion's training rows, the champion's realized (labels)
    or estimated (CBPE, no labels) F1 / ROC-AUC / PR-AUC with intervals on rows it never
    trained on, and the retraining decision `drift_retraining_sensor` acts on. On the Dask
    data path all of it reads a seeded sample of the partitions (`sampled_rows`), as the
    pandas path samples a large table."""
    data = dataset.load()
    # force_retrain is a run-level order, not a dataset default: keep it out of the merge.
    knobs = effective(data.drift, config.model_copy(update={"force_retrain": None}), "drift")
    labeled, now = data.target in validated_customers.columns, datetime.now(UTC)
    current_rows, sampled = len(validated_customers), {}
    if dask_cluster.holds(validated_customers):
        # As many rows as the pandas path compares and evaluates at most.
        validated_customers = local_rows(validated_customers,
                                         max(DRIFT_SAMPLE_ROWS, EVALUATION_SAMPLE_ROWS))
        sampled = {"sampled_rows": len(validated_customers)}
    champion = load_champion_reference(mlflow_tracking.client(), data.model_name,
                                       REFERENCE_ARTIFACT)
    report, performance, figures, metadata = None, None, {}, {}
    if champion is not None:
        with mlflow_tracking.run(context, data.experiment_name) as run:
            champion_figures = _champion_figures(mlflow_tracking.client(), data.model_name,
                                                 champion.version)
            report, performance, metadata = _measure(validated_customers, champion,
                                                     champion_figures, data, knobs)
            figures = performance.report.figures() if performance.report else {}
            mlflow.log_metrics(figures | {"drifted_share": report.drifted_share,
                                          "drift_detected": float(report.drift_detected)})
        metadata["mlflow_report_run_id"] = run.info.run_id
        context.log.info(performance.summary)
    facts = SnapshotFacts(
        labeled, bool(report and report.drift_detected),
        report.drifted_share if report else 0.0, performance.decay if performance else None,
        performance.summary if performance else "", has_champion=champion is not None)
    history = read_history(context.instance, HISTORY_LIMIT)
    policy = RetrainingPolicy(knobs.consecutive_drifted, timedelta(hours=knobs.cooldown_hours),
                              knobs.retrain_on_decay)
    decision = decide(facts, [r.as_past_snapshot() for r in history],
                      _last_scheduled_retraining(context.instance), now, policy,
                      forced=config.force_retrain or knobs.retrain_policy == "always")
    context.log.info(f"retrain={decision.retrain} ({decision.rule}): {decision.reason}")
    record = SnapshotRecord(
        _snapshot_uri(context.instance), now, current_rows, labeled,
        facts.drifted_share, facts.drift_detected, decision.rule, decision.reason,
        decision.retrain, champion.version if champion else None, figures,
        feature_statistics(report) if report else {})
    return dg.MaterializeResult(metadata={
        "drift_detected": facts.drift_detected,
        "drifted_share": round(facts.drifted_share, 4),
        "retrain": decision.retrain,
        "retrain_rule": decision.rule,
        "retrain_reason": decision.reason,
        "train_on": decision.train_on or "none",
        "labeled": labeled,
        "drifted_in_a_row": decision.drifted_in_a_row,
        "cooldown_ends": decision.cooldown_ends.isoformat() if decision.cooldown_ends else "none",
        "performance": performance.summary if performance else "no champion to evaluate",
        "evaluated_rows": performance.evaluated_rows if performance else 0,
        **{key: round(float(value), 4) for key, value in figures.items()},
        "snapshot_uri": record.snapshot_key,
        "champion_version": record.champion_version or "none",
        "current_rows": current_rows,
        **sampled,
        **metadata,
        **as_metadata("drift", knobs),
        "drift.force_retrain": config.force_retrain,
        HISTORY_METADATA_KEY: dg.MetadataValue.json(record.to_dict()),
    })


@dg.asset(group_name="monitoring", kinds={"pandas"}, owners=OWNERS, tags=TAGS,
          code_version="1", deps=[feature_drift])
def monitoring_history(context: dg.AssetExecutionContext) -> dg.Output[pd.DataFrame]:
    """Every monitored snapshot, oldest first: drift share, realized/estimated metrics with
    intervals, the rule that fired and the decision (one column per figure; per-feature
    statistics as JSON). Read it with `pd.read_parquet` or `defs().load_asset_value`."""
    frame = records_to_frame(read_history(context.instance))
    shown = [c for c in ("time", "labeled", "drifted_share", "realized_f1", "estimated_f1",
                         "rule", "retrained") if c in frame]
    return dg.Output(frame, metadata={
        "dagster/row_count": len(frame),
        "retrainings": int(frame["retrained"].sum()) if len(frame) else 0,
        "latest": dg.MetadataValue.md(frame[shown].tail(10).to_markdown(
            index=False, floatfmt=".4f")),
    })
