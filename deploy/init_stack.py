"""One-shot set-up of a fresh stack, run by compose before the code server starts: the bucket
and the bundled data as the seed snapshot (skipped when they exist, so a restart changes
nothing). Credentials and endpoint from the standard AWS environment."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import boto3
import yaml
from botocore.exceptions import ClientError


def main() -> None:
    config = yaml.safe_load(Path(os.environ["CHURN_DATASET_CONFIG"]).read_text())
    source = urlparse(config["source"])
    s3 = boto3.client("s3")
    try:
        s3.head_bucket(Bucket=source.netloc)
    except ClientError:
        s3.create_bucket(Bucket=source.netloc)
        print(f"created bucket {source.netloc}")
    key = source.path.lstrip("/")
    try:
        s3.head_object(Bucket=source.netloc, Key=key)
        print(f"seed s3://{source.netloc}/{key} already there")
    except ClientError:
        s3.upload_file("/app/data/customers.csv", source.netloc, key)
        print(f"seeded s3://{source.netloc}/{key} with the bundled data")


if __name__ == "__main__":
    main()
