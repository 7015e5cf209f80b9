"""Retries where a retry can help: the steps that talk to S3, MLflow or a database get one
Dagster ``RetryPolicy``; pure steps and asset checks get none.

The seeds' pipeline retried 3 times, 5 minutes apart. Here: ``CHURN_RETRY_MAX_RETRIES``
(default 3) retries, the first after ``CHURN_RETRY_DELAY_SECONDS`` (default 300 with
``CHURN_DEPLOYMENT=prod``, 2 locally, where a developer waits for the answer), each next one
waiting one delay longer (linear backoff: 5, 10, 15 minutes in production), from the
``Settings`` that ``build_definitions`` gets: the assets that retry are built there
(``<asset>_asset(retries)`` in their modules), as Dagster fixes an op's retry policy when its
decorator runs.

What a retry cannot fix never retries: a failed validation is a failed blocking asset check
(the downstream steps are skipped, nothing raises), a refused promotion is a successful step
whose decision says "rejected", and a step that knows its error is permanent raises
``dg.Failure(allow_retries=False)`` (e.g. an unreadable source file).
"""

from __future__ import annotations

import dagster as dg

from churn_assets.environment import Settings


def service_retry_policy(settings: Settings) -> dg.RetryPolicy:
    return dg.RetryPolicy(max_retries=settings.retry_max_retries,
                          delay=settings.retry_delay_seconds, backoff=dg.Backoff.LINEAR)
