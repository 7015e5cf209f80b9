"""The moto S3 server lives in ``churn_dev`` (the benchmarks use it too)."""

from churn_dev.s3_server import (
    REGION,
    MotoS3Server,
    running_s3_server,
    s3_in_environment,
)

__all__ = ["REGION", "MotoS3Server", "running_s3_server", "s3_in_environment"]
