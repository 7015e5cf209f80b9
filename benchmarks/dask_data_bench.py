"""The data path on Dask partitions: measured per-partition costs of each step on a
LocalCluster, and a paper estimate for 100M rows on N workers from them
(``python -m benchmarks.dask_data_bench [rows [workers [blocksize [memory_limit]]]]``;
200,000 generated customers, 2 one-thread workers, 4 MB CSV partitions, no memory limit by
default).

Per-partition cost = the step's task compute seconds (the cluster's task stream, summed over
the step's tasks) / partitions. What one process does between steps (column roles from the
first 50,000 rows, the preprocessor fitted on at most 250,000 train rows, the drift sample of
100,000 rows) does not grow with the table and is counted as a fixed cost. The estimate
assumes cost linear in rows, workers never idle, storage and network free (optimistic: S3
reads and the xgboost.dask all-reduce per boosting round are not free).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dask
import pandas as pd

from benchmarks.dask_bench import print_table
from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, DriftConfig, load_dataset_config
from churn_assets.generator import generate_customers
from churn_assets.model.dask_tuning import fit_final_on_cluster
from churn_assets.names import META_COLUMNS, SPLIT
from churn_dev.data_path import drift_on_partitions, run_data_path

TARGET_ROWS = 100_000_000
TRAIN_SHARE = 0.7
CLUSTER_SIZES = (8, 16, 32, 64, 128)
# Client-side steps whose work does not grow with the table (see the module docstring).
FIXED_STEPS = ("column_roles", "fit_preprocessor", "drift")
PARAMS = {"max_depth": 5, "learning_rate": 0.1, "min_child_weight": 1.0, "subsample": 0.9,
          "colsample_bytree": 0.9, "reg_lambda": 1.0, "reg_alpha": 0.0}


def compute_seconds(stream: list[dict]) -> float:
    return sum(stop - start for task in stream for action, start, stop in
               ((s["action"], s["start"], s["stop"]) for s in task["startstops"])
               if action == "compute")


def measure(n_rows: int, n_workers: int, blocksize: str, folder: Path,
            memory_limit: str | None) -> dict:
    from distributed import Client, LocalCluster, get_task_stream
    from distributed.diagnostics import MemorySampler

    config = load_dataset_config(DEFAULT_CONFIG_PATH)
    source = folder / "customers.csv"
    generate_customers(n_rows, seed=7).to_csv(source, index=False)
    table_bytes = int(pd.read_csv(source, dtype=str).memory_usage(deep=True).sum())
    streams: dict[str, list] = {}

    class Recorded:
        def __init__(self, step: str):
            self.step, self.inner = step, get_task_stream(client)

        def __enter__(self):
            return self.inner.__enter__()

        def __exit__(self, *exc):
            self.inner.__exit__(*exc)
            streams[self.step] = self.inner.data

    sampler = MemorySampler()
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, memory_limit=memory_limit) as cluster, \
            Client(cluster, set_as_default=False) as client, client.as_current(), \
            sampler.sample("cluster", client=client, measure="process"):
        workers = set(client.scheduler_info(n_workers=-1)["workers"])
        path = run_data_path(str(source), config, str(folder / "store"), blocksize=blocksize,
                             around=Recorded)
        seconds = dict(path.seconds)
        features = path.features
        tuning = config.tuning.model_copy(update={"n_jobs": 1})
        with Recorded("final_fit"):
            start = time.perf_counter()
            model = fit_final_on_cluster(client, PARAMS, tuning, features)
            seconds["final_fit"] = time.perf_counter() - start
        def score(part: pd.DataFrame) -> pd.Series:  # the champion's matrix -> probability
            return pd.Series(model.predict_proba(part.drop(columns=list(META_COLUMNS))),
                             index=part.index)

        with Recorded("score"):
            start = time.perf_counter()
            features.map_partitions(score, meta=(None, "float64")).sum().compute()
            seconds["score"] = time.perf_counter() - start
        reference = path.splits[path.splits[SPLIT] == "train"].get_partition(0).compute()
        with Recorded("drift"):
            start = time.perf_counter()
            drift_on_partitions(reference, path.validated, list(path.roles.numeric),
                                list(path.roles.categorical), DriftConfig())
            seconds["drift"] = time.perf_counter() - start
        train_rows = int((features[SPLIT] == "train").sum().compute())
        restarted = workers != set(client.scheduler_info(n_workers=-1)["workers"])
    peak = float(sampler.to_pandas()["cluster"].max())  # summed over the workers
    return {"rows": n_rows, "partitions": features.npartitions, "seconds": seconds,
            "table_mb": table_bytes / 2**20, "peak_cluster_mb": peak / 2**20,
            "restarted": restarted,
            "compute": {step: compute_seconds(s) for step, s in streams.items()},
            "train_rows": train_rows}


ESTIMATE_HEADER = ["workers", "partitions", "data path min", "final fit min", "fixed min",
                   "total min"]


def estimate_rows(parts: int, per_part: dict[str, float], fit_total_s: float,
                  fixed_s: float) -> list[list]:
    """Per cluster size: each growing step's per-partition seconds x partitions / N (rounded up
    to whole waves), the final fit's seconds / N, and the fixed seconds as measured."""
    table = []
    for n in CLUSTER_SIZES:
        data_s = sum(math.ceil(parts / n) * c for c in per_part.values())
        fit_s = fit_total_s / n
        table.append([n, f"{parts:,}", f"{data_s / 60:,.1f}", f"{fit_s / 60:,.1f}",
                      f"{fixed_s / 60:,.1f}", f"{(data_s + fit_s + fixed_s) / 60:,.1f}"])
    return table


def measured(measure: Callable[..., dict], n_rows: int, n_workers: int, blocksize: str,
             memory_limit: str | None) -> tuple[dict, float]:
    """One measured run in a temporary folder, and the load average before it."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, dask.config.set({"logging.distributed":
                                                                 "error"}):
        return measure(n_rows, n_workers, blocksize, Path(tmp), memory_limit), load


def paper_estimate(run: dict) -> list[list]:
    rows_per_part = run["rows"] / run["partitions"]
    parts = math.ceil(TARGET_ROWS / rows_per_part)
    per_part = {s: c / run["partitions"] for s, c in run["compute"].items()
                if s not in (*FIXED_STEPS, "final_fit")}
    fixed = sum(run["seconds"][s] for s in FIXED_STEPS)
    fit_total = run["compute"]["final_fit"] * TARGET_ROWS * TRAIN_SHARE / run["train_rows"]
    return estimate_rows(parts, per_part, fit_total, fixed)


def main(n_rows: int = 200_000, n_workers: int = 2, blocksize: str = "4MB",
         memory_limit: str | None = None) -> None:
    run, load = measured(measure, n_rows, n_workers, blocksize, memory_limit)
    parts = run["partitions"]
    rows = [[step, f"{run['seconds'][step]:.2f}", f"{run['compute'].get(step, 0):.2f}",
             "fixed" if step in FIXED_STEPS else
             f"{run['compute'].get(step, 0) / parts * 1000:.0f}",
             "fixed" if step in FIXED_STEPS else
             f"{run['compute'].get(step, 0) / run['rows'] * 1e6:.2f}"]
            for step in run["seconds"]]
    print_table(f"Dask data path on {n_rows:,} generated customers, {parts} partitions "
                f"(~{n_rows / parts:,.0f} rows each), {n_workers} one-thread workers on "
                f"127.0.0.1; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, "
                f"on {os.cpu_count()} CPUs",
                ["step", "wall s", "task compute s", "ms per partition", "µs per row"], rows)
    total_wall = sum(run["seconds"].values())
    print(f"whole data path + final fit: {total_wall:.1f} s wall; the table as the pandas path "
          f"holds it: {run['table_mb']:,.0f} MB; peak process memory of the {n_workers} "
          f"workers together: {run['peak_cluster_mb']:,.0f} MB (limit per worker: "
          f"{memory_limit or 'none'}); a worker restarted for memory: {run['restarted']}")
    print_table(f"Paper estimate for {TARGET_ROWS:,} rows ({TRAIN_SHARE:.0%} train) on N "
                "one-thread workers: measured per-partition compute x partitions / N; "
                "final fit linear in train rows / N; fixed client-side steps as measured",
                ESTIMATE_HEADER, paper_estimate(run))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(int(a) for a in args[:2]), *args[2:4])
