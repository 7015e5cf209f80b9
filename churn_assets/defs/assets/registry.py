"""[registry] The registered champion: replaced only by a challenger that is really better."""

import dagster as dg
import mlflow
import pandas as pd

from churn_assets.defs.resources import DatasetResource, MlflowResource
from churn_assets.names import LABEL, SPLIT
from churn_assets.registry.model_registry import register_and_decide


@dg.asset(group_name="registry", kinds={"mlflow"})
def champion_model(
    context: dg.AssetExecutionContext, tuned_churn_model: dict, customer_splits: pd.DataFrame,
    dataset: DatasetResource, mlflow_tracking: MlflowResource,
) -> dg.Output[dict]:
    """Register the candidate; champion and candidate are scored on the same current test
    rows before any alias moves. Losers get @challenger; the decision is tagged on the version."""
    config = dataset.load()
    test = customer_splits[customer_splits[SPLIT] == "test"]
    rows = test.drop(columns=[SPLIT, LABEL, config.target])
    client = mlflow_tracking.client()
    with mlflow_tracking.run(context, config.experiment_name):
        outcome = register_and_decide(
            client, config.model_name, tuned_churn_model["model_uri"],
            tuned_churn_model["run_id"], rows, test[LABEL].to_numpy(), config.promotion,
        )
        mlflow.log_metrics({"registry_candidate_test_f1": outcome.candidate.f1,
                            "registry_candidate_test_roc_auc": outcome.candidate.roc_auc})
    verdict = "promoted to @champion" if outcome.decision.promote else "kept as @challenger"
    context.log.info(f"{config.model_name} v{outcome.version} {verdict}: {outcome.decision.reason}")
    summary = {
        "model_name": config.model_name,
        "candidate_version": outcome.version,
        "promoted": outcome.decision.promote,
        "reason": outcome.decision.reason,
        "champion_version": outcome.champion_version,
        "previous_champion_version": outcome.previous_champion_version,
        "candidate_test_f1": outcome.candidate.f1,
        "candidate_test_roc_auc": outcome.candidate.roc_auc,
        "champion_test_f1": outcome.champion.f1 if outcome.champion else None,
        "champion_test_roc_auc": outcome.champion.roc_auc if outcome.champion else None,
        "test_rows": len(rows),
    }
    return dg.Output(summary, metadata={k: v for k, v in summary.items() if v is not None})
