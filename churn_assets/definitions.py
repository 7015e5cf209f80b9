"""The one place that assembles assets, checks, jobs, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from churn_assets.assets import features, ingestion, registry, training, validation
from churn_assets.deployment import executor_for_deployment
from churn_assets.jobs import churn_training_job
from churn_assets.resources import ChurnIOManagerFactory, DatasetResource, MlflowResource

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingestion, validation, features, training, registry]),
    asset_checks=[validation.customer_expectations],
    jobs=[churn_training_job],
    resources={
        "dataset": DatasetResource(),
        "mlflow_tracking": MlflowResource(),
        # boto3 reads AWS_ENDPOINT_URL_S3 / AWS_* credentials from the environment itself.
        "s3": S3Resource(),
        "io_manager": ChurnIOManagerFactory(),
    },
    executor=executor_for_deployment(),
)
