"""Failed runs alert: a run-failure sensor posts {job, run_id, failed step, error} as JSON to
the webhook in $CHURN_ALERT_WEBHOOK (Slack-style incoming webhooks, an alert relay, ...).

Unset, it only logs the failure. The URL often carries a token, so it is never logged.
"""

from __future__ import annotations

import json
import urllib.request

import dagster as dg

from churn_assets.defs.resources.alerting import Alerting
from churn_assets.environment import WEBHOOK_ENV

TIMEOUT_SECONDS = 10


def _first_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0][:500] if lines else ""


def _step_error(event: dg.DagsterEvent) -> str:
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return _first_line(data.user_failure_data.description)  # a dg.Failure: said already
    return _first_line(data.error.message) if data.error else _first_line(event.message or "")


def failure_alert(context: dg.RunFailureSensorContext) -> dict[str, object]:
    """What went wrong, in the words a person on call needs."""
    steps = context.get_step_failure_events()
    return {
        "job": context.dagster_run.job_name,
        "run_id": context.dagster_run.run_id,
        "failed_step": steps[0].step_key if steps else None,
        "failed_steps": [event.step_key for event in steps],
        "error": _step_error(steps[0]) if steps else _first_line(context.failure_event.message
                                                                  or ""),
    }


def post_json(url: str, payload: dict[str, object]) -> int:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return response.status


@dg.run_failure_sensor(name="run_failure_alert_sensor", monitor_all_code_locations=False,
                       default_status=dg.DefaultSensorStatus.RUNNING,
                       description=f"Posts each failed run to ${WEBHOOK_ENV} (JSON: job, "
                       "run_id, failed_step, error); only logs it when unset.")
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, alerting: Alerting) -> None:
    alert = failure_alert(context)
    context.log.error(f"run {alert['run_id']} of {alert['job']} failed at step "
                      f"{alert['failed_step']}: {alert['error']}")
    url = alerting.url()
    if not url:
        context.log.info(f"no alert sent: ${WEBHOOK_ENV} is not set")
        return
    try:
        status = post_json(url, alert)
    except OSError as error:  # the alert must not hide why the run failed
        context.log.error(f"alert webhook (${WEBHOOK_ENV}) failed: {type(error).__name__}")
        return
    context.log.info(f"alert posted (HTTP {status}) for run {alert['run_id']}")
