"""The one place that assembles assets, checks, jobs, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from churn_assets.defs.assets import (
    features,
    ingestion,
    monitoring,
    registry,
    training,
    validation,
)
from churn_assets.defs.deployment import executor_for_deployment
from churn_assets.defs.jobs import churn_retraining_job, churn_training_job, snapshot_intake_job
from churn_assets.defs.resources import ChurnIOManagerFactory, DatasetResource, MlflowResource
from churn_assets.defs.schedules import weekly_retraining_schedule
from churn_assets.defs.sensors import drift_retraining_sensor, new_customer_data_sensor

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(
        [ingestion, validation, features, training, registry, monitoring]
    ),
    asset_checks=[validation.customer_expectations],
    jobs=[churn_training_job, churn_retraining_job, snapshot_intake_job],
    schedules=[weekly_retraining_schedule],
    sensors=[new_customer_data_sensor, drift_retraining_sensor],
    resources={
        "dataset": DatasetResource(),
        "mlflow_tracking": MlflowResource(),
        # boto3 reads AWS_ENDPOINT_URL_S3 / AWS_* credentials from the environment itself.
        "s3": S3Resource(),
        "io_manager": ChurnIOManagerFactory(),
    },
    executor=executor_for_deployment(),
)
