"""The S3 resource, with its boto3 client built only when a caller asks for it."""

from typing import Any

from dagster_aws.s3 import S3Resource


class LazyS3Resource(S3Resource):
    """dagster-aws's S3Resource builds a boto3 client whenever Dagster sets the resource up,
    for ``context.resources.s3``: on every tick of the two sensors that take it and at every
    run's start, about 0.2 CPU s each (botocore loads its service models). Everything here
    takes the resource itself and calls ``get_client()`` only for an s3:// landing, source or
    experiment folder, so a local project builds no client at all."""

    def get_object_to_set_on_execution_context(self) -> Any:
        return self
