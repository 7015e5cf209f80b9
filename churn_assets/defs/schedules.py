"""Weekly retraining, whatever drift says: models age even when features look stable."""

import dagster as dg

from churn_assets.defs.jobs import churn_retraining_job

DEFAULT_CRON, DEFAULT_TIMEZONE = "0 2 * * 0", "UTC"


def weekly_retraining_schedule(
    cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE
) -> dg.ScheduleDefinition:
    """Sunday 02:00 UTC by default; the deployment settings pass another cron or timezone."""
    return dg.ScheduleDefinition(
        name="weekly_retraining_schedule",
        job=churn_retraining_job,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Retrain at '{cron}' ({timezone}) whatever drift says "
        "(CHURN_RETRAIN_CRON / CHURN_RETRAIN_TIMEZONE).",
    )
