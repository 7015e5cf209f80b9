"""Does a registered model load and answer the serving contract in a fresh Python process?

A fresh process is the only honest check: in the training process the package, its imports
and its caches are already there, so a model that depends on them by accident would pass.
Downstream services load ``models:/<name>/<version>`` with nothing but MLflow; so does this.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from churn_assets.names import OUTPUT_COLUMNS

# Runs in the child. It imports only what a downstream consumer has: mlflow, pandas, numpy.
_CHILD = """
import json, sys
import numpy as np, pandas as pd, mlflow

uri, rows_path, result_path, expected = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
model = mlflow.pyfunc.load_model(uri)
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
"""


@dataclass(frozen=True)
class LoadCheck:
    ok: bool
    error: str | None  # the last line of the child's error, e.g. "ValueError: ..."
    columns: tuple[str, ...]  # what predict returned (empty when it never got that far)

    def text(self) -> str:
        return "passed" if self.ok else f"failed: {self.error}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the check process failed without a message"


class PendingLoadCheck:
    """A load check running in its child process; ``result()`` waits for its verdict. The
    child spends seconds importing MLflow, time the caller can use for its own work."""

    def __init__(self, model_uri: str, sample_rows: pd.DataFrame | None, tracking_uri: str,
                 timeout_seconds: float = 600.0):
        self._folder = tempfile.TemporaryDirectory(prefix="churn-load-check-")
        tmp = self._folder.name
        rows_path = ""
        if sample_rows is not None:
            rows_path = str(Path(tmp) / "sample_rows.parquet")
            sample_rows.to_parquet(rows_path, index=False)
        self._result_path = Path(tmp) / "result.json"
        self._timeout = timeout_seconds
        env = os.environ | {"MLFLOW_TRACKING_URI": tracking_uri,
                            "MLFLOW_REGISTRY_URI": tracking_uri}
        command = [sys.executable, "-c", _CHILD, model_uri, rows_path,
                   str(self._result_path), *OUTPUT_COLUMNS]
        self._child = subprocess.Popen(command, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)

    def result(self) -> LoadCheck:
        try:
            try:
                _, stderr = self._child.communicate(timeout=self._timeout)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.communicate()
                return LoadCheck(False, f"the load check timed out after {self._timeout:g}s",
                                 ())
            columns = tuple(json.loads(self._result_path.read_text())["columns"]) \
                if self._result_path.exists() else ()
        finally:
            self._folder.cleanup()
        if self._child.returncode != 0:
            return LoadCheck(False, _last_line(stderr), columns)
        return LoadCheck(True, None, columns)


def check_model_loads(
    model_uri: str, sample_rows: pd.DataFrame | None, tracking_uri: str,
    timeout_seconds: float = 600.0,
) -> LoadCheck:
    """Load ``model_uri`` in a new interpreter and predict on ``sample_rows`` (raw rows, target
    absent; None: the model's own input example). ``ok`` only when the output has exactly the
    contract's columns, one row per input row, probabilities in [0, 1] and 0/1 predictions."""
    return PendingLoadCheck(model_uri, sample_rows, tracking_uri, timeout_seconds).result()
