"""The service's deployment settings (log database, online store, API key, state folder),
taken from ``Settings``; the YAML ``serving`` section is ``dataset_sections.ServingConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from churn_assets.environment import Settings

API_KEY_HEADER = "X-API-Key"


def sqlite_folder(url: str) -> str:
    """``url``, the folder of a SQLite file created first (SQLite makes the file, not the
    folder)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


@dataclass(frozen=True)
class ServiceEnvironment:
    tracking_uri: str
    log_url: str
    spool_path: Path  # rows the log database did not take yet (JSON lines, replayed)
    api_key: str | None = field(default=None, repr=False)  # None: POST /outcomes refused
    online_store_url: str = field(default="", repr=False)  # "": no GET /customers/{id}
    # Feast's registry lives beside the intermediate tables (CHURN_STORAGE_URI).
    storage_uri: str = field(default_factory=lambda: Settings().storage_uri)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceEnvironment:
        """$CHURN_PREDICTION_LOG_URL / $CHURN_ONLINE_STORE_URL, else SQLite files in the state
        folder; $CHURN_SERVING_API_KEY; $MLFLOW_TRACKING_URI."""
        return cls(settings.tracking_uri,
                   sqlite_folder(settings.prediction_log_url or settings.default_log_url()),
                   settings.state_dir / "prediction_log.spool.jsonl",
                   settings.serving_api_key or None,
                   settings.online_store_url or settings.default_store_url(),
                   settings.storage_uri)
