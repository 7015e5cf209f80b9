"""The one place that assembles assets, checks, jobs, schedules, sensors and resources.

Built lazily: nothing here runs (or reads the environment) until Dagster loads the code;
importing it only quiets output that asks nothing of the user (below). ``defs()`` reads the
environment into ``Settings``; ``build_definitions(settings)`` wires everything from them.
"""

from __future__ import annotations

import os
import warnings

import dagster as dg

from churn_assets.defs import alerts, deployment, freshness, jobs, sensors
from churn_assets.defs.assets import (
    challenger,
    features,
    ingestion,
    monitoring,
    registry,
    scoring,
    serving,
    training,
    validation,
)
from churn_assets.defs.experiment_sensor import experiment_config_sensor
from churn_assets.defs.retries import service_retry_policy
from churn_assets.defs.schedules import (
    DEFAULT_CRON,
    DEFAULT_TIMEZONE,
    weekly_retraining_schedule,
)
from churn_assets.defs.serving_sensor import online_performance_job, prediction_log_sensor
from churn_assets.environment import Settings

# A quiet first run: MLflow's "Downloading artifacts" bars and Dagster's beta/preview notices
# (ours, e.g. `Output(data_version=...)`, and dagster's own, e.g. selecting `*`) ask nothing
# of the user.
# Set MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=true to see the bars again.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

ASSET_MODULES = (ingestion, validation, features, training, registry, scoring,
                 monitoring, challenger, serving)
# The assets that talk to S3, MLflow or a database, built with the deployment's retries.
SERVICE_ASSETS = (ingestion.raw_customers_asset, training.tuned_churn_model_asset,
                  registry.champion_model_asset, scoring.churn_scores_asset,
                  monitoring.feature_drift_asset)


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything, wired for ``settings`` (tests and benchmarks pass their own)."""
    return dg.Definitions(
        assets=[*dg.load_assets_from_modules(ASSET_MODULES),
                *(build(service_retry_policy(settings)) for build in SERVICE_ASSETS)],
        asset_checks=[*dg.load_asset_checks_from_modules(ASSET_MODULES),
                      freshness.raw_customers_freshness],
        jobs=[jobs.churn_training_job, jobs.churn_retraining_job, jobs.snapshot_intake_job,
              jobs.rollback_champion_job, online_performance_job],
        schedules=[weekly_retraining_schedule(settings.retrain_cron or DEFAULT_CRON,
                                              settings.retrain_timezone or DEFAULT_TIMEZONE)],
        sensors=[sensors.new_customer_data_sensor, sensors.drift_retraining_sensor,
                 alerts.run_failure_alert_sensor,
                 freshness.freshness_sensor(settings.freshness_interval_seconds),
                 experiment_config_sensor, prediction_log_sensor,
                 sensors.prediction_log_retraining_sensor],
        resources=deployment.resources(settings),
        executor=deployment.executor(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What Dagster loads (`dagster dev -m churn_assets`, `dg check defs`): this process's
    environment, read here and not at import."""
    return build_definitions(Settings.from_environ(os.environ))
