"""The database table where `churn_scores` is also written for the CRM; off by default."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from churn_assets.data.score_table import replace_scores


class ScoresDatabase(dg.ConfigurableResource):
    """``url`` comes from ``dg.EnvVar`` (it may hold a password): never logged or shown."""

    url: str = Field("", description="SQLAlchemy URL, e.g. postgresql://user:pw@host/crm; "
                     "empty: scores are not written to a database.")
    table: str = Field("churn_scores", description="'table' or 'schema.table'.")

    def enabled(self) -> bool:
        return bool(self.url)

    def replace(self, scores: pd.DataFrame, model_version: str, scored_at: datetime) -> int:
        import sqlalchemy as sa

        # hide_parameters: customer rows never end up in an error message or a log
        engine = sa.create_engine(self.url, pool_pre_ping=True, hide_parameters=True)
        try:
            return replace_scores(engine, self.table, scores, model_version, scored_at)
        finally:
            engine.dispose()
