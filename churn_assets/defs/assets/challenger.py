"""[registry] The challenger on trial: judged beside the champion on every labeled snapshot."""


import dagster as dg
import numpy as np
import pandas as pd

from churn_assets.dataset_config import PromotionConfig
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.settings import OWNERS, effective, launchpad_config, launchpad_fields
from churn_assets.distributed.local_views import LOCAL_ROWS
from churn_assets.pipeline.challenger import log_trial_evidence, trial_rows
from churn_assets.registry.challenger_trial import TrialOutcome, judge_challenger, trial_versions

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
    snapshot_rows, _ = dask_cluster.tables_for(validated_customers).local_rows(
        validated_customers, LOCAL_ROWS)
    if data.target not in snapshot_rows:
        return _skipped("unlabeled snapshot: a trial needs labels")
    pair = trial_versions(client, data.model_name)
    if pair is None:
        return _skipped("no challenger on trial")
    challenger, champion = pair
    rows, labels = trial_rows(client, data, pair, snapshot_rows)
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
    with mlflow_tracking.run(context, data.experiment_name):
        table, embedded = log_trial_evidence(outcome, settings)
    return dg.MaterializeResult(metadata=_metadata(outcome, pair, settings, table, embedded,
                                                   len(rows), snapshot))


def _metadata(outcome: TrialOutcome, pair: tuple[str, str], settings: PromotionConfig,
              table: pd.DataFrame, embedded: str, rows: int, snapshot: str) -> dict:
    (challenger, champion), evidence = pair, outcome.verdict.evidence
    return {
        "challenger_version": challenger, "champion_version": champion,
        "champion_after": outcome.champion_after,
        "challenger_decision": outcome.decision, "reason": outcome.verdict.reason,
        "challenger_delta": evidence.text(),
        "challenger_delta_low": dg.MetadataValue.float(round(max(evidence.low, -1.0), 4)),
        "challenger_delta_high": dg.MetadataValue.float(round(min(evidence.high, 1.0), 4)),
        "challenger_always_valid_p": dg.MetadataValue.float(round(evidence.always_valid_p, 4)),
        "challenger_looks": len(outcome.looks), "promotion.metric": settings.metric,
        "trial_rows": rows, "snapshot_uri": snapshot,
        "load_check": outcome.load_check.text() if outcome.load_check else "not needed",
        "looks": dg.MetadataValue.md(table.to_markdown(index=False, floatfmt=".4f")),
        "evidence": dg.MetadataValue.md(embedded),
        "promotion.trial_alpha": settings.trial_alpha,
        "promotion.trial_max_snapshots": settings.trial_max_snapshots,
    }
