"""Every setting the deployment takes from the environment, read in one place:
``Settings.from_environ(os.environ)``, called by the entry points (the Dagster definitions,
the command line, the scoring service) when they start, never at import. Everything else
receives a ``Settings`` or the values themselves as arguments, so a test builds its own.

Secrets (the Optuna and scores database URLs, the alert webhook, the service's log and store
URLs and API key) are kept out of ``repr``; the Dagster resources read them through
``dg.EnvVar`` and never copy them into config (``Settings`` says only whether they are set).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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
OPTUNA_STORAGE_ENV = "CHURN_OPTUNA_STORAGE"  # e.g. postgresql://user:password@host/optuna
DASK_SCHEDULER_ENV = "CHURN_DASK_SCHEDULER"  # e.g. tcp://127.0.0.1:8786
DASK_FINAL_FIT_MIN_ROWS_ENV = "CHURN_DASK_FINAL_FIT_MIN_ROWS"
DASK_DATA_PATH_ENV = "CHURN_DASK_DATA_PATH"  # "1": the data assets as partitions
DASK_BLOCKSIZE_ENV = "CHURN_DASK_BLOCKSIZE"  # CSV bytes per partition, e.g. 64MB
SCORES_DB_ENV = "CHURN_SCORES_DB_URL"  # e.g. postgresql://crm:password@host/crm (a secret)
SCORES_TABLE_ENV = "CHURN_SCORES_TABLE"  # 'table' or 'schema.table', default churn_scores
EXECUTOR_ENV = "CHURN_EXECUTOR"  # in_process | multiprocess | docker (default: by deployment)
EXECUTORS = ("in_process", "multiprocess", "docker")
STEP_MEMORY_ENV = "CHURN_STEP_MEMORY"  # docker executor: each step container's limit, e.g. 2g
STEP_CPUS_ENV = "CHURN_STEP_CPUS"  # docker executor: CPUs per step container, e.g. 1.5
MAX_CONCURRENT_STEPS_ENV = "CHURN_MAX_CONCURRENT_STEPS"
RETRAIN_CRON_ENV = "CHURN_RETRAIN_CRON"
RETRAIN_TIMEZONE_ENV = "CHURN_RETRAIN_TIMEZONE"
LOG_URL_ENV = "CHURN_PREDICTION_LOG_URL"
STORE_URL_ENV = "CHURN_ONLINE_STORE_URL"
API_KEY_ENV = "CHURN_SERVING_API_KEY"
LOG_SENSOR_MIN_ROWS_ENV = "CHURN_LOG_SENSOR_MIN_ROWS"

DEFAULT_MAX_AGE_DAYS = 8.0
DEFAULT_FRESHNESS_INTERVAL_SECONDS = 86400
DEFAULT_MAX_RETRIES = 3
PROD_RETRY_DELAY_SECONDS = 300.0
LOCAL_RETRY_DELAY_SECONDS = 2.0
DEFAULT_LOG_SENSOR_MIN_ROWS = 1000


def default_tracking_uri() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'mlruns' / 'mlflow.db'}"


def _secret() -> str:
    return field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    """One deployment's settings. Empty strings and ``None`` mean "the documented default"
    (resolved where the value is used, e.g. the Dask block size by the Dask resource)."""

    deployment: str = "local"
    state_dir: Path = PROJECT_ROOT / ".churn_storage"  # journal of studies, SQLite stores, logs
    storage_uri: str = ""  # intermediate tables: a folder or s3:// prefix; "" = state_dir/assets
    tracking_uri: str = ""  # "" = a SQLite store under ./mlruns
    dataset_config: str = ""  # the dataset YAML; "" = the bundled dataset.yaml
    max_concurrent_steps: int = 4
    retrain_cron: str = ""
    retrain_timezone: str = ""
    executor: str = ""  # one of EXECUTORS; "" = by deployment
    step_memory: str = ""
    step_cpus: float | None = None
    dask_scheduler: str = ""
    dask_final_fit_min_rows: int | None = None
    dask_data_path: bool = False
    dask_blocksize: str = ""
    scores_table: str = "churn_scores"
    freshness_max_age_days: float = DEFAULT_MAX_AGE_DAYS
    freshness_interval_seconds: int = DEFAULT_FRESHNESS_INTERVAL_SECONDS
    retry_max_retries: int = DEFAULT_MAX_RETRIES
    retry_delay_seconds: float | None = None  # None: 300 s in production, 2 s locally
    log_sensor_min_rows: int = DEFAULT_LOG_SENSOR_MIN_ROWS
    optuna_storage_url: str = _secret()
    scores_db_url: str = _secret()
    alert_webhook: str = _secret()
    prediction_log_url: str = _secret()
    online_store_url: str = _secret()
    serving_api_key: str = _secret()

    def __post_init__(self) -> None:
        if self.deployment not in ("local", "prod"):
            raise ValueError(f"{DEPLOYMENT_ENV} must be 'local' or 'prod', "
                             f"got '{self.deployment}'")
        if self.executor and self.executor not in EXECUTORS:
            raise ValueError(f"{EXECUTOR_ENV} must be one of {', '.join(EXECUTORS)}, "
                             f"got '{self.executor}'")
        # Derived defaults, so every reader sees the value in use.
        object.__setattr__(self, "state_dir", Path(self.state_dir))
        if not self.storage_uri:
            object.__setattr__(self, "storage_uri", str(self.state_dir / "assets"))
        if not self.tracking_uri:
            object.__setattr__(self, "tracking_uri", default_tracking_uri())
        if self.retry_delay_seconds is None:
            object.__setattr__(self, "retry_delay_seconds",
                               PROD_RETRY_DELAY_SECONDS if self.deployment == "prod"
                               else LOCAL_RETRY_DELAY_SECONDS)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """The settings ``environ`` (usually ``os.environ``) describes; unset means default."""
        env = environ

        def number(name: str, kind: type, default: object) -> object:
            text = env.get(name, "").strip()
            try:
                return kind(text) if text else default
            except ValueError:
                raise ValueError(f"{name} must be a number, got '{text}'") from None

        return cls(
            deployment=env.get(DEPLOYMENT_ENV, "local"),
            state_dir=Path(env.get(STATE_DIR_ENV) or PROJECT_ROOT / ".churn_storage"),
            storage_uri=env.get(STORAGE_URI_ENV, ""),
            tracking_uri=env.get(TRACKING_URI_ENV, ""),
            dataset_config=env.get(DATASET_CONFIG_ENV, ""),
            max_concurrent_steps=number(MAX_CONCURRENT_STEPS_ENV, int, 4),
            retrain_cron=env.get(RETRAIN_CRON_ENV, ""),
            retrain_timezone=env.get(RETRAIN_TIMEZONE_ENV, ""),
            executor=env.get(EXECUTOR_ENV, ""),
            step_memory=env.get(STEP_MEMORY_ENV, ""),
            step_cpus=number(STEP_CPUS_ENV, float, None),
            dask_scheduler=env.get(DASK_SCHEDULER_ENV, ""),
            dask_final_fit_min_rows=number(DASK_FINAL_FIT_MIN_ROWS_ENV, int, None),
            dask_data_path=env.get(DASK_DATA_PATH_ENV, "") == "1",
            dask_blocksize=env.get(DASK_BLOCKSIZE_ENV, ""),
            scores_table=env.get(SCORES_TABLE_ENV) or "churn_scores",
            freshness_max_age_days=number(FRESHNESS_DAYS_ENV, float, DEFAULT_MAX_AGE_DAYS),
            freshness_interval_seconds=number(FRESHNESS_INTERVAL_ENV, int,
                                              DEFAULT_FRESHNESS_INTERVAL_SECONDS),
            retry_max_retries=number(RETRY_MAX_RETRIES_ENV, int, DEFAULT_MAX_RETRIES),
            retry_delay_seconds=number(RETRY_DELAY_ENV, float, None),
            log_sensor_min_rows=number(LOG_SENSOR_MIN_ROWS_ENV, int,
                                       DEFAULT_LOG_SENSOR_MIN_ROWS),
            optuna_storage_url=env.get(OPTUNA_STORAGE_ENV, ""),
            scores_db_url=env.get(SCORES_DB_ENV, ""),
            alert_webhook=env.get(WEBHOOK_ENV, "").strip(),
            prediction_log_url=env.get(LOG_URL_ENV, ""),
            online_store_url=env.get(STORE_URL_ENV, ""),
            serving_api_key=env.get(API_KEY_ENV, ""),
        )

    def default_log_url(self) -> str:
        """The prediction log when $CHURN_PREDICTION_LOG_URL is unset: SQLite in the state
        folder."""
        return f"sqlite:///{self.state_dir / 'prediction_log.db'}"

    def default_store_url(self) -> str:
        """The online store when $CHURN_ONLINE_STORE_URL is unset: Feast's SQLite store in the
        state folder."""
        return str(self.state_dir / "feature_repo" / "online_store.db")


def current() -> Settings:
    """This process's settings, for the entry points (CLI, scoring service) as they start."""
    return Settings.from_environ(os.environ)


def s3_endpoint() -> str | None:
    """The S3 endpoint boto3 itself would use ($AWS_ENDPOINT_URL_S3), for fsspec: read where
    the table is opened, which may be a Dask worker with an environment of its own."""
    return os.environ.get(S3_ENDPOINT_ENV)


def variable(name: str) -> str | None:
    """A variable a value names itself (``${VAR}`` in a SQL URL): credentials, by design read
    when the connection opens."""
    return os.environ.get(name)


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment with ``overrides``, for a child process."""
    return dict(os.environ) | overrides
