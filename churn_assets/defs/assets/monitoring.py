"""[monitoring] Is the champion still good on the newest snapshot, and must it be retrained?

`feature_drift` measures feature drift against the champion's training rows and the
champion's performance on the snapshot rows it never trained on (realized with labels,
estimated without), then applies the retraining policy to that and to the history of earlier
snapshots, which it reads back from its own earlier materializations and from the prediction
log's windows (`online_performance`, defs/history.py). `monitoring_history`
is that history as a table a notebook can read.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from churn_assets.dataset_config import DriftConfig
from churn_assets.defs.history import (
    HISTORY_LIMIT,
    HISTORY_METADATA_KEY,
    last_scheduled_retraining,
    read_history,
)
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.settings import (
    OWNERS,
    as_metadata,
    effective,
    launchpad_config,
    launchpad_fields,
)
from churn_assets.monitoring.history import SnapshotRecord, records_to_frame
from churn_assets.monitoring.retraining_policy import RetrainDecision, SnapshotFacts
from churn_assets.monitoring.snapshot_performance import champion_figures
from churn_assets.names import REFERENCE_ARTIFACT
from churn_assets.pipeline.monitoring import (
    LOCAL_SNAPSHOT_ROWS,
    SnapshotMeasurement,
    decide_on_snapshot,
    measure_snapshot,
    snapshot_record,
)
from churn_assets.registry.model_registry import load_champion_reference

TAGS = {"stage": "monitoring"}


DriftThresholds = launchpad_config(
    "DriftThresholds", launchpad_fields(DriftConfig, "drift"),
    {"force_retrain": (bool, Field(False, description="Retrain after this snapshot whatever "
                                   "the policy says, cooldown included."))},
    doc="Empty fields take the dataset YAML's `drift` section (else the documented default).")


def _snapshot_uri(instance: dg.DagsterInstance) -> str:
    event = instance.get_latest_materialization_event(dg.AssetKey("raw_customers"))
    stored = event.asset_materialization.metadata.get("source_uri") if event else None
    return str(stored.value) if stored is not None else "unknown"


def feature_drift_asset(retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    """``feature_drift`` with the deployment's service retries (it talks to MLflow)."""
    return dg.asset(
        group_name="monitoring", kinds={"scipy", "mlflow"}, owners=OWNERS, tags=TAGS,
        code_version="2", deps=["champion_model"], retry_policy=retries,
    )(feature_drift)


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
    current_rows = len(validated_customers)
    rows, sampled = dask_cluster.tables_for(validated_customers).local_rows(
        validated_customers, LOCAL_SNAPSHOT_ROWS)
    client = mlflow_tracking.client()
    champion = load_champion_reference(client, data.model_name, REFERENCE_ARTIFACT)
    measured, run_id = SnapshotMeasurement(), None
    if champion is not None:
        with mlflow_tracking.run(context, data.experiment_name) as run:
            figures = champion_figures(client, data.model_name, champion.version)
            measured = measure_snapshot(rows, champion, figures, data, knobs)
        run_id = run.info.run_id
        context.log.info(measured.performance.summary)
    facts = measured.facts(labeled, champion is not None)
    decision = decide_on_snapshot(facts, read_history(context.instance, HISTORY_LIMIT),
                                  last_scheduled_retraining(context.instance), now, knobs,
                                  config.force_retrain)
    context.log.info(f"retrain={decision.retrain} ({decision.rule}): {decision.reason}")
    record = snapshot_record(_snapshot_uri(context.instance), now, current_rows, labeled, facts,
                             measured, decision, champion.version if champion else None)
    return dg.MaterializeResult(metadata=_metadata(
        facts, measured, decision, record, knobs, config.force_retrain, sampled, run_id))


def _metadata(facts: SnapshotFacts, measured: SnapshotMeasurement, decision: RetrainDecision,
              record: SnapshotRecord, knobs: DriftConfig, force_retrain: bool,
              sampled_rows: int | None, run_id: str | None) -> dict:
    performance = measured.performance
    metadata = {
        "drift_detected": facts.drift_detected,
        "drifted_share": round(facts.drifted_share, 4),
        "retrain": decision.retrain,
        "retrain_rule": decision.rule,
        "retrain_reason": decision.reason,
        "train_on": decision.train_on or "none",
        "labeled": record.labeled,
        "drifted_in_a_row": decision.drifted_in_a_row,
        "cooldown_ends": decision.cooldown_ends.isoformat() if decision.cooldown_ends else "none",
        "performance": performance.summary if performance else "no champion to evaluate",
        "evaluated_rows": performance.evaluated_rows if performance else 0,
        **{key: round(float(value), 4) for key, value in measured.figures.items()},
        "snapshot_uri": record.snapshot_key,
        "champion_version": record.champion_version or "none",
        "current_rows": record.rows,
        **({"sampled_rows": sampled_rows} if sampled_rows is not None else {}),
        **measured.extra,
    }
    if measured.features_markdown() is not None:
        metadata["features"] = dg.MetadataValue.md(measured.features_markdown())
    if run_id is not None:
        metadata["mlflow_report_run_id"] = run_id
    return metadata | {**as_metadata("drift", knobs), "drift.force_retrain": force_retrain,
                       HISTORY_METADATA_KEY: dg.MetadataValue.json(record.to_dict())}


@dg.asset(group_name="monitoring", kinds={"pandas"}, owners=OWNERS, tags=TAGS,
          code_version="1", deps=["feature_drift"])
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
