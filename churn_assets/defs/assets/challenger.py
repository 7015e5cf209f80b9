"""[registry] The challenger on trial: judged beside the champion on every labeled snapshot."""

import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pandas as pd

from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import PromotionConfig
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.settings import OWNERS, effective, launchpad_config, launchpad_fields
from churn_assets.distributed.local_views import LOCAL_ROWS, local_rows
from churn_assets.model.evaluation_plots import markdown_with_images
from churn_assets.monitoring.drift import DRIFT_SAMPLE_ROWS
from churn_assets.monitoring.snapshot_performance import unseen_rows
from churn_assets.names import REFERENCE_ARTIFACT
from churn_assets.registry.challenger_trial import (
    judge_challenger,
    load_source_ids,
    trial_versions,
)
from churn_assets.registry.model_registry import load_version_reference
from churn_assets.registry.promotion_metrics import promotion_metric
from churn_assets.registry.trial_plot import evidence_plot, evidence_table

MIN_TRIAL_ROWS = 100  # fewer unseen rows make a standard error that means nothing


TrialSettings = launchpad_config(
    "TrialSettings",
    launchpad_fields(PromotionConfig, "promotion",
                     exclude=tuple(set(PromotionConfig.model_fields)
                                   - {"trial_alpha", "trial_max_snapshots"})),
    doc="Empty fields take the dataset YAML's `promotion` section (else its default).")


def _snapshot_uri(instance: dg.DagsterInstance) -> str:
    event = instance.get_latest_materialization_event(dg.AssetKey("raw_customers"))
    stored = event.asset_materialization.metadata.get("source_uri") if event else None
    return str(stored.value) if stored is not None else "unknown snapshot"


def _unseen_by_both(client, name: str, versions: tuple[str, str], rows: pd.DataFrame,
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


def _skipped(reason: str, **extra) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"challenger_decision": "none", "reason": reason,
                                          **extra})


@dg.asset(group_name="registry", kinds={"mlflow"}, owners=OWNERS, tags={"stage": "registry"},
          code_version="1", pool="churn_registry", deps=["feature_drift"])
def challenger_trial(
    context: dg.AssetExecutionContext, config: TrialSettings, validated_customers: Table,
    dataset: DatasetResource, mlflow_tracking: MlflowTracking, dask_cluster: DaskCluster,
) -> dg.MaterializeResult:
    """One look at the @challenger's trial on a labeled snapshot: both models scored on the
    rows of neither model's own data, the paired gain added to the evidence, and the trial decided
    (``registry.challenger_trial``): continue, promoted (lock, segment rule, fresh-process
    load check, audit tags) or retired. Runs after monitoring judged the serving champion."""
    data = dataset.load()
    settings = effective(data.promotion, config, "promotion")
    client = mlflow_tracking.client()
    if dask_cluster.holds(validated_customers):  # the Dask data path: a seeded sample
        validated_customers = local_rows(validated_customers, LOCAL_ROWS)
    if data.target not in validated_customers:
        return _skipped("unlabeled snapshot: a trial needs labels")
    pair = trial_versions(client, data.model_name)
    if pair is None:
        return _skipped("no challenger on trial")
    challenger, champion = pair
    unseen = _unseen_by_both(client, data.model_name, pair, validated_customers,
                             data.id_column, data.split)
    rows = validated_customers[unseen]
    labels = binary_target(rows[data.target], data.positive_label).to_numpy()
    if len(rows) < MIN_TRIAL_ROWS or np.unique(labels).size < 2:
        return _skipped(f"only {len(rows)} rows unseen by both models (at least "
                        f"{MIN_TRIAL_ROWS}, both classes); no look taken",
                        challenger_version=challenger)
    snapshot = _snapshot_uri(context.instance)
    outcome = judge_challenger(
        client, data.model_name, rows.drop(columns=[data.target]), labels, settings,
        expected=pair, tracking_uri=mlflow_tracking.resolved_uri(), snapshot=snapshot,
        requested_by=f"dagster run {context.run_id}", economics=data.campaign_economics())
    if outcome is None:
        return _skipped("the aliases moved while the rows were chosen; the next snapshot "
                        "judges the new pair", challenger_version=challenger)
    context.log.info(f"{data.model_name} v{challenger} vs @champion v{champion}: "
                     f"{outcome.verdict.reason}")
    evidence, label = outcome.verdict.evidence, promotion_metric(settings.metric).label
    table = evidence_table(outcome.looks, outcome.path(settings))
    with tempfile.TemporaryDirectory() as tmp, mlflow_tracking.run(context, data.experiment_name):
        picture = evidence_plot(table, settings.min_delta, label, Path(tmp) / "evidence.png")
        for number, row in table.iterrows():
            mlflow.log_metrics({"challenger_gain": row["gain"],
                                "challenger_accumulated_gain": row["accumulated_gain"],
                                "challenger_delta_low": max(row["low"], -1.0),
                                "challenger_delta_high": min(row["high"], 1.0)},
                               step=int(number) + 1)
        mlflow.log_artifact(str(picture), artifact_path="challenger_trial")
        mlflow.log_text(table.to_csv(index=False), "challenger_trial/looks.csv")
        embedded = markdown_with_images({"accumulated_evidence": picture})
    return dg.MaterializeResult(metadata={
        "challenger_version": challenger, "champion_version": champion,
        "champion_after": outcome.champion_after,
        "challenger_decision": outcome.decision, "reason": outcome.verdict.reason,
        "challenger_delta": evidence.text(),
        "challenger_delta_low": dg.MetadataValue.float(round(max(evidence.low, -1.0), 4)),
        "challenger_delta_high": dg.MetadataValue.float(round(min(evidence.high, 1.0), 4)),
        "challenger_always_valid_p": dg.MetadataValue.float(round(evidence.always_valid_p, 4)),
        "challenger_looks": len(outcome.looks), "promotion.metric": settings.metric,
        "trial_rows": len(rows), "snapshot_uri": snapshot,
        "load_check": outcome.load_check.text() if outcome.load_check else "not needed",
        "looks": dg.MetadataValue.md(table.to_markdown(index=False, floatfmt=".4f")),
        "evidence": dg.MetadataValue.md(embedded),
        "promotion.trial_alpha": settings.trial_alpha,
        "promotion.trial_max_snapshots": settings.trial_max_snapshots,
    })
