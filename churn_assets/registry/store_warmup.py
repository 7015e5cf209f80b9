"""Create a new local MLflow store (SQLite) in a child process while the run's first steps work.

A new SQLite store runs all of MLflow's schema migrations: on a shared disk 5.3 s of wall
time for 1.3 CPU s (mostly commits waiting for the disk), paid by the first step that
tracks, in the middle of the run. Started when the run's resources are set up, a child
process does it beside ingestion and validation instead.

The child builds the store under a temporary name and hard-links it into place only when
complete: ``os.link`` fails when the store already exists, so a process that could not wait
(another step process) creates it itself and the child's copy is dropped; nothing ever sees
a half-migrated store. The parent waits for its child before its first use of the store.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WAIT_SECONDS = 120.0  # then the parent stops waiting, stops the child, and migrates itself

# Runs in the child: the same client call a step would make, against the temporary file.
_CHILD = """
import os, sys
from pathlib import Path
final = Path(sys.argv[1])
building = final.with_name(f".{final.name}.{os.getpid()}.building")
try:
    import mlflow
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{building}").search_experiments(max_results=1)
    try:
        os.link(building, final)
    except FileExistsError:  # someone created the store meanwhile: theirs stands
        pass
finally:
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink()
"""

_WARMING: dict[str, subprocess.Popen] = {}  # tracking URI -> this process's child


def new_sqlite_store(uri: str) -> Path | None:
    """The store's file when ``uri`` is a local SQLite store that does not exist yet."""
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri.removeprefix("sqlite:///"))
    return None if path.exists() else path


def _being_built(path: Path) -> bool:
    """True when some process's child is already building this store (step processes of
    one run each set up their resources: one child is enough)."""
    return path.parent.is_dir() and any(path.parent.glob(f".{path.name}.*.building"))


def start_store_warmup(uri: str) -> bool:
    """Start creating the store of ``uri`` in a child process, when it is a new SQLite file
    (and no child of this process is already at it). True when a child was started."""
    path = new_sqlite_store(uri)
    if path is None or uri in _WARMING or _being_built(path):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # The child's output is MLflow's migration log, which the parent would have printed;
    # when it fails, the parent creates the store itself and reports any error there.
    _WARMING[uri] = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def await_store_warmup(uri: str, timeout: float = WAIT_SECONDS) -> None:
    """Return once this process's child for ``uri`` (if any) has finished."""
    child = _WARMING.pop(uri, None)
    if child is None:
        return
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:  # its temporary file is never linked: dropped here
        child.kill()
        child.wait()
        path = Path(uri.removeprefix("sqlite:///"))
        for leftover in path.parent.glob(f".{path.name}.{child.pid}.building*"):
            leftover.unlink()
