"""Real services for tests and benchmarks, each on a free port of 127.0.0.1, stopped on exit."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# MLflow >= 3.5's server starts a job runner and seven huey consumers by default (GenAI
# evaluation jobs, trace roll-ups; this project uses none): measured per start, 10 processes,
# 26 s of CPU and 1.85 GB against 2 processes, 8 s and 0.5 GB with job execution off.
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real `mlflow server` on a free port of 127.0.0.1, SQLite-backed; stopped on exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1",
    ]
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                              env=os.environ | MLFLOW_SERVER_ENV)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError as error:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = (tmp_path / "server.log").read_text()
                    raise RuntimeError(f"mlflow server did not start: {output}") from error
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


START_SECONDS = 300  # an upper bound for `mlflow server` to answer on a busy machine


class MlflowServer:
    """`mlflow server` on a free port of 127.0.0.1 that can be killed and started again at the
    same URI (fault tests: a tracking server outage)."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1",
                   "--backend-store-uri", f"sqlite:///{self.folder / 'server.db'}",
                   "--artifacts-destination", str(self.folder / "artifacts")]
        log = (self.folder / "server.log").open("a")
        # Its own process group: killing the group leaves no worker serving the port.
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                        env=os.environ | MLFLOW_SERVER_ENV,
                                        start_new_session=True)
        # A deadline, not a count of tries: on a loaded machine each refused try returns at
        # once and the server's imports alone can take a minute and more.
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=2)
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.5)
        raise RuntimeError((self.folder / "server.log").read_text()[-2000:])

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
               if (p / "initdb").exists()), None) if Path("/usr/lib/postgresql").exists() else None


def as_postgres_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; drop to the packaged 'postgres' user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def postgres_unavailable() -> str | None:
    """Why no PostgreSQL server can be started here, or None."""
    if PG_BIN is None:
        return "PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop privileges for postgres"
    return None


@contextmanager
def running_postgres(password: str | None = None) -> Iterator[int]:
    """A throw-away PostgreSQL cluster on a free port of 127.0.0.1 (user `dagster`, trust auth,
    or password auth when ``password`` is given); raises RuntimeError where
    ``postgres_unavailable()`` says why it cannot."""
    reason = postgres_unavailable()
    if reason:
        raise RuntimeError(reason)
    data = Path(tempfile.mkdtemp(prefix="churn-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, user="postgres")
    port = free_port()
    auth = ["--auth=trust"]
    password_file = data.parent / f"{data.name}.pw"
    if password is not None:
        password_file.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, user="postgres")
        auth = ["--auth=scram-sha-256", f"--pwfile={password_file}"]
    subprocess.run(as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "dagster",
                                     *auth, "-E", "UTF8"]),
                   check=True, capture_output=True)
    options = f"-p {port} -h 127.0.0.1 -k {data}"
    subprocess.run(as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                                     "-w", "-l", str(data / "server.log"), "start"]),
                   check=True, capture_output=True)
    try:
        yield port
    finally:
        subprocess.run(as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                         "-w", "stop"]), capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
        password_file.unlink(missing_ok=True)


def create_database(port: int) -> str:
    """A new, empty database on the server at ``port``: tests share one server (a session
    fixture) and each gets its own database."""
    import uuid

    import psycopg2

    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = psycopg2.connect(host="127.0.0.1", port=port, user="dagster", dbname="postgres")
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return name
