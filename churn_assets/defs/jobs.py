"""Jobs: the whole training graph, retraining on validated data, snapshot intake, rollback."""

import dagster as dg
from pydantic import Field

from churn_assets.defs.assets.challenger import challenger_trial
from churn_assets.defs.assets.features import (
    customer_features,
    customer_splits,
    feature_preprocessor,
)
from churn_assets.defs.assets.monitoring import monitoring_history
from churn_assets.defs.assets.serving import online_features
from churn_assets.defs.assets.validation import column_roles, validated_customers
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.registry.model_registry import RollbackRefused, rollback

# online_features: the service's online store follows each validated snapshot.
INTAKE_ASSETS = dg.AssetSelection.assets("raw_customers", column_roles, validated_customers,
                                         online_features)
TRAINING_ASSETS = dg.AssetSelection.assets(
    customer_splits, feature_preprocessor, customer_features, "tuned_churn_model",
    "champion_model"
)
SCORING_ASSETS = dg.AssetSelection.assets("churn_scores")  # after the champion or the snapshot

churn_training_job = dg.define_asset_job(
    "churn_training_job",
    selection=INTAKE_ASSETS | TRAINING_ASSETS | SCORING_ASSETS,
    description="Ingest the configured source, validate, split, featurize, tune, promote, "
                "score.",
)

# The validation checks run again here: a snapshot that failed them is still the stored
# validated_customers, and blocking checks only stop downstream steps within one run.
churn_retraining_job = dg.define_asset_job(
    "churn_retraining_job",
    selection=TRAINING_ASSETS | SCORING_ASSETS
    | dg.AssetSelection.checks_for_assets(validated_customers),
    description="Retrain, promote and rescore on the latest validated customers (drift or "
                "schedule).",
)

snapshot_intake_job = dg.define_asset_job(
    "snapshot_intake_job",
    selection=INTAKE_ASSETS | SCORING_ASSETS
    | dg.AssetSelection.assets("feature_drift", monitoring_history, challenger_trial),
    description="One landed snapshot: ingest, validate (blocking checks), score with the "
    "champion, measure drift and the champion's performance, decide on retraining, append "
    "to the monitoring history, and judge the @challenger on trial (labeled snapshots).",
)


class RollbackRequest(dg.Config):
    """Who asks and why are required: they are the audit trail on both model versions."""

    requested_by: str = Field(description="Who asks for the rollback (a name or team).")
    reason: str = Field(description="Why, in one line (e.g. an incident number).")
    target_version: str | None = Field(None, description="Version to make @champion; empty "
                                       "means the version holding @previous_champion.")


@dg.op(description="Move @champion back after the fresh-process load check of the target.")
def rollback_champion(
    context: dg.OpExecutionContext, config: RollbackRequest, dataset: DatasetResource,
    mlflow_tracking: MlflowTracking,
) -> None:
    name = dataset.load().model_name
    try:
        outcome = rollback(
            mlflow_tracking.client(), name, tracking_uri=mlflow_tracking.resolved_uri(),
            requested_by=config.requested_by, reason=config.reason,
            target_version=config.target_version or None)
    except RollbackRefused as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(f"{name}: @champion v{outcome.from_version} -> v{outcome.to_version} "
                     f"for {config.requested_by}: {config.reason}")
    # Shown on champion_model's page, next to the promotions it undoes.
    context.log_event(dg.AssetObservation(asset_key="champion_model", metadata={
        "rollback": f"v{outcome.from_version} -> v{outcome.to_version}",
        "champion_version": outcome.to_version,
        "previous_champion_version": outcome.from_version,
        "requested_by": config.requested_by, "reason": config.reason,
        "load_check": outcome.load_check.text(),
    }))


@dg.job(description="Move @champion back to @previous_champion (or a named version), after "
                    "the load check; records who asked and why. Rescore afterwards.")
def rollback_champion_job() -> None:
    rollback_champion()
