"""The service's settings: the YAML ``serving`` section (re-read while running) and the
environment (log database, API key, state folder)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from churn_assets import environment

LOG_URL_ENV = "CHURN_PREDICTION_LOG_URL"
API_KEY_ENV = "CHURN_SERVING_API_KEY"
API_KEY_HEADER = "X-API-Key"


class ServingConfig(BaseModel):
    """YAML ``serving``: read at start and again every poll, so a change needs no restart."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    poll_seconds: float = Field(30.0, gt=0, description="How often the registry is asked "
                                "whether @champion or @challenger moved.")
    challenger_share: float = Field(0.0, ge=0, le=1, description="0: @challenger scores every "
                                    "request in shadow (logged, not answered); > 0: this "
                                    "share of customers, sticky by id, get its answer.")
    max_rows: int = Field(10_000, ge=1, description="Rows one POST /predict may carry.")
    max_body_bytes: int = Field(20_000_000, ge=1_000, description="Largest request body.")
    log_batch_rows: int = Field(500, ge=1, description="Log rows written per database call.")
    log_flush_seconds: float = Field(0.5, gt=0, description="Longest wait before a partial "
                                     "batch is written.")
    log_predictions: bool = Field(True, description="false: answers are not logged and no "
                                  "shadow scoring runs (for measuring what logging costs; the "
                                  "log is the service's audit trail).")


def state_dir() -> Path:
    return environment.state_dir()


def log_url() -> str:
    """``$CHURN_PREDICTION_LOG_URL``, else a SQLite file in the state folder."""
    url = os.environ.get(LOG_URL_ENV)
    if url:
        return url
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'prediction_log.db'}"


@dataclass(frozen=True)
class ServiceEnvironment:
    tracking_uri: str
    log_url: str
    spool_path: Path  # rows the log database did not take yet (JSON lines, replayed)
    api_key: str | None  # None: every write (POST /outcomes) is refused

    @classmethod
    def from_environment(cls) -> ServiceEnvironment:
        tracking = environment.tracking_uri()
        spool = state_dir() / "prediction_log.spool.jsonl"
        return cls(tracking, log_url(), spool, os.environ.get(API_KEY_ENV) or None)
