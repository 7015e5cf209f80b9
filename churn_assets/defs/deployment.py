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

import os
from dataclasses import dataclass

import dagster as dg
from dagster_aws.s3 import S3Resource

from churn_assets.defs.resources.dask_cluster import (
    DEFAULT_FINAL_FIT_MIN_ROWS,
    DaskCluster,
)
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import ChurnIOManagerFactory
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.optuna_storage import OptunaStorage
from churn_assets.defs.resources.scores_database import ScoresDatabase
from churn_assets.defs.schedules import DEFAULT_CRON, DEFAULT_TIMEZONE
from churn_assets.distributed.local_views import BLOCKSIZE
from churn_assets.environment import deployment_name

OPTUNA_STORAGE_ENV = "CHURN_OPTUNA_STORAGE"  # e.g. postgresql://user:password@host/optuna
DASK_SCHEDULER_ENV = "CHURN_DASK_SCHEDULER"  # e.g. tcp://127.0.0.1:8786
DASK_FINAL_FIT_MIN_ROWS_ENV = "CHURN_DASK_FINAL_FIT_MIN_ROWS"
DASK_DATA_PATH_ENV = "CHURN_DASK_DATA_PATH"  # "1": the data assets as partitions (see above)
DASK_BLOCKSIZE_ENV = "CHURN_DASK_BLOCKSIZE"  # CSV bytes per partition, e.g. 64MB
SCORES_DB_ENV = "CHURN_SCORES_DB_URL"  # e.g. postgresql://crm:password@host/crm (a secret)
SCORES_TABLE_ENV = "CHURN_SCORES_TABLE"  # 'table' or 'schema.table', default churn_scores
EXECUTOR_ENV = "CHURN_EXECUTOR"  # in_process | multiprocess | docker (default: by deployment)
EXECUTORS = ("in_process", "multiprocess", "docker")
STEP_MEMORY_ENV = "CHURN_STEP_MEMORY"  # docker executor: each step container's limit, e.g. 2g
STEP_CPUS_ENV = "CHURN_STEP_CPUS"  # docker executor: CPUs per step container, e.g. 1.5


@dataclass(frozen=True)
class Deployment:
    name: str = "local"
    max_concurrent_steps: int = 4
    retrain_cron: str = DEFAULT_CRON
    retrain_timezone: str = DEFAULT_TIMEZONE
    shared_optuna_storage: bool = False
    dask_scheduler: str = ""
    dask_final_fit_min_rows: int = DEFAULT_FINAL_FIT_MIN_ROWS
    dask_data_path: bool = False
    dask_blocksize: str = BLOCKSIZE
    scores_database: bool = False
    scores_table: str = "churn_scores"
    executor_kind: str = ""

    @classmethod
    def from_environment(cls) -> Deployment:
        name = deployment_name()
        if name not in ("local", "prod"):
            raise ValueError(f"CHURN_DEPLOYMENT must be 'local' or 'prod', got '{name}'")
        return cls(
            name=name,
            max_concurrent_steps=int(os.environ.get("CHURN_MAX_CONCURRENT_STEPS", "4")),
            retrain_cron=os.environ.get("CHURN_RETRAIN_CRON", DEFAULT_CRON),
            retrain_timezone=os.environ.get("CHURN_RETRAIN_TIMEZONE", DEFAULT_TIMEZONE),
            shared_optuna_storage=bool(os.environ.get(OPTUNA_STORAGE_ENV)),
            dask_scheduler=os.environ.get(DASK_SCHEDULER_ENV, ""),
            dask_final_fit_min_rows=int(os.environ.get(DASK_FINAL_FIT_MIN_ROWS_ENV,
                                                       str(DEFAULT_FINAL_FIT_MIN_ROWS))),
            dask_data_path=os.environ.get(DASK_DATA_PATH_ENV, "") == "1",
            dask_blocksize=os.environ.get(DASK_BLOCKSIZE_ENV) or BLOCKSIZE,
            scores_database=bool(os.environ.get(SCORES_DB_ENV)),
            scores_table=os.environ.get(SCORES_TABLE_ENV) or "churn_scores",
            executor_kind=executor_kind(),
        )

    def executor(self) -> dg.ExecutorDefinition:
        # Locally one process pays the heavy imports (mlflow, xgboost, GX) once and SQLite sees
        # a single writer; in production each step gets its own process on Postgres, unless
        # CHURN_EXECUTOR says otherwise (the container stack: one process per run container).
        kind = self.executor_kind or ("multiprocess" if self.name == "prod" else "in_process")
        if kind == "docker":
            return step_containers_executor(self.max_concurrent_steps)
        if kind == "multiprocess":
            return dg.multiprocess_executor.configured(
                {"max_concurrent": self.max_concurrent_steps})
        return dg.in_process_executor

    def resources(self) -> dict[str, object]:
        dask = DaskCluster(scheduler_address=self.dask_scheduler,
                           final_fit_min_rows=self.dask_final_fit_min_rows,
                           data_path=self.dask_data_path, blocksize=self.dask_blocksize)
        optuna = (OptunaStorage(url=dg.EnvVar(OPTUNA_STORAGE_ENV), dask_cluster=dask)
                  if self.shared_optuna_storage else OptunaStorage(dask_cluster=dask))
        return {
            "dataset": DatasetResource(),
            "dask_cluster": dask,  # the data assets' switch; the same client as the trials'
            "mlflow_tracking": MlflowTracking(),
            "optuna_storage": optuna,
            # boto3 reads AWS_ENDPOINT_URL_S3 / AWS_* credentials from the environment itself.
            "s3": S3Resource(),
            "io_manager": ChurnIOManagerFactory(),
            "scores_database": ScoresDatabase(url=dg.EnvVar(SCORES_DB_ENV),
                                              table=self.scores_table)
            if self.scores_database else ScoresDatabase(table=self.scores_table),
        }


def executor_kind() -> str:
    kind = os.environ.get(EXECUTOR_ENV, "")
    if kind and kind not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV} must be one of {', '.join(EXECUTORS)}, got '{kind}'")
    return kind


def step_containers_executor(max_concurrent: int) -> dg.ExecutorDefinition:
    """Every step a container of the run's image (dagster-docker's docker_executor), limited to
    CHURN_STEP_MEMORY and CHURN_STEP_CPUS; the steps exchange data through the IO manager, so
    CHURN_STORAGE_URI must be storage every container reaches (s3://). The run container needs
    the Docker socket (docs/deploy.md)."""
    from dagster_docker import docker_executor  # the [deploy] extra, only when asked for

    limits: dict[str, object] = {}
    if os.environ.get(STEP_MEMORY_ENV):
        limits["mem_limit"] = os.environ[STEP_MEMORY_ENV]
    if os.environ.get(STEP_CPUS_ENV):
        limits["nano_cpus"] = int(float(os.environ[STEP_CPUS_ENV]) * 1e9)
    return docker_executor.configured({"max_concurrent": max_concurrent,
                                       "container_kwargs": limits})
