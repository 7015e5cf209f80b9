"""One switch between the embedded local setup and production, read when definitions load.

``CHURN_DEPLOYMENT=local`` (default): SQLite, local folders, one process.
``CHURN_DEPLOYMENT=prod``: every step in its own process; services come from the environment
(secrets only through ``dg.EnvVar``, never copied into config or logs).
``CHURN_DASK_SCHEDULER=tcp://host:8786`` (either deployment): Optuna trials on the Dask
workers, the final fit through xgboost.dask above ``CHURN_DASK_FINAL_FIT_MIN_ROWS`` train rows;
``CHURN_DASK_DATA_PATH=1`` on top: the data assets run as ``dask.dataframe`` partitions on the
workers (``raw_customers`` reads CSV/Parquet in ``CHURN_DASK_BLOCKSIZE`` pieces; typing,
validation, splits, features, scores and drift per partition; ``<asset>.parts/`` Parquet
datasets under ``CHURN_STORAGE_URI`` between steps, which every worker must reach: an
``s3://`` prefix, or a shared folder) and the steps that need rows in one process take
seeded samples of at most ``distributed.local_views.LOCAL_ROWS`` rows per split. Off by
default, also with a scheduler: a cluster set for tuning alone keeps reading Excel and SQL
sources and local storage its workers may not see (those sources fail on the data path
with one line saying so). The Dagster steps themselves stay Dagster processes: dagster-dask
0.29.27's executor hands the DagsterRun to ``client.submit``, which dask >= 2024.12 iterates
and a run with op concurrency pools (ours) refuses.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dagster as dg

from churn_assets.defs.resources.alerting import Alerting
from churn_assets.defs.resources.dask_cluster import (
    DEFAULT_FINAL_FIT_MIN_ROWS,
    DaskCluster,
)
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import ChurnIOManagerFactory
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.optuna_storage import OptunaStorage
from churn_assets.defs.resources.s3 import LazyS3Resource
from churn_assets.defs.resources.scores_database import ScoresDatabase
from churn_assets.defs.resources.serving_stores import ServingStores
from churn_assets.distributed.local_views import BLOCKSIZE
from churn_assets.environment import (
    LOG_URL_ENV,
    OPTUNA_STORAGE_ENV,
    SCORES_DB_ENV,
    STORAGE_URI_ENV,
    STORE_URL_ENV,
    TRACKING_URI_ENV,
    WEBHOOK_ENV,
    Settings,
)

# What every step process imports before its first line of work, loaded once per run by
# the forkserver the steps are forked from (Dagster's `start_method: forkserver`): spawned
# fresh, each step paid about 8 CPU s for these imports before doing anything. The steps
# still run in processes of their own; the server has only imported modules (no threads,
# no connections, nothing read), so each child starts from the same clean state. Loading the
# definitions imports none of the step libraries (a code server or sensor never uses them):
# they are named here, down to the submodules the steps import inside their functions.
STEP_PRELOAD = ("churn_assets.definitions", "pandas", "pyarrow.parquet", "scipy.stats",
                "scipy.spatial.distance", "sklearn.metrics", "sklearn.model_selection",
                "sklearn.calibration", "sklearn.isotonic", "sklearn.linear_model",
                "sklearn.tree", "xgboost", "optuna", "mlflow.pyfunc", "matplotlib.figure",
                "churn_assets.model.served_model", "great_expectations")


def executor(settings: Settings) -> dg.ExecutorDefinition:
    # Locally one process pays the heavy imports (mlflow, xgboost, GX) once and SQLite sees
    # a single writer; in production each step gets its own process on Postgres, unless
    # CHURN_EXECUTOR says otherwise (the container stack: one process per run container).
    kind = settings.executor or ("multiprocess" if settings.deployment == "prod"
                                 else "in_process")
    if kind == "docker":
        return step_containers_executor(settings)
    if kind == "multiprocess":
        return dg.multiprocess_executor.configured(
            {"max_concurrent": settings.max_concurrent_steps,
             "start_method": {"forkserver": {"preload_modules": list(STEP_PRELOAD)}}})
    return dg.in_process_executor


def _secret(value: str, name: str) -> dict[str, object]:
    # Set: Dagster reads it from the environment itself and shows only the variable's name.
    return {"value": dg.EnvVar(name)} if value else {}


def _location(value: str, name: str) -> str:
    """A URI as resource config, unless it carries a password (e.g. a database-backed MLflow
    store): then only the variable's name, as for the secrets."""
    return dg.EnvVar(name) if urlsplit(value).password else value


def resources(settings: Settings) -> dict[str, object]:
    """Every resource, its values from ``settings`` (secrets as ``dg.EnvVar``)."""
    dask = DaskCluster(scheduler_address=settings.dask_scheduler,
                       final_fit_min_rows=(DEFAULT_FINAL_FIT_MIN_ROWS
                                           if settings.dask_final_fit_min_rows is None
                                           else settings.dask_final_fit_min_rows),
                       data_path=settings.dask_data_path,
                       blocksize=settings.dask_blocksize or BLOCKSIZE)
    optuna_url = _secret(settings.optuna_storage_url, OPTUNA_STORAGE_ENV)
    scores_url = _secret(settings.scores_db_url, SCORES_DB_ENV)
    webhook = _secret(settings.alert_webhook, WEBHOOK_ENV)
    log_url = _secret(settings.prediction_log_url, LOG_URL_ENV)
    store_url = _secret(settings.online_store_url, STORE_URL_ENV)
    return {
        "dataset": DatasetResource(config_path=settings.dataset_config),
        "dask_cluster": dask,  # the data assets' switch; the same client as the trials'
        "mlflow_tracking": MlflowTracking(
            tracking_uri=_location(settings.tracking_uri, TRACKING_URI_ENV)),
        "optuna_storage": OptunaStorage(
            url=optuna_url.get("value", OptunaStorage.journal_url(settings.state_dir)),
            dask_cluster=dask),
        # boto3 reads AWS_ENDPOINT_URL_S3 / AWS_* credentials from the environment itself.
        "s3": LazyS3Resource(),
        "io_manager": ChurnIOManagerFactory(
            base_path=_location(settings.storage_uri, STORAGE_URI_ENV)),
        "scores_database": ScoresDatabase(table=settings.scores_table, **(
            {"url": scores_url["value"]} if scores_url else {})),
        "alerting": Alerting(max_age_days=settings.freshness_max_age_days,
                             **({"webhook_url": webhook["value"]} if webhook else {})),
        "serving_stores": ServingStores(
            prediction_log_url=log_url.get("value", settings.default_log_url()),
            online_store_url=store_url.get("value", settings.default_store_url()),
            storage_uri=_location(settings.storage_uri, STORAGE_URI_ENV),
            min_new_log_rows=settings.log_sensor_min_rows),
    }


def step_containers_executor(settings: Settings) -> dg.ExecutorDefinition:
    """Every step a container of the run's image (dagster-docker's docker_executor), limited to
    CHURN_STEP_MEMORY and CHURN_STEP_CPUS; the steps exchange data through the IO manager, so
    CHURN_STORAGE_URI must be storage every container reaches (s3://). The run container needs
    the Docker socket (docs/deploy.md)."""
    from dagster_docker import docker_executor  # the [deploy] extra, only when asked for

    limits: dict[str, object] = {}
    if settings.step_memory:
        limits["mem_limit"] = settings.step_memory
    if settings.step_cpus:
        limits["nano_cpus"] = int(settings.step_cpus * 1e9)
    return docker_executor.configured({"max_concurrent": settings.max_concurrent_steps,
                                       "container_kwargs": limits})
