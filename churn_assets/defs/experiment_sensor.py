"""`experiment_config_sensor`: one training run per experiment config dropped into the
dataset YAML's `experiment_configs` (a folder, default `configs/`, or s3://bucket/prefix/)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource

from churn_assets.data.landing_cursor import (
    LandedObject,
    LandingCursor,
    parse_landing,
    select_new,
)
from churn_assets.dataset_config import ConfigError, DatasetConfig
from churn_assets.defs.jobs import churn_training_job
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.sensors import UNREACHABLE, list_landing
from churn_assets.experiment_config import (
    EXPERIMENT_SUFFIXES,
    MAX_EXPERIMENT_BYTES,
    apply_experiment_config,
    content_digest,
)

EXPERIMENT_KEY_TAG = "churn/experiment_config"
EXPERIMENT_SHA_TAG = "churn/experiment_config_sha256"


def _read(obj: LandedObject, kind: str, bucket: str, s3: S3Resource) -> str:
    if obj.size > MAX_EXPERIMENT_BYTES:
        raise ConfigError(f"experiment config {obj.uri}: {obj.size} bytes, more than "
                          f"{MAX_EXPERIMENT_BYTES} (run settings, not data)")
    body = (s3.get_client().get_object(Bucket=bucket, Key=obj.key)["Body"].read()
            if kind == "s3" else Path(obj.uri).read_bytes())
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"experiment config {obj.uri}: not UTF-8 text") from None


def _request(dataset: DatasetResource, data: DatasetConfig, obj: LandedObject,
             text: str) -> dg.RunRequest:
    apply_experiment_config(data, text, obj.uri)  # refused here, before any run starts
    digest = content_digest(text)
    return dg.RunRequest(
        run_key=f"experiment_config:{obj.key}:{digest[:16]}",  # the same content runs once
        run_config={"resources": {"dataset": {"config": {
            "config_path": dataset.config_path, "experiment_config": text,
            "experiment_config_source": obj.uri}}}},
        tags={EXPERIMENT_KEY_TAG: obj.key, EXPERIMENT_SHA_TAG: digest})


@dg.sensor(
    job=churn_training_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One training run per new experiment config (YAML of run settings: tuning, "
    "promotion, model) in the dataset YAML's `experiment_configs`; its candidate meets the "
    "same promotion rule. A bad config is logged in one line naming the key, and not run.",
)
def experiment_config_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource, s3: S3Resource
):
    try:
        data = dataset.load()
        kind, location, _ = parse_landing(data.experiment_configs)
        cursor = LandingCursor.from_json(context.cursor)
    except (ConfigError, ValueError) as error:
        return dg.SkipReason(f"cannot start: {error}")
    try:
        objects = list_landing(data.experiment_configs, cursor, s3)
        selection = select_new(objects, cursor, EXPERIMENT_SUFFIXES)
        requests, refused = [], []
        for obj in selection.new:
            try:
                requests.append(_request(dataset, data, obj, _read(obj, kind, location, s3)))
            except ConfigError as error:  # the cursor moves on: a fixed file is a new version
                context.log.error(str(error))
                refused.append(str(error))
    except UNREACHABLE as error:  # the cursor stays put, so nothing is lost
        return dg.SkipReason(f"{data.experiment_configs} unreachable, will retry: {error}")
    context.update_cursor(selection.cursor.to_json())
    if not requests:
        return dg.SkipReason("; ".join(refused) or
                             f"no new experiment config in {data.experiment_configs}")
    return requests
