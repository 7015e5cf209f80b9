"""Where alerts go and when the source counts as stale: the run-failure sensor and the
freshness check read it."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from churn_assets.environment import DEFAULT_MAX_AGE_DAYS


class Alerting(dg.ConfigurableResource):
    """``webhook_url`` comes from ``dg.EnvVar`` ($CHURN_ALERT_WEBHOOK: it often carries a
    token): never logged or shown."""

    webhook_url: str = Field("", description="Incoming webhook that gets each alert as JSON; "
                             "empty: alerts are only logged.")
    max_age_days: float = Field(DEFAULT_MAX_AGE_DAYS, ge=0, description="Days without a new "
                                "source snapshot before the freshness check warns "
                                "($CHURN_FRESHNESS_DAYS).")

    def url(self) -> str:
        return self.webhook_url.strip()
