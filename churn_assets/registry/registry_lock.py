"""One registry writer at a time per registered model.

Two promotions finishing together would both compare against the same champion and both
move the alias; the second silently displaces the first without recording it. An exclusive
file lock (``filelock``) serialises writers on one machine (threads and processes alike).
Across machines (a remote MLflow server) the Dagster ``pool`` on the asset serialises runs, and the
promotion re-reads the champion after deciding (``model_registry``) as a last guard.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock, Timeout


def lock_path(tracking_uri: str, model_name: str, lock_dir: Path | None = None) -> Path:
    """Next to a local SQLite/file store (so every process using the store finds it);
    otherwise in the temp folder, keyed by store and model."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)
    if lock_dir is None:
        parsed = urlparse(tracking_uri)
        if parsed.scheme == "sqlite" and tracking_uri.startswith("sqlite:///"):
            lock_dir = Path(tracking_uri.removeprefix("sqlite:///")).parent
        elif parsed.scheme in ("", "file"):
            lock_dir = Path(parsed.path or tracking_uri)
        else:
            key = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
            lock_dir = Path(tempfile.gettempdir()) / f"churn-registry-{key}"
    return Path(lock_dir) / f".registry-{safe}.lock"


@contextmanager
def registry_lock(
    tracking_uri: str, model_name: str, lock_dir: Path | None = None,
    timeout_seconds: float = 900.0,
) -> Iterator[Path]:
    """Hold the model's registry lock; TimeoutError names the lock file if it never frees."""
    path = lock_path(tracking_uri, model_name, lock_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh FileLock per call: filelock's locks are re-entrant per object, and two callers
    # in one process must exclude each other like two processes do.
    lock = FileLock(path, timeout=timeout_seconds, poll_interval=0.05)
    try:
        lock.acquire()
    except Timeout:
        raise TimeoutError(f"registry lock {path} still held after "
                           f"{timeout_seconds:g}s") from None
    try:
        yield path
    finally:
        lock.release()
