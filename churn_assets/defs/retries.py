"""Retries where a retry can help: the steps that talk to S3, MLflow or a database get one
Dagster ``RetryPolicy``; pure steps and asset checks get none.

The seeds' pipeline retried 3 times, 5 minutes apart. Here: ``CHURN_RETRY_MAX_RETRIES``
(default 3) retries, the first after ``CHURN_RETRY_DELAY_SECONDS`` (default 300 with
``CHURN_DEPLOYMENT=prod``, 2 locally, where a developer waits for the answer), each next one
waiting one delay longer (linear backoff: 5, 10, 15 minutes in production). Read when the
definitions load.

What a retry cannot fix never retries: a failed validation is a failed blocking asset check
(the downstream steps are skipped, nothing raises), a refused promotion is a successful step
whose decision says "rejected", and a step that knows its error is permanent raises
``dg.Failure(allow_retries=False)`` (e.g. an unreadable source file).
"""

from __future__ import annotations

import os

import dagster as dg

MAX_RETRIES_ENV = "CHURN_RETRY_MAX_RETRIES"
DELAY_ENV = "CHURN_RETRY_DELAY_SECONDS"
PROD_DELAY_SECONDS = 300.0
LOCAL_DELAY_SECONDS = 2.0


def service_retry_policy(environ: dict[str, str] | None = None) -> dg.RetryPolicy:
    env = os.environ if environ is None else environ
    default_delay = (PROD_DELAY_SECONDS if env.get("CHURN_DEPLOYMENT") == "prod"
                     else LOCAL_DELAY_SECONDS)
    return dg.RetryPolicy(max_retries=int(env.get(MAX_RETRIES_ENV, "3")),
                          delay=float(env.get(DELAY_ENV, default_delay)),
                          backoff=dg.Backoff.LINEAR)


SERVICE_RETRIES = service_retry_policy()
