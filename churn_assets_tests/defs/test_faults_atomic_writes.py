"""Nothing half-written: a run SIGKILLed while the IO manager writes a large table leaves the
previous value whole, and the next run reads it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from churn_assets.dataset_config import PROJECT_ROOT

pytestmark = pytest.mark.slow  # Dagster runs in fresh processes

DAGSTER = str(Path(sys.executable).parent / "dagster")

DEFINITIONS = '''
import os

import dagster as dg
import numpy as np
import pandas as pd

from churn_assets.defs.resources.io_manager import ChurnIOManagerFactory


@dg.asset
def big_table() -> pd.DataFrame:
    rows = int(os.environ["BIG_TABLE_ROWS"])
    return pd.DataFrame({"row": np.arange(rows),
                         "value": np.random.default_rng(rows).random(rows)})


@dg.asset
def big_table_summary(big_table: pd.DataFrame) -> dict:
    return {"rows": len(big_table), "last_row": int(big_table["row"].iloc[-1])}


defs = dg.Definitions(assets=[big_table, big_table_summary],
                      resources={"io_manager": ChurnIOManagerFactory(
                          base_path=os.environ["BIG_TABLE_STORE"])})
'''


def start(tmp_path: Path, select: str, rows: int) -> subprocess.Popen:
    (tmp_path / "home").mkdir(exist_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"),
           "BIG_TABLE_STORE": str(tmp_path / "store"), "BIG_TABLE_ROWS": str(rows),
           "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [DAGSTER, "asset", "materialize", "-f", str(tmp_path / "big_definitions.py"),
         "--select", select], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finish(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]


def kill_when_writing(process: subprocess.Popen, folder: Path) -> bool:
    """SIGKILL the run's process group as soon as a temporary file of the write exists."""
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if folder.is_dir() and any(folder.glob(".big_table.parquet.*.tmp")):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.005)
    return False


def test_a_run_killed_during_a_large_write_leaves_the_previous_value_for_the_next_run(
    tmp_path: Path,
) -> None:
    (tmp_path / "big_definitions.py").write_text(DEFINITIONS)
    stored = tmp_path / "store" / "big_table.parquet"
    finish(start(tmp_path, "big_table", rows=1000))
    before = stored.read_bytes()

    writing = start(tmp_path, "big_table", rows=6_000_000)
    killed = kill_when_writing(writing, stored.parent)

    assert killed, writing.communicate()[0][-3000:]
    assert stored.read_bytes() == before
    assert pd.read_parquet(stored)["row"].tolist() == list(range(1000))
    finish(start(tmp_path, "big_table_summary", rows=1000))  # reads the stored big_table
    summary = json.loads((tmp_path / "store" / "big_table_summary.json").read_text())
    assert summary == {"rows": 1000, "last_row": 999}
