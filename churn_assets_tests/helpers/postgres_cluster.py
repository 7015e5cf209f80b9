"""A PostgreSQL cluster on a free port of 127.0.0.1 that a test can stop and start again at
the same address (an outage), removed on exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from churn_dev import services
from churn_dev.services import PG_BIN, as_postgres_user, free_port


class PostgresCluster:
    def __init__(self, data: Path, port: int):
        self.data, self.port = data, port

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
                       check=True, capture_output=True)

    def start(self) -> None:
        self._pg_ctl("-o", f"-p {self.port} -h 127.0.0.1 -k {self.data}", "-w",
                     "-l", str(self.data / "server.log"), "start")

    def stop(self, mode: str = "immediate") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://dagster@127.0.0.1:{self.port}/{database}"


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    reason = services.postgres_unavailable()
    if reason:
        pytest.skip(reason)
    data = Path(tempfile.mkdtemp(prefix="churn-pg-outage-"))
    if os.geteuid() == 0:  # initdb refuses root; the packaged 'postgres' user owns the data
        shutil.chown(data, user="postgres")
    subprocess.run(as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "dagster",
                                     "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    cluster = PostgresCluster(data, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        subprocess.run(as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                         "-w", "stop"]), capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
