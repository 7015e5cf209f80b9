"""Memory a step freed goes back to the operating system (steps share one process locally)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from churn_assets.process_memory import _glibc_malloc_trim, release_freed_memory


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.skipif(_glibc_malloc_trim() is None or not Path("/proc/self/status").exists(),
                    reason="glibc's malloc_trim and /proc are Linux/glibc only")
def test_freed_heap_memory_is_returned():
    # 3,000 arrays of 96 KB sit in glibc's heap (below its mmap threshold); the last one,
    # kept, pins the heap's top, so freeing the rest returns nothing by itself.
    arrays = [np.ones(12_000) for _ in range(3_000)]
    kept = arrays[-1]
    del arrays
    before = rss_mib()
    release_freed_memory()
    assert before - rss_mib() > 200  # of the ~275 MiB freed
    assert kept.sum() == 12_000


# Runs in a fresh interpreter: the retention comes from the first TableSchema a process builds
# (dagster_shared compiles the record's constructor then and keeps the caller's variables), so
# in the test process any earlier test could have paid that first build.
STEP_IN_FRESH_PROCESS = """
import gc, sys
from pathlib import Path
import dagster as dg, pandas as pd
from dagster_aws.s3 import S3Resource
from churn_assets.defs.assets.ingestion import RawCustomersConfig, raw_customers
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_dev.workspace import ChurnWorkspace, customers

root, rows = Path(sys.argv[1]), int(sys.argv[2])
with dg.instance_for_test() as instance:
    workspace = ChurnWorkspace(root, instance)
    config = workspace.write_config(workspace.write_data("customers.csv", customers(rows)))
    stored = raw_customers(dg.build_asset_context(), RawCustomersConfig(),
                           DatasetResource(config_path=str(config)), S3Resource(), DaskCluster())
    read = len(stored.value)
    del stored  # what the IO manager would have written
gc.collect()
alive = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and len(o) == rows]
print(read, len(alive))
"""


def test_no_copy_of_the_table_outlives_the_ingestion_step(tmp_path):
    # The step's frame stayed alive for the whole run (10M rows: ~2.8 GB under every later
    # step) while the column schema was built from the frame itself.
    env = os.environ | {"CHURN_STATE_DIR": str(tmp_path / "state"),
                        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
                        "CHURN_DATASET_CONFIG": str(tmp_path / "dataset.yaml")}
    env.pop("CHURN_STORAGE_URI", None)
    # churn_dev (the throw-away workspace) is importable from the repo root only, not installed
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", STEP_IN_FRESH_PROCESS, str(tmp_path), "1234"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["1234", "0"]
