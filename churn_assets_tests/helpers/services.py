"""Real services for tests, each on a free port of 127.0.0.1 and stopped on exit."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


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
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
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


PG_BIN = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
               if (p / "initdb").exists()), None) if Path("/usr/lib/postgresql").exists() else None


def as_postgres_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; drop to the packaged 'postgres' user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def running_postgres(password: str | None = None) -> Iterator[int]:
    """A throw-away PostgreSQL cluster on a free port of 127.0.0.1 (user `dagster`, trust auth,
    or password auth when ``password`` is given); skips the calling test where the server
    binaries are not installed."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser to drop privileges for postgres")
    data = Path(tempfile.mkdtemp(prefix="churn-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, user="postgres")
    port = free_port()
    auth = ["--auth=trust"]
    if password is not None:
        password_file = data.parent / f"{data.name}.pw"
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
        if password is not None:
            password_file.unlink(missing_ok=True)
