"""Real services live in ``churn_dev`` (the benchmarks use them too); here a
PostgreSQL server that cannot start skips the calling test instead of failing it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from churn_dev import services
from churn_dev.services import (
    PG_BIN,
    MlflowServer,
    as_postgres_user,
    create_database,
    free_port,
    running_mlflow_server,
)

__all__ = ["PG_BIN", "MlflowServer", "as_postgres_user", "create_database", "free_port",
           "running_mlflow_server", "running_postgres"]


@contextmanager
def running_postgres(password: str | None = None) -> Iterator[int]:
    reason = services.postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with services.running_postgres(password) as port:
        yield port
