"""[registry] The registered champion: replaced only by a challenger that is really better."""


import dagster as dg
import pandas as pd
from pydantic import Field

from churn_assets.dataset_config import PromotionConfig
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
from churn_assets.model.model_card import promotion_section
from churn_assets.model.model_logging import (
    model_version_url,
)
from churn_assets.names import RETRAIN_REASON_TAG
from churn_assets.pipeline.promotion import PromotionRun, log_registry_metrics, register_and_decide
from churn_assets.registry.model_registry import SAMPLE_ROWS

LOAD_CHECK = "candidate_loads_in_fresh_process"


class SegmentConfig(dg.Config):
    column: str = Field(description="A column of the raw rows, e.g. Contract or tenure.")
    bins: list[float] = Field(default_factory=list, description="Band edges for a numeric "
                              "column, e.g. [0, 12, 24, 48, .inf]; empty for a categorical one.")


PromotionSettings = launchpad_config(
    "PromotionSettings",
    launchpad_fields(PromotionConfig, "promotion", exclude=("segments",)),
    # A segment is a name or a mapping in the YAML; Dagster's config types need one shape.
    {"segments": (list[SegmentConfig] | None, Field(None, description="Segments that may "
                                                    "not regress (YAML promotion.segments)."))},
    doc="Empty fields take the dataset YAML's `promotion` section (else its default).")


def _segments_text(settings: PromotionConfig) -> str:
    parts = [s if isinstance(s, str) else f"{s.column} bands {[float(b) for b in s.bins]}"
             for s in settings.segments]
    return ", ".join(parts) or "none"


def _segment_table(segments: list[dict]) -> str:
    return pd.DataFrame(segments).to_markdown(index=False, floatfmt=".4f") if segments \
        else "no segments configured (YAML promotion.segments)"


def champion_model_asset(retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    """``champion_model`` with the deployment's service retries (it talks to MLflow)."""
    return dg.asset(
        group_name="registry", kinds={"mlflow"}, owners=OWNERS, tags={"stage": "registry"},
        code_version="2", pool="churn_registry", retry_policy=retries,
        check_specs=[dg.AssetCheckSpec(
            LOAD_CHECK, asset="champion_model", blocking=True,
            description="The registered candidate loads by its registry URI in a new Python "
                        "process and answers the serving contract; else no alias moves.")],
    )(champion_model)


def champion_model(
    context: dg.AssetExecutionContext, config: PromotionSettings, tuned_churn_model: dict,
    customer_splits: Table, dataset: DatasetResource, mlflow_tracking: MlflowTracking,
    dask_cluster: DaskCluster,
) -> dg.MaterializeResult:
    """Register the candidate and decide (``registry.promotion_rule``): floors, then a paired
    bootstrap of the metric's gain on the same current test rows for champion and candidate
    (at this look's share of the split's error budget), then segments. Promoted: the old
    champion becomes @previous_champion; inconclusive but not worse: @challenger, on trial
    (``challenger_trial``). The decision is tagged on the version and its model card becomes
    the version description."""
    data = dataset.load()
    settings = effective(data.promotion, config, "promotion")
    ids, test = dask_cluster.tables_for(customer_splits).test_split(
        customer_splits, data.id_column, data.tuning.seed)
    requested_by = f"dagster run {context.run_id}"
    why = context.run.tags.get(RETRAIN_REASON_TAG) or "manual materialization"
    result = register_and_decide(mlflow_tracking.client(), mlflow_tracking.resolved_uri(), data,
                                 settings, tuned_churn_model, ids, test, requested_by, why)
    with mlflow_tracking.run(context, data.experiment_name):
        log_registry_metrics(result)
    context.log.info(f"{data.model_name} v{result.version}: {result.outcome.decision.reason}")
    check = result.outcome.load_check
    metadata = _metadata(result, data.model_name, settings, mlflow_tracking.resolved_uri(),
                         requested_by, why)
    return dg.MaterializeResult(metadata=metadata, check_results=[dg.AssetCheckResult(
        check_name=LOAD_CHECK, passed=check.ok, description=check.text(),
        metadata={"model_uri": f"models:/{data.model_name}/{result.version}",
                  "columns": list(check.columns), "sample_rows": min(len(test), SAMPLE_ROWS),
                  **check.tags()})])


def _rounded(value: float | None) -> dg.MetadataValue | None:
    return None if value is None else dg.MetadataValue.float(round(value, 4))


def _metadata(result: PromotionRun, model_name: str, settings: PromotionConfig, uri: str,
              requested_by: str, why: str) -> dict:
    """The decision as a person reads it in the UI (keys other tools read: DESIGN.md)."""
    decision, outcome, version = result.outcome.decision, result.outcome, result.version
    rounded = _rounded
    metadata = {
        "model_name": model_name, "candidate_version": version,
        "decision": "promoted" if decision.promote else "rejected",
        "outcome": decision.outcome, "promotion.metric": decision.metric,
        "promotion.look": decision.look,
        "promoted": decision.promote, "reason": decision.reason, "rule": decision.rule,
        "requested_by": requested_by, "why": why,
        "champion_version": outcome.champion_version,
        "previous_champion_version": outcome.previous_champion_version,
        "candidate_test_f1": rounded(decision.candidate_f1),
        "candidate_test_roc_auc": rounded(decision.candidate_roc_auc),
        "champion_test_f1": rounded(decision.champion_f1),
        "champion_test_roc_auc": rounded(decision.champion_roc_auc),
        "test_rows": decision.test_rows, "load_check": outcome.load_check.text(),
        "segments": dg.MetadataValue.md(_segment_table(decision.segments)),
        "decision_details": dg.MetadataValue.md(promotion_section(result.promotion)),
        "model_card": dg.MetadataValue.md(result.card),
        **as_metadata("promotion", settings),
        "promotion.floors": dg.MetadataValue.json(settings.effective_floors()),
        "promotion.segments": _segments_text(settings),  # tuples are no metadata type
    }
    if decision.gain is not None:
        metadata |= {"promotion.delta": decision.gain.text(),
                     "promotion.delta_low": rounded(decision.gain.low),
                     "promotion.delta_high": rounded(decision.gain.high)}
    for name, interval in (("f1", decision.f1_delta), ("roc_auc", decision.roc_auc_delta)):
        if interval is not None:
            metadata |= {f"{name}_delta": interval.text(),
                         f"{name}_delta_low": rounded(interval.low),
                         f"{name}_delta_high": rounded(interval.high)}
    if result.card_facts.get("run_url"):
        metadata["mlflow_run"] = dg.MetadataValue.url(result.card_facts["run_url"])
    if model_version_url(uri, model_name, version):
        metadata["model_version"] = dg.MetadataValue.url(
            model_version_url(uri, model_name, version))
    metadata["evaluation"] = dg.MetadataValue.md(result.pictures)
    return {k: v for k, v in metadata.items() if v is not None}
