"""Does a registered model load and answer the serving contract in a fresh Python process?

A fresh process is the only honest check: in the training process the package, its imports
and its caches are already there, so a model that depends on them by accident would pass.
Downstream services load ``models:/<name>/<version>`` with nothing but MLflow; so does this.
Each check's process is a fork of a clean template interpreter that imported only what the
child imports (``check_template``): as fresh as a new interpreter, minus its imports' cost.
It is forked before the model is known (prestarted, or when the check is created) and
connects to the registry as a service starts, while the caller works.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from churn_assets.environment import child_environment
from churn_assets.names import OUTPUT_COLUMNS
from churn_assets.registry import check_template

LATENCY_ROWS = 1_000  # predict's latency is reported per this many raw rows
LATENCY_REPEATS = 20  # timed calls after one warm-up call; the p95 is over these

# Runs in the child. It imports only what a downstream consumer has: mlflow, pandas, numpy.
# Imports first (its template has made them before forking it: the child finds them done),
# then the registry connection, then it waits for its request (one JSON line on stdin).
_CHILD = """
import importlib, json, sys
import numpy as np, pandas as pd, mlflow, mlflow.artifacts, mlflow.pyfunc

for module in sys.argv[1:]:  # the served model's own requirements, when known in advance
    importlib.import_module(module)

# Connect to the registry as a service would at start (a SQLite store verifies its schema:
# a second); the model itself is not known yet.
mlflow.MlflowClient().search_registered_models(max_results=1)
request = sys.stdin.readline()
if not request:  # the parent went away (or never needed this child)
    sys.exit(0)
uri, rows_path, result_path, *rest = json.loads(request)

def record(kind, error, trace):  # native threads may print after the traceback at exit
    with open(result_path + ".error", "w") as f:
        f.write(f"{kind.__name__}: {error}")
    sys.__excepthook__(kind, error, trace)

sys.excepthook = record
latency_rows, repeats, expected = int(rest[0]), int(rest[1]), rest[2:]
# Downloaded first so that its size is the served artifact's, then loaded from there.
local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path="served-model")
model = mlflow.pyfunc.load_model(local)
rows = pd.read_parquet(rows_path) if rows_path else model.input_example
if rows is None:
    raise ValueError("no sample rows were given and the model stores no input example")
out = model.predict(rows)
if not isinstance(out, pd.DataFrame):
    raise TypeError(f"predict returned {type(out).__name__}, not a DataFrame")
columns = [str(c) for c in out.columns]
with open(result_path, "w") as f:
    json.dump({"columns": columns, "rows": len(out)}, f)
if columns != expected:
    raise ValueError(f"predict returned columns {columns}, expected {expected}")
if len(out) != len(rows):
    raise ValueError(f"predict returned {len(out)} rows for {len(rows)} input rows")
p = pd.to_numeric(out[expected[0]], errors="coerce").to_numpy(float)
if not np.all((p >= 0) & (p <= 1)):
    raise ValueError(f"{expected[0]} has values outside [0, 1] or missing")
if not set(pd.unique(out[expected[1]])) <= {0, 1}:
    raise ValueError(f"{expected[1]} has values other than 0 and 1")

import resource, time
from pathlib import Path

def peak_mb():
    # VmHWM: this process's own peak. ru_maxrss also counts the parent's size at fork time
    # (Linux keeps it across exec), so it would report the training process, not the model.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

batch = rows.sample(latency_rows, replace=True, random_state=0).reset_index(drop=True)
model.predict(batch)  # warm-up: first-call costs are not the steady state a service sees
seconds = []
for _ in range(repeats):
    start = time.perf_counter()
    model.predict(batch)
    seconds.append(time.perf_counter() - start)
size = sum(p.stat().st_size for p in Path(local).rglob("*") if p.is_file())
with open(result_path, "w") as f:
    json.dump({"columns": columns, "rows": len(out), "artifact_mb": size / 2**20,
               "p95_ms_per_1000": float(np.percentile(seconds, 95)) * 1000 * 1000 / len(batch),
               "peak_memory_mb": peak_mb()}, f)
"""


@dataclass(frozen=True)
class ServedFigures:
    """What serving the model costs, measured in the check's child process."""

    artifact_mb: float  # the model's files as downloaded from the registry
    p95_ms_per_1000: float  # p95 wall time of predict on LATENCY_ROWS raw rows
    peak_memory_mb: float  # the child's peak resident memory: Python, MLflow, model, predict

    def tags(self) -> dict[str, str]:
        return {f"load_check.{f.name}": f"{getattr(self, f.name):.2f}" for f in fields(self)}


@dataclass(frozen=True)
class ServingLimits:
    """Upper bounds on the figures (YAML ``promotion.max_model_mb`` and so on); None: off."""

    max_model_mb: float | None = None
    max_p95_latency_ms_per_1000: float | None = None
    max_peak_memory_mb: float | None = None

    def breach(self, figures: ServedFigures) -> str | None:
        """The first limit the figures exceed, as one line naming its key; None if none."""
        for key, value, unit in (
                ("max_model_mb", figures.artifact_mb, "MB artifact"),
                ("max_p95_latency_ms_per_1000", figures.p95_ms_per_1000,
                 f"ms p95 predict latency per {LATENCY_ROWS} rows"),
                ("max_peak_memory_mb", figures.peak_memory_mb, "MB peak memory")):
            limit = getattr(self, key)
            if limit is not None and value > limit:
                return f"{value:.2f} {unit} is over promotion.{key} = {limit:g}"
        return None


@dataclass(frozen=True)
class LoadCheck:
    ok: bool
    error: str | None  # the last line of the child's error, e.g. "ValueError: ..."
    columns: tuple[str, ...]  # what predict returned (empty when it never got that far)
    figures: ServedFigures | None = None  # None when the model never answered the contract

    def text(self) -> str:
        return "passed" if self.ok else f"failed: {self.error}"

    def tags(self) -> dict[str, str]:
        """The figures as model-version tags (``load_check.artifact_mb`` ...)."""
        return self.figures.tags() if self.figures else {}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the check process failed without a message"


# pip name -> module, where they differ
_MODULE_OF = {"scikit-learn": "sklearn", "xgboost-cpu": "xgboost"}


@dataclass
class _Prestarted:
    """The next check's child, forked by ``prestart_load_check``; used once."""

    tracking_uri: str
    preload: tuple[str, ...]
    folder: tempfile.TemporaryDirectory
    child: check_template.Forked

    def discard(self) -> None:
        self.child.cancel()
        self.folder.cleanup()


_PRESTARTED: list[_Prestarted] = []  # at most one


def _child_environment(tracking_uri: str) -> dict[str, str]:
    return child_environment(MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_REGISTRY_URI=tracking_uri)


# What the child's connection to a database store imports (SQLAlchemy, Alembic, MLflow's ORM
# models): ~0.8 CPU s a child paid itself; its template imports them once for all its children.
DATABASE_STORE_MODULES = ("mlflow.store.tracking.sqlalchemy_store",
                          "mlflow.store.model_registry.sqlalchemy_store")


def _store_modules(tracking_uri: str) -> tuple[str, ...]:
    from mlflow.store.db.db_types import DATABASE_ENGINES  # the schemes MLflow serves by SQL

    scheme = urlsplit(tracking_uri).scheme.split("+")[0]
    return DATABASE_STORE_MODULES if scheme in DATABASE_ENGINES else ()


def _fork(tracking_uri: str, preload: Sequence[str]) -> _Prestarted:
    folder = tempfile.TemporaryDirectory(prefix="churn-load-check-")
    child = check_template.fork(_CHILD, [*_store_modules(tracking_uri), *preload],
                                _child_environment(tracking_uri), folder.name)
    return _Prestarted(tracking_uri, tuple(preload), folder, child)


def requirement_modules(requirements: Sequence[str]) -> list[str]:
    """The installed modules of pip requirements (``scikit-learn`` -> ``sklearn``); a name
    that maps to nothing importable is left out (the model imports it when loaded)."""
    modules = [_MODULE_OF.get(name, name.replace("-", "_")) for name in requirements]
    return [m for m in modules if importlib.util.find_spec(m) is not None]


def prestart_load_check(tracking_uri: str, preload: Sequence[str] = ()) -> None:
    """Fork the next load check's child now (``check_template``: its template started if
    needed), so that its imports (seconds) and its registry connection overlap the caller's
    work (tuning, scoring); the model is checked when ``PendingLoadCheck`` asks, in this
    child, if the caller's environment is still the one it was forked with. ``preload``:
    modules the served model will import (its declared requirements; they count in its peak
    memory, so only those of the model to be checked). Only useful when that check runs in
    this same Python process, on a store that exists."""
    _discard_prestarted()
    _PRESTARTED.append(_fork(tracking_uri, preload))


def _discard_prestarted() -> None:
    while _PRESTARTED:
        _PRESTARTED.pop().discard()


def _take_prestarted(tracking_uri: str) -> _Prestarted | None:
    """The prestarted child if it was forked for this store and this environment, else None
    (it is discarded)."""
    prestarted = _PRESTARTED.pop() if _PRESTARTED else None
    if prestarted is not None and (prestarted.tracking_uri != tracking_uri or
                                   prestarted.child.env != _child_environment(tracking_uri)):
        prestarted.discard()
        return None
    return prestarted


class PendingLoadCheck:
    """A load check running in its child process; ``result()`` waits for its verdict. The
    child (prestarted, else forked here) imports MLflow and connects to the registry while
    the caller works; ``result()`` sends it the model to check."""

    def __init__(self, model_uri: str, sample_rows: pd.DataFrame | None, tracking_uri: str,
                 timeout_seconds: float = 600.0, limits: ServingLimits = ServingLimits()):
        self._limits = limits
        self._process = _take_prestarted(tracking_uri) or _fork(tracking_uri, ())
        folder = self._process.folder.name
        rows_path = ""
        if sample_rows is not None:
            rows_path = str(Path(folder) / "sample_rows.parquet")
            sample_rows.to_parquet(rows_path, index=False)
        self._result_path = Path(folder) / "result.json"
        self._timeout = timeout_seconds
        self._request = json.dumps([model_uri, rows_path, str(self._result_path),
                                    str(LATENCY_ROWS), str(LATENCY_REPEATS), *OUTPUT_COLUMNS])

    def result(self) -> LoadCheck:
        try:
            returncode, stderr = self._process.child.run(self._request, self._timeout)
            if returncode is None:
                return LoadCheck(False, f"the load check timed out after {self._timeout:g}s",
                                 ())
            result = json.loads(self._result_path.read_text()) \
                if self._result_path.exists() else {}
            error_path = self._result_path.with_name(self._result_path.name + ".error")
            error = error_path.read_text() if error_path.exists() else ""
        finally:
            self._process.folder.cleanup()
        columns = tuple(result.get("columns", ()))
        if returncode != 0:
            return LoadCheck(False, _last_line(error or stderr), columns)
        figures = ServedFigures(*(float(result[f.name]) for f in fields(ServedFigures)))
        breach = self._limits.breach(figures)
        return LoadCheck(breach is None, breach, columns, figures)


def check_model_loads(
    model_uri: str, sample_rows: pd.DataFrame | None, tracking_uri: str,
    timeout_seconds: float = 600.0, limits: ServingLimits = ServingLimits(),
) -> LoadCheck:
    """Load ``model_uri`` in a new interpreter and predict on ``sample_rows`` (raw rows, target
    absent; None: the model's own input example). ``ok`` only when the output has exactly the
    contract's columns, one row per input row, probabilities in [0, 1] and 0/1 predictions,
    and the served figures (size, p95 latency on rows resampled from ``sample_rows``, peak
    memory) are within ``limits``."""
    return PendingLoadCheck(model_uri, sample_rows, tracking_uri, timeout_seconds,
                            limits).result()
