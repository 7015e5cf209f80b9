"""The scoring service's stores as the assets and the log sensor see them: the online store
`online_features` fills and the prediction log `online_performance` reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from churn_assets.environment import DEFAULT_LOG_SENSOR_MIN_ROWS, Settings
from churn_assets.serving.settings import sqlite_folder

if TYPE_CHECKING:
    from churn_assets.serving.online_store import StoreLocation


class ServingStores(dg.ConfigurableResource):
    """Set from ``dg.EnvVar`` when $CHURN_PREDICTION_LOG_URL / $CHURN_ONLINE_STORE_URL are set
    (they may hold passwords), else SQLite files in the state folder."""

    prediction_log_url: str = Field("", description="SQLAlchemy URL of the prediction log; "
                                    "empty: the repository's state folder.")
    online_store_url: str = Field("", description="Feast's online store: redis://... or a "
                                  "SQLite file; empty: the repository's state folder.")
    storage_uri: str = Field("", description="Where Feast's registry lives, beside the "
                             "intermediate tables; empty: the repository's state folder.")
    min_new_log_rows: int = Field(DEFAULT_LOG_SENSOR_MIN_ROWS, ge=1, description="New logged "
                                  "rows before prediction_log_sensor asks for "
                                  "online_performance ($CHURN_LOG_SENSOR_MIN_ROWS).")

    def log_url(self) -> str:
        return sqlite_folder(self.prediction_log_url or Settings().default_log_url())

    def store_location(self) -> StoreLocation:
        from churn_assets.serving.online_store import store_location

        return store_location(self.online_store_url or Settings().default_store_url(),
                              self.storage_uri or Settings().storage_uri)
