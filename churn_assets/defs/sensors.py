"""Sensors: new snapshots in the landing area, and retraining when monitoring asks for it."""

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
from churn_assets.data.source_errors import SourceError
from churn_assets.data.sql_watermark import WatermarkCursor, is_newer, read_watermark
from churn_assets.dataset_config import ConfigError, DatasetConfig
from churn_assets.defs.assets.ingestion import RawCustomersConfig
from churn_assets.defs.assets.serving import online_performance
from churn_assets.defs.history import HISTORY_LIMIT, read_history
from churn_assets.defs.jobs import churn_training_job, snapshot_intake_job
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.monitoring.retraining_policy import LATEST_LABELED
from churn_assets.names import (
    RETRAIN_REASON_TAG,
    RETRAIN_RULE_TAG,
    SNAPSHOT_ETAG_TAG,
    SNAPSHOT_KEY_TAG,
)

UNREACHABLE = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError)


def list_landing(landing: str, cursor: LandingCursor, s3: S3Resource) -> list:
    """The objects of a local folder or s3:// prefix that the cursor may not have seen."""
    kind, location, prefix = parse_landing(landing)
    if kind == "s3":
        return list(list_s3(s3.get_client(), location, prefix))
    return list(list_local(location, newer_than=cursor.last_modified or None))


def _watch_table(context: dg.SensorEvaluationContext, config: DatasetConfig):
    """One run when the source table's watermark column has a new maximum."""
    try:
        cursor = WatermarkCursor.from_json(context.cursor)
    except ValueError as error:
        return dg.SkipReason(f"cannot start: {error}")
    try:
        reading = read_watermark(config.source, config.watermark_column,
                                 config.source_table, config.source_query)
    except SourceError as error:  # unreachable or refused: the cursor stays put
        return dg.SkipReason(f"watermark not read, will retry: {error}")
    if not is_newer(reading, cursor):
        return dg.SkipReason(f"no new rows in {reading.label}: max({config.watermark_column}) "
                             f"= {reading.watermark or 'none'}, {reading.rows} rows")
    context.update_cursor(WatermarkCursor(reading.watermark).to_json())
    # No source_uri: the run reads the YAML's source, so no URL lands in the run config.
    return dg.RunRequest(
        run_key=f"{config.source_table or 'query'}@{reading.watermark}",
        tags={SNAPSHOT_KEY_TAG: f"{config.source_table or 'query'}@{reading.watermark}",
              SNAPSHOT_ETAG_TAG: f"rows={reading.rows}"})


@dg.sensor(
    job=snapshot_intake_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One run per new CSV/Parquet/xlsx object in the dataset YAML's `landing` "
    "(local folder or s3://bucket/prefix/), keyed by object key and ETag; or, for an SQL "
    "source with a `watermark_column`, one run per new maximum of that column.",
)
def new_customer_data_sensor(
    context: dg.SensorEvaluationContext, dataset: DatasetResource, s3: S3Resource
):
    try:
        config = dataset.load()
    except ConfigError as error:
        return dg.SkipReason(f"cannot start: {error}")
    if config.is_sql_source and config.watermark_column:
        return _watch_table(context, config)
    try:
        landing = config.landing
        cursor = LandingCursor.from_json(context.cursor)
    except (ConfigError, ValueError) as error:
        return dg.SkipReason(f"cannot start: {error}")
    try:
        objects = list_landing(landing, cursor, s3)
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


def _latest_labeled_uri(instance: dg.DagsterInstance) -> str:
    """The newest labeled snapshot monitoring saw; "" (the dataset YAML's source) if none."""
    return next((r.snapshot_key for r in read_history(instance, HISTORY_LIMIT) if r.labeled), "")


@dg.asset_sensor(
    asset_key=dg.AssetKey("feature_drift"),
    job=churn_training_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retrains when a feature_drift materialization says `retrain` (performance "
    "decay, persistent drift, no champion yet, or forced), on the very snapshot it judged, or "
    "on the latest labeled one when that snapshot had no labels; otherwise skips with the "
    "rule and the figures.",
)
def drift_retraining_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    return _retraining_request(context, asset_event, "feature_drift")


@dg.asset_sensor(
    asset_key=online_performance.key,
    job=churn_training_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retrains when an online_performance materialization says `retrain`: the "
    "prediction log's newest window went through the same retraining policy as a snapshot "
    "(performance decay of the champion on its logged answers; drift counts toward the "
    "streak). It trains on the latest labeled snapshot (the log is never trained on).",
)
def prediction_log_retraining_sensor(context: dg.SensorEvaluationContext,
                                     asset_event: dg.EventLogEntry):
    return _retraining_request(context, asset_event, "online_performance")


def _retraining_request(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry,
                        source: str):
    materialization = asset_event.asset_materialization
    stored = materialization.metadata if materialization else {}
    metadata = {key: value.value for key, value in stored.items()}
    rule = str(metadata.get("retrain_rule", "unknown rule"))
    reason = str(metadata.get("retrain_reason", "no decision recorded"))
    run = asset_event.run_id[:8]
    latest_champion = context.instance.get_latest_materialization_event(
        dg.AssetKey("champion_model"))
    if latest_champion and latest_champion.run_id == asset_event.run_id:
        return dg.SkipReason(f"run {run} already trained a candidate")
    if not metadata.get("retrain"):
        return dg.SkipReason(f"{source} in run {run}: no retraining ({rule}): {reason}")
    # The snapshot is read again by URI: a newer one may have replaced validated_customers.
    uri = (_latest_labeled_uri(context.instance) if metadata.get("train_on") == LATEST_LABELED
           else str(metadata.get("snapshot_uri", "")))  # never train on an unlabeled snapshot
    return dg.RunRequest(
        run_key=f"{source}:{asset_event.run_id}",
        run_config=dg.RunConfig(ops={"raw_customers": RawCustomersConfig(source_uri=uri)}),
        tags={RETRAIN_RULE_TAG: rule, RETRAIN_REASON_TAG: reason[:200]})
