"""[registry] The registered champion: replaced only by a challenger that is really better."""

import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
from pydantic import Field

from churn_assets.dataset_config import PromotionConfig
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
from churn_assets.distributed.local_views import LOCAL_ROWS, local_split_rows
from churn_assets.model.evaluation_plots import markdown_with_images
from churn_assets.model.model_card import promotion_section, render_model_card
from churn_assets.model.model_logging import (
    EVALUATION_FOLDER,
    MODEL_CARD_ARTIFACT,
    model_version_url,
)
from churn_assets.names import LABEL, RETRAIN_REASON_TAG, SPLIT
from churn_assets.registry.challenger_trial import log_source_ids
from churn_assets.registry.load_check import ServingLimits
from churn_assets.registry.model_registry import (
    SAMPLE_ROWS,
    promote_candidate,
    register_candidate,
)

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


SERVING_LIMITS = ("max_model_mb", "max_p95_latency_ms_per_1000", "max_peak_memory_mb")


def _segments_text(settings: PromotionConfig) -> str:
    parts = [s if isinstance(s, str) else f"{s.column} bands {[float(b) for b in s.bins]}"
             for s in settings.segments]
    return ", ".join(parts) or "none"


def _pictures_markdown(run_id: str) -> str:
    """The candidate run's evaluation PNGs, embedded (the UI shows them with the decision)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=EVALUATION_FOLDER, dst_path=tmp))
        return markdown_with_images({p.stem: p for p in sorted(folder.glob("*.png"))})


def _segment_table(segments: list[dict]) -> str:
    return pd.DataFrame(segments).to_markdown(index=False, floatfmt=".4f") if segments \
        else "no segments configured (YAML promotion.segments)"


@dg.asset(group_name="registry", kinds={"mlflow"}, owners=OWNERS, tags={"stage": "registry"},
          code_version="2", pool="churn_registry", retry_policy=SERVICE_RETRIES,
          check_specs=[dg.AssetCheckSpec(
              LOAD_CHECK, asset="champion_model", blocking=True,
              description="The registered candidate loads by its registry URI in a new Python "
                          "process and answers the serving contract; else no alias moves.")])
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
    ids = customer_splits[data.id_column]
    if dask_cluster.holds(customer_splits):  # the Dask data path: the ids and a test sample
        ids = ids.compute()
        customer_splits = local_split_rows(customer_splits[customer_splits[SPLIT] == "test"],
                                           LOCAL_ROWS, data.tuning.seed)
    test = customer_splits[customer_splits[SPLIT] == "test"]
    rows = test.drop(columns=[SPLIT, LABEL, data.target])
    client = mlflow_tracking.client()
    uri = mlflow_tracking.resolved_uri()
    run_id = tuned_churn_model["run_id"]
    facts = tuned_churn_model.get("card_facts") or {"model_name": data.model_name}
    pictures = _pictures_markdown(run_id)  # before any registry write, so a failure moves nothing
    # Before any alias can move: a trial must never look at these rows again.
    log_source_ids(client, run_id, ids)
    version = register_candidate(data.model_name, tuned_churn_model["model_uri"], run_id)
    card_facts = facts | {"version": version}
    why = context.run.tags.get(RETRAIN_REASON_TAG) or "manual materialization"
    outcome = promote_candidate(
        client, data.model_name, version, rows, test[LABEL].to_numpy(), settings,
        tracking_uri=uri, requested_by=f"dagster run {context.run_id}", why=why,
        serving_limits=ServingLimits(**{key: getattr(settings, key) for key in SERVING_LIMITS}),
        economics=data.campaign_economics(), logistic=tuned_churn_model.get("baselines"),
        model_card=lambda promotion: render_model_card(card_facts | {"promotion": promotion}))
    decision, check = outcome.decision, outcome.load_check
    promotion = decision.facts() | {"previous_champion": outcome.previous_champion_version,
                                    "load_check": check.text()}
    card = render_model_card(card_facts | {"promotion": promotion})
    client.log_text(run_id, card, MODEL_CARD_ARTIFACT)  # the full card, with the decision
    with mlflow_tracking.run(context, data.experiment_name):
        mlflow.log_metrics({k: v for k, v in {
            "registry_candidate_test_f1": decision.candidate_f1,
            "registry_candidate_test_roc_auc": decision.candidate_roc_auc}.items()
            if v is not None})
    context.log.info(f"{data.model_name} v{version}: {decision.reason}")

    def rounded(value: float | None) -> dg.MetadataValue | None:
        return None if value is None else dg.MetadataValue.float(round(value, 4))

    metadata = {
        "model_name": data.model_name, "candidate_version": version,
        "decision": "promoted" if decision.promote else "rejected",
        "outcome": decision.outcome, "promotion.metric": decision.metric,
        "promotion.look": decision.look,
        "promoted": decision.promote, "reason": decision.reason, "rule": decision.rule,
        "requested_by": f"dagster run {context.run_id}", "why": why,
        "champion_version": outcome.champion_version,
        "previous_champion_version": outcome.previous_champion_version,
        "candidate_test_f1": rounded(decision.candidate_f1),
        "candidate_test_roc_auc": rounded(decision.candidate_roc_auc),
        "champion_test_f1": rounded(decision.champion_f1),
        "champion_test_roc_auc": rounded(decision.champion_roc_auc),
        "test_rows": decision.test_rows, "load_check": check.text(),
        "segments": dg.MetadataValue.md(_segment_table(decision.segments)),
        "decision_details": dg.MetadataValue.md(promotion_section(promotion)),
        "model_card": dg.MetadataValue.md(card),
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
    if card_facts.get("run_url"):
        metadata["mlflow_run"] = dg.MetadataValue.url(card_facts["run_url"])
    if model_version_url(uri, data.model_name, version):
        metadata["model_version"] = dg.MetadataValue.url(
            model_version_url(uri, data.model_name, version))
    metadata["evaluation"] = dg.MetadataValue.md(pictures)
    return dg.MaterializeResult(
        metadata={k: v for k, v in metadata.items() if v is not None},
        check_results=[dg.AssetCheckResult(
            check_name=LOAD_CHECK, passed=check.ok, description=check.text(),
            metadata={"model_uri": f"models:/{data.model_name}/{version}",
                      "columns": list(check.columns), "sample_rows": min(len(rows), SAMPLE_ROWS),
                      **check.tags()})])
