"""The environment variables the package reads, each read here and nowhere else (the
deployment switch, ``defs/deployment.py``, reads the deployment's own: executor, Dask,
Optuna storage, schedule). One function per setting, called when the value is needed and
never at import, so a process or a test that sets a variable first sees it; the rest of the
package takes the values as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

DEPLOYMENT_ENV = "CHURN_DEPLOYMENT"  # local | prod
STATE_DIR_ENV = "CHURN_STATE_DIR"
STORAGE_URI_ENV = "CHURN_STORAGE_URI"
DATASET_CONFIG_ENV = "CHURN_DATASET_CONFIG"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
WEBHOOK_ENV = "CHURN_ALERT_WEBHOOK"
FRESHNESS_DAYS_ENV = "CHURN_FRESHNESS_DAYS"
FRESHNESS_INTERVAL_ENV = "CHURN_FRESHNESS_INTERVAL_SECONDS"
RETRY_MAX_RETRIES_ENV = "CHURN_RETRY_MAX_RETRIES"
RETRY_DELAY_ENV = "CHURN_RETRY_DELAY_SECONDS"
S3_ENDPOINT_ENV = "AWS_ENDPOINT_URL_S3"  # boto3's own variable

DEFAULT_MAX_AGE_DAYS = 8.0
DEFAULT_FRESHNESS_INTERVAL_SECONDS = 86400
DEFAULT_MAX_RETRIES = 3
PROD_RETRY_DELAY_SECONDS = 300.0
LOCAL_RETRY_DELAY_SECONDS = 2.0


def _read(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def deployment_name(environ: Mapping[str, str] | None = None) -> str:
    return _read(environ).get(DEPLOYMENT_ENV, "local")


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Local state (journal of studies, SQLite stores, logs): $CHURN_STATE_DIR, else
    .churn_storage/ in the repository."""
    return Path(_read(environ).get(STATE_DIR_ENV, PROJECT_ROOT / ".churn_storage"))


def storage_uri(environ: Mapping[str, str] | None = None) -> str:
    """Where intermediate tables go: $CHURN_STORAGE_URI (a folder or s3:// prefix), else
    the state folder's assets/."""
    return _read(environ).get(STORAGE_URI_ENV) or str(state_dir(environ) / "assets")


def default_tracking_uri() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'mlruns' / 'mlflow.db'}"


def tracking_uri(environ: Mapping[str, str] | None = None) -> str:
    """$MLFLOW_TRACKING_URI, else a SQLite store under ./mlruns."""
    return _read(environ).get(TRACKING_URI_ENV) or default_tracking_uri()


def dataset_config_path(environ: Mapping[str, str] | None = None) -> str | None:
    """$CHURN_DATASET_CONFIG (None: the bundled dataset.yaml)."""
    return _read(environ).get(DATASET_CONFIG_ENV) or None


def alert_webhook(environ: Mapping[str, str] | None = None) -> str:
    """$CHURN_ALERT_WEBHOOK ('' when unset). It often carries a token: never log it."""
    return _read(environ).get(WEBHOOK_ENV, "").strip()


def freshness_max_age_days(environ: Mapping[str, str] | None = None) -> float:
    return float(_read(environ).get(FRESHNESS_DAYS_ENV, DEFAULT_MAX_AGE_DAYS))


def freshness_interval_seconds(environ: Mapping[str, str] | None = None) -> int:
    return int(_read(environ).get(FRESHNESS_INTERVAL_ENV, DEFAULT_FRESHNESS_INTERVAL_SECONDS))


def retry_settings(environ: Mapping[str, str] | None = None) -> tuple[int, float]:
    """(retries, first delay in seconds): 300 s in production, 2 s locally, where a developer
    waits for the answer."""
    env = _read(environ)
    default_delay = (PROD_RETRY_DELAY_SECONDS if deployment_name(env) == "prod"
                     else LOCAL_RETRY_DELAY_SECONDS)
    return (int(env.get(RETRY_MAX_RETRIES_ENV, str(DEFAULT_MAX_RETRIES))),
            float(env.get(RETRY_DELAY_ENV, default_delay)))


def s3_endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The S3 endpoint boto3 itself would use ($AWS_ENDPOINT_URL_S3), for fsspec."""
    return _read(environ).get(S3_ENDPOINT_ENV)
