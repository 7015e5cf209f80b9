"""Weekly retraining, whatever drift says: models age even when features look stable."""

import os

import dagster as dg

from churn_assets.defs.jobs import churn_retraining_job

weekly_retraining_schedule = dg.ScheduleDefinition(
    name="weekly_retraining_schedule",
    job=churn_retraining_job,
    cron_schedule=os.environ.get("CHURN_RETRAIN_CRON", "0 2 * * 0"),
    execution_timezone=os.environ.get("CHURN_RETRAIN_TIMEZONE", "UTC"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sunday 02:00 by default; CHURN_RETRAIN_CRON / CHURN_RETRAIN_TIMEZONE change it.",
)
