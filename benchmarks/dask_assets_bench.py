"""The whole asset graph on the Dask data path (CHURN_DASK_DATA_PATH=1) on a LocalCluster:
per-asset wall seconds, the cluster's task seconds attributed to each asset, per-partition
costs, peak memory, and the paper estimate for 100M rows on N workers from them
(``python -m benchmarks.dask_assets_bench [rows [workers [blocksize [memory_limit]]]]``;
200,000 generated customers, 2 one-thread workers, 4MB CSV partitions by default).

``benchmarks.dask_data_bench`` times the same partition functions called directly; this one
runs them as the assets do (Dagster, MLflow, Optuna, the local samples, promotion included).
A task is counted for the asset whose step was running when the task started (the steps run
one at a time, in process). Inside ``tuned_churn_model`` the Optuna trials (a fixed-size
sample) and the ``xgboost.dask`` final fit (grows with train rows) are told apart by task
name; its other tasks read partitions (the local samples, the content digest, the train rows
the final fit persists) and grow with the table.
Estimate: per-partition task seconds x partitions / N for the steps that grow with the
table, the final fit linear in train rows / N, everything else (client-side work: roles,
preprocessor fit, tuning, promotion, drift, monitoring) as measured, i.e. not growing.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from benchmarks.dask_bench import print_table
from benchmarks.dask_data_bench import (
    ESTIMATE_HEADER,
    TARGET_ROWS,
    compute_seconds,
    estimate_rows,
    measured,
)
from churn_assets.generator import generate_customers
from churn_dev.workspace import FAST_TUNING, ChurnWorkspace, materialize_graph

PARTITION_STEPS = ("raw_customers", "validated_customers", "customer_expectations",
                   "customer_splits", "customer_features", "churn_scores")
TRIAL_TASK = "_run_trials"
FINAL_FIT_TASK = "fn-"  # xgboost.dask submits each worker's training as its wrapper `fn`
TUNING = FAST_TUNING | {"n_trials": 10}


def step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Start and end (epoch seconds) of each step of the run."""
    windows: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event and event.event_type_value in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
            windows.setdefault(event.step_key, []).append(entry.timestamp)
    return {step: (min(times), max(times)) for step, times in windows.items()}


def owner(start: float, windows: dict[str, tuple[float, float]]) -> str:
    for step, (low, high) in windows.items():
        if low <= start <= high:
            return step
    return "between steps"


def kind_in_tuning(key: str) -> str:
    name = key[0] if isinstance(key, tuple) else key
    if str(name).startswith(TRIAL_TASK):
        return "trials"
    if str(name).startswith(FINAL_FIT_TASK):
        return "final_fit"
    return "reads"


def measure(n_rows: int, n_workers: int, blocksize: str, folder: Path,
            memory_limit: str | None) -> dict:
    from distributed import Client, LocalCluster, get_task_stream
    from distributed.diagnostics import MemorySampler

    workspace_root = folder / "workspace"
    source = workspace_root / "data" / "customers.csv"
    source.parent.mkdir(parents=True)
    generate_customers(n_rows, seed=7).to_csv(source, index=False)
    table_mb = pd.read_csv(source, dtype=str).memory_usage(deep=True).sum() / 2**20
    sampler = MemorySampler()
    with dg.instance_for_test() as instance, \
            LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                         dashboard_address=None, memory_limit=memory_limit) as cluster, \
            Client(cluster, set_as_default=False) as client, \
            sampler.sample("cluster", client=client, measure="process"):
        workspace = ChurnWorkspace(workspace_root, instance)
        workspace.configure(dask_scheduler=cluster.scheduler_address, dask_data_path=True,
                            dask_blocksize=blocksize,
                            dask_final_fit_min_rows=0)  # measured on the cluster at any size
        workspace.write_config(source, tuning=TUNING)
        workers = set(client.scheduler_info(n_workers=-1)["workers"])
        started = time.perf_counter()
        with get_task_stream(client) as stream:
            result = materialize_graph(workspace)
        wall = time.perf_counter() - started
        tasks = stream.data
        restarted = workers != set(client.scheduler_info(n_workers=-1)["workers"])
        windows = step_windows(instance, result.run_id)
    if not result.success:
        raise SystemExit([e.message for e in result.all_events if e.is_failure])
    compute: dict[str, float] = {}
    for task in tasks:
        start = min(s["start"] for s in task["startstops"])
        step = owner(start, windows)
        if step == "tuned_churn_model":
            step = f"tuned_churn_model:{kind_in_tuning(task['key'])}"
        compute[step] = compute.get(step, 0.0) + compute_seconds([task])
    parts_dir = workspace_root / "state" / "assets" / "raw_customers.parts"
    splits = pd.read_parquet(workspace_root / "state" / "assets" / "customer_splits.parts",
                             columns=["split"])
    return {"rows": n_rows, "partitions": len(list(parts_dir.glob("*.parquet"))),
            "wall": wall, "seconds": {s: hi - lo for s, (lo, hi) in windows.items()},
            "compute": compute, "table_mb": table_mb, "restarted": restarted,
            "peak_cluster_mb": float(sampler.to_pandas()["cluster"].max()) / 2**20,
            "client_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "train_rows": int((splits["split"] == "train").sum())}


def grows(step: str) -> bool:
    return step in PARTITION_STEPS or step == "tuned_churn_model:reads"


def paper_estimate(run: dict) -> list[list]:
    parts = math.ceil(TARGET_ROWS / (run["rows"] / run["partitions"]))
    per_part = {s: c / run["partitions"] for s, c in run["compute"].items() if grows(s)}
    fit = run["compute"].get("tuned_churn_model:final_fit", 0.0)
    fit_total = fit * TARGET_ROWS * 0.7 / run["train_rows"]
    # Everything else as measured: the steps' wall time less the growing work they waited for.
    waited = sum(run["compute"].get(s, 0.0) for s in run["compute"] if grows(s)) + fit
    fixed = max(sum(run["seconds"].values()) - waited / run["workers"], 0.0)
    return estimate_rows(parts, per_part, fit_total, fixed)


def main(n_rows: int = 200_000, n_workers: int = 2, blocksize: str = "4MB",
         memory_limit: str | None = None) -> None:
    run, load = measured(measure, n_rows, n_workers, blocksize, memory_limit)
    run["workers"] = n_workers
    parts = run["partitions"]
    steps = [s for s in run["seconds"] if not s.endswith("_freshness")]
    rows = []
    for step in steps:
        keys = [k for k in run["compute"] if k == step or k.startswith(f"{step}:")] or [step]
        for key in keys:
            task_s = run["compute"].get(key, 0.0)
            rows.append([key, f"{run['seconds'][step]:.2f}" if key == keys[0] else "",
                         f"{task_s:.2f}",
                         f"{task_s / parts * 1000:.0f}" if grows(key) else "-",
                         f"{task_s / run['rows'] * 1e6:.2f}" if grows(key) else "-"])
    print_table(f"Asset graph on the Dask data path: {n_rows:,} generated customers, {parts} "
                f"partitions (~{n_rows / parts:,.0f} rows each), {n_workers} one-thread "
                f"workers on 127.0.0.1, {TUNING['n_trials']} trials; load average {load:.1f} "
                f"before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs",
                ["asset step", "wall s", "task compute s", "ms per partition", "µs per row"],
                rows)
    print(f"whole graph: {run['wall']:.1f} s wall; the table as the pandas path holds it: "
          f"{run['table_mb']:,.0f} MB; peak process memory of the {n_workers} workers "
          f"together: {run['peak_cluster_mb']:,.0f} MB (limit per worker: "
          f"{memory_limit or 'none'}); this process's peak RSS: {run['client_peak_mb']:,.0f} "
          f"MB; a worker restarted for memory: {run['restarted']}")
    print_table(f"Paper estimate for {TARGET_ROWS:,} rows (70% train) on N one-thread "
                "workers: per-partition task seconds x partitions / N for the growing steps, "
                "the final fit linear in train rows / N, the rest of the measured wall time "
                "as fixed", ESTIMATE_HEADER, paper_estimate(run))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(int(a) for a in args[:2]), *args[2:4])
