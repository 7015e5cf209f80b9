"""Sensors: new snapshots in the landing area, and retraining when drift asks for it."""

import botocore.exceptions
import dagster as dg
from dagster_aws.s3 import S3Resource

from churn_assets.data.landing_cursor import (
    LandingCursor,
    list_local,
    list_s3,
    parse_landing,
    select_new,
)
from churn_assets.dataset_config import ConfigError
from churn_assets.defs.assets.ingestion import RawCustomersConfig
from churn_assets.defs.assets.monitoring import feature_drift
from churn_assets.defs.assets.registry import champion_model
from churn_assets.defs.jobs import churn_retraining_job, snapshot_intake_job
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.names import RETRAIN_REASON_TAG, SNAPSHOT_ETAG_TAG, SNAPSHOT_KEY_TAG

UNREACHABLE = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError)


def _list_landing(landing: str, cursor: LandingCursor, s3: S3Resource) -> list:
    kind, location, prefix = parse_landing(landing)
    if kind == "s3":
        return list(list_s3(s3.get_client(), location, prefix))
    return list(list_local(location, newer_than=cursor.last_modified or None))


@dg.sensor(
    job=snapshot_intake_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One run per new CSV/Parquet object in the dataset YAML's `landing` "
    "(local folder or s3://bucket/prefix/), keyed by object key and ETag.",
)
def new_customer_data_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource, s3: S3Resource
):
    try:
        landing = dataset.load().landing
        cursor = LandingCursor.from_json(context.cursor)
    except (ConfigError, ValueError) as error:
        return dg.SkipReason(f"cannot start: {error}")
    try:
        objects = _list_landing(landing, cursor, s3)
    except UNREACHABLE as error:  # the cursor stays put, so nothing is lost
        return dg.SkipReason(f"landing {landing} unreachable, will retry: {error}")
    selection = select_new(objects, cursor)
    ignored = ", ".join(f"{n} {reason}" for reason, n in sorted(selection.ignored.items()))
    if ignored:
        context.log.info(f"ignored in {landing}: {ignored}")
    if not selection.new:
        return dg.SkipReason(f"no new snapshot in {landing}" + (f" (ignored: {ignored})"
                                                               if ignored else ""))
    context.update_cursor(selection.cursor.to_json())
    return [
        dg.RunRequest(
            run_key=obj.run_key,
            run_config=dg.RunConfig(ops={"raw_customers": RawCustomersConfig(source_uri=obj.uri)}),
            tags={SNAPSHOT_KEY_TAG: obj.key, SNAPSHOT_ETAG_TAG: obj.etag},
        )
        for obj in selection.new
    ]


@dg.asset_sensor(
    asset_key=feature_drift.key,
    job=churn_retraining_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retrains when a feature_drift materialization says `retrain` (drift found, "
    "no champion yet, or policy 'always'); otherwise skips with the reason.",
)
def drift_retraining_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    materialization = asset_event.asset_materialization
    metadata = materialization.metadata if materialization else {}
    reason = metadata.get("retrain_reason")
    reason_text = reason.value if reason is not None else "no decision recorded"
    latest_champion = context.instance.get_latest_materialization_event(
        champion_model.key)
    if latest_champion and latest_champion.run_id == asset_event.run_id:
        return dg.SkipReason(f"run {asset_event.run_id[:8]} already trained a candidate")
    retrain = metadata.get("retrain")
    if retrain is None or not retrain.value:
        return dg.SkipReason(f"feature_drift in run {asset_event.run_id[:8]}: {reason_text}")
    return dg.RunRequest(run_key=f"feature_drift:{asset_event.run_id}",
                         tags={RETRAIN_REASON_TAG: str(reason_text)[:200]})
