"""`prediction_log_sensor`: the service's log becomes monitoring's current data. When at
least `CHURN_LOG_SENSOR_MIN_ROWS` (1,000) rows were logged since its last request, it
materializes `online_performance` (realized metrics, the shadow look, drift of the logged
requests)."""

import dagster as dg

from churn_assets.defs.assets.serving import online_performance
from churn_assets.defs.resources.serving_stores import ServingStores

online_performance_job = dg.define_asset_job(
    "online_performance_job", selection=dg.AssetSelection.assets(online_performance),
    description="Read the prediction log back: realized metrics per arm, the challenger's "
    "online look, drift of the logged requests.")


@dg.sensor(job=online_performance_job, minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Materializes online_performance when enough new rows were logged.")
def prediction_log_sensor(context: dg.SensorEvaluationContext, serving_stores: ServingStores):
    from churn_assets.monitoring.online_performance import logged_row_count

    minimum = serving_stores.min_new_log_rows
    count, seen = logged_row_count(serving_stores.log_url()), int(context.cursor or 0)
    if count - seen < minimum:
        return dg.SkipReason(f"{count - seen} new logged rows (waiting for {minimum})")
    context.update_cursor(str(count))
    return dg.RunRequest(run_key=f"prediction_log:{count}")
