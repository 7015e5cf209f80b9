"""[registry] The registered champion: replaced only by a challenger that is really better."""

import dagster as dg
import mlflow
import pandas as pd
from pydantic import Field

from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.settings import OWNERS, as_metadata, effective
from churn_assets.names import LABEL, SPLIT
from churn_assets.registry.model_registry import register_and_decide


class PromotionRules(dg.Config):
    """Empty fields take the dataset YAML's `promotion` section (else the documented default)."""

    min_f1: float | None = Field(None, description="Floor on test F1 (YAML promotion.min_f1, "
                                 "0.55).")
    min_roc_auc: float | None = Field(None, description="Floor on test ROC-AUC "
                                      "(YAML promotion.min_roc_auc, 0.75).")
    min_delta: float | None = Field(None, description="F1 gain over the champion required to "
                                    "promote (YAML promotion.min_delta, 0.0).")


@dg.asset(group_name="registry", kinds={"mlflow"}, owners=OWNERS, tags={"stage": "registry"},
          code_version="1", pool="churn_registry")
def champion_model(
    context: dg.AssetExecutionContext, config: PromotionRules, tuned_churn_model: dict,
    customer_splits: pd.DataFrame, dataset: DatasetResource, mlflow_tracking: MlflowTracking,
) -> dg.MaterializeResult:
    """Register the candidate; champion and candidate are scored on the same current test
    rows before any alias moves. Losers get @challenger; the decision is tagged on the version."""
    data = dataset.load()
    rules = effective(data.promotion, config, "promotion")
    test = customer_splits[customer_splits[SPLIT] == "test"]
    rows = test.drop(columns=[SPLIT, LABEL, data.target])
    client = mlflow_tracking.client()
    with mlflow_tracking.run(context, data.experiment_name):
        outcome = register_and_decide(
            client, data.model_name, tuned_churn_model["model_uri"],
            tuned_churn_model["run_id"], rows, test[LABEL].to_numpy(), rules,
        )
        mlflow.log_metrics({"registry_candidate_test_f1": outcome.candidate.f1,
                            "registry_candidate_test_roc_auc": outcome.candidate.roc_auc})
    verdict = "promoted to @champion" if outcome.decision.promote else "kept as @challenger"
    context.log.info(f"{data.model_name} v{outcome.version} {verdict}: {outcome.decision.reason}")
    summary = {
        "model_name": data.model_name,
        "candidate_version": outcome.version,
        "promoted": outcome.decision.promote,
        "reason": outcome.decision.reason,
        "champion_version": outcome.champion_version,
        "previous_champion_version": outcome.previous_champion_version,
        "candidate_test_f1": round(outcome.candidate.f1, 4),
        "candidate_test_roc_auc": round(outcome.candidate.roc_auc, 4),
        "champion_test_f1": round(outcome.champion.f1, 4) if outcome.champion else None,
        "champion_test_roc_auc": round(outcome.champion.roc_auc, 4) if outcome.champion else None,
        "test_rows": len(rows),
        **as_metadata("promotion", rules),
    }
    return dg.MaterializeResult(metadata={k: v for k, v in summary.items() if v is not None})
