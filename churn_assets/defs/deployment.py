"""One switch between the embedded local setup and production: $CHURN_DEPLOYMENT."""

from __future__ import annotations

import os

import dagster as dg


def deployment() -> str:
    value = os.environ.get("CHURN_DEPLOYMENT", "local")
    if value not in ("local", "prod"):
        raise ValueError(f"CHURN_DEPLOYMENT must be 'local' or 'prod', got '{value}'")
    return value


def executor_for_deployment() -> dg.ExecutorDefinition:
    # Locally one process pays the heavy imports (mlflow, xgboost, GX) once and SQLite sees a
    # single writer; in production each step gets its own process on a Postgres instance.
    if deployment() == "prod":
        return dg.multiprocess_executor.configured(
            {"max_concurrent": int(os.environ.get("CHURN_MAX_CONCURRENT_STEPS", "4"))}
        )
    return dg.in_process_executor
