"""Source freshness: a non-blocking check on `raw_customers` warns in the UI when no new
snapshot arrived for ``CHURN_FRESHNESS_DAYS`` days (default 8: weekly snapshots and a day's
grace), and the alert webhook ($CHURN_ALERT_WEBHOOK, as for failed runs) gets the same words.

A sensor runs the check once a day (``CHURN_FRESHNESS_INTERVAL_SECONDS``), so a stale source
alerts once a day until a new snapshot arrives. Dagster's own last-update freshness checks
count every materialization, and the weekly retraining re-reads an unchanged file: here the age
counts from the first read of the current content (the data version, a content hash).
"""

from datetime import UTC, datetime

import dagster as dg

from churn_assets.defs.alerts import post_json
from churn_assets.defs.resources.alerting import Alerting
from churn_assets.environment import (
    DEFAULT_FRESHNESS_INTERVAL_SECONDS,
    DEFAULT_MAX_AGE_DAYS,
    FRESHNESS_DAYS_ENV,
    WEBHOOK_ENV,
)
from churn_assets.monitoring.freshness import SnapshotRead, snapshot_freshness

CHECK_NAME = "raw_customers_freshness"
SOURCE = dg.AssetKey("raw_customers")
READS_EXAMINED = 500  # materializations looked at, newest first
DATA_VERSION_TAG = "dagster/data_version"


def snapshot_reads(instance: dg.DagsterInstance) -> list[SnapshotRead]:
    records = instance.fetch_materializations(SOURCE, limit=READS_EXAMINED,
                                              ascending=False).records
    return [SnapshotRead(datetime.fromtimestamp(r.timestamp, UTC),
                         (r.asset_materialization.tags or {}).get(DATA_VERSION_TAG))
            for r in records if r.asset_materialization]


def alert(context: dg.AssetCheckExecutionContext, url: str, text: str) -> None:
    if not url:
        context.log.info(f"no alert sent: ${WEBHOOK_ENV} is not set")
        return
    payload = {"check": CHECK_NAME, "asset": SOURCE.to_user_string(), "run_id": context.run.run_id,
               "error": text}
    try:
        status = post_json(url, payload)
    except OSError as error:  # the warning in the UI stands either way
        context.log.error(f"alert webhook (${WEBHOOK_ENV}) failed: {type(error).__name__}")
        return
    context.log.info(f"alert posted (HTTP {status}): {text}")


@dg.asset_check(asset=SOURCE, name=CHECK_NAME, blocking=False,
                description="A new source snapshot (new content) arrived within "
                            f"${FRESHNESS_DAYS_ENV} days (default {DEFAULT_MAX_AGE_DAYS:g}); "
                            "a warning and a webhook alert otherwise.")
def raw_customers_freshness(context: dg.AssetCheckExecutionContext, alerting: Alerting
                            ) -> dg.AssetCheckResult:
    freshness = snapshot_freshness(snapshot_reads(context.instance), datetime.now(UTC),
                                   alerting.max_age_days)
    if freshness.snapshot_since is not None and not freshness.fresh:
        context.log.warning(f"{SOURCE.to_user_string()}: {freshness.text()}")
        alert(context, alerting.url(), f"{SOURCE.to_user_string()}: {freshness.text()}")
    metadata = {"max_age_days": freshness.max_age.days}
    if freshness.snapshot_since is not None:
        metadata |= {"snapshot_since": freshness.snapshot_since.isoformat(timespec="seconds"),
                     "age_days": dg.MetadataValue.float(
                         round(freshness.age.total_seconds() / 86400, 2))}
    return dg.AssetCheckResult(passed=freshness.fresh, severity=dg.AssetCheckSeverity.WARN,
                               description=freshness.text(), metadata=metadata)


def freshness_sensor(interval_seconds: int = DEFAULT_FRESHNESS_INTERVAL_SECONDS
                     ) -> dg.SensorDefinition:
    """The sensor that runs the check every ``interval_seconds`` (the deployment passes
    $CHURN_FRESHNESS_INTERVAL_SECONDS)."""

    @dg.sensor(name="raw_customers_freshness_sensor",
               asset_selection=dg.AssetSelection.checks(raw_customers_freshness),
               minimum_interval_seconds=interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Runs the raw_customers freshness check (warning and webhook alert "
                           "when no new snapshot arrived in time).")
    def raw_customers_freshness_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(asset_check_keys=[raw_customers_freshness.check_key])

    return raw_customers_freshness_sensor
