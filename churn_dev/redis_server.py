"""A throw-away Redis (Debian's ``redis-server``) on a free port of 127.0.0.1, no persistence
(``--save ''``), stopped by pid on exit."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from churn_dev.services import free_port


def redis_unavailable() -> str | None:
    return None if shutil.which("redis-server") else "redis-server is not installed"


@contextmanager
def running_redis(password: str | None = None) -> Iterator[str]:
    """Yields ``redis://127.0.0.1:PORT/0`` (``redis://:PASSWORD@…`` with a password; the
    password goes to the server in its config file, not on its command line)."""
    reason = redis_unavailable()
    if reason:
        raise RuntimeError(reason)
    port, folder = free_port(), tempfile.mkdtemp(prefix="churn-redis-")
    config = Path(folder) / "redis.conf"
    config.write_text(f"requirepass {password}\n" if password else "")
    server = subprocess.Popen(
        ["redis-server", str(config), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.1)
        auth = f":{quote(password, safe='')}@" if password else ""
        yield f"redis://{auth}127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
