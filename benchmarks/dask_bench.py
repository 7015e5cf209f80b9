"""Tuning on a Dask cluster with 1 vs 2 workers (same trials), and a paper estimate for 10M rows
on N workers from the measured costs (optional part of the bench: ``python -m benchmarks.bench
--dask`` or ``BENCH_DASK=1 make bench``; alone:
``python -m benchmarks.dask_bench [n_trials [rows]]``, 50 trials as in the YAML, on 50,000
generated customers by default).

Each worker has one thread and runs one trial at a time (``n_jobs=1`` per trial), so 2 workers
use the 2 cores one trial each. The project's MedianPruner stays on: the pruned count is shown,
since what gets pruned depends on the order in which trials finish.

Equal trial counts are not equal work (each worker's sampler has its own seed, so the 2-worker
run tries other parameters; pruning differs with finishing order), so the bench also reports
the boosting rounds fitted, and runs the 2-worker cluster a second time replaying the 1-worker
run's parameters in the same order (enqueued trials, same pruner): that ratio is the speed-up
on equal work.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, load_dataset_config
from churn_assets.generator import generate_customers
from churn_assets.model.candidate import split_matrix
from churn_assets.model.dask_tuning import WORKER_ATTR, open_dask_study
from churn_assets.model.families import DEFAULT_FAMILY, get_family
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.tuning import study_storage, tune
from churn_assets.names import LABEL, ROW_ID, SPLIT

TARGET_ROWS = 10_000_000
TUNING_SAMPLE_ROWS = 50_000  # tuning.sample_rows: what each trial fits at scale
TRAIN_SHARE = 0.7  # of the rows, as the default split
CLUSTER_SIZES = (1, 2, 4, 8, 16, 32)


def generated_features(n_rows: int) -> tuple[pd.DataFrame, object]:
    """Generated customers (the bundled data's generator and YAML) as the feature assets
    build them. Trials on the 4,921 bundled train rows last 0.3 s, mostly scheduler and
    storage round trips; at the tuning sample's size they are the compute a cluster shares."""
    config = load_dataset_config(DEFAULT_CONFIG_PATH)
    customers = generate_customers(n_rows, seed=7)
    split = assign_splits(customers[config.id_column], config.split)
    roles = infer_column_roles(customers, config)
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical).fit(
        customers[split == "train"])
    meta = pd.DataFrame({ROW_ID: customers[config.id_column], SPLIT: split,
                         LABEL: binary_target(customers[config.target], config.positive_label)})
    return pd.concat([meta, preprocessor.transform(customers)], axis=1), config


def tune_on_cluster(n_workers: int, features: pd.DataFrame, tuning, folder: Path,
                    replay: list[dict] | None = None) -> dict:
    """Wall seconds of ``tune`` on a fresh LocalCluster of ``n_workers`` one-thread workers;
    with ``replay``, the trials try exactly these parameters in this order (enqueued)."""
    from distributed import Client, LocalCluster

    (x_train, y_train), (x_valid, y_valid) = (split_matrix(features, s) for s in ("train",
                                                                                  "valid"))
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        folder.mkdir(parents=True, exist_ok=True)
        url = f"journal://{folder / f'workers-{n_workers}.journal'}"
        study = open_dask_study(client, study_storage(url), url, "bench", tuning.seed)
        for params in replay or ():
            study.enqueue_trial(params)
        start = time.perf_counter()
        result = tune(study, tuning, x_train, y_train, x_valid, y_valid)
        wall = time.perf_counter() - start
        workers = {t.user_attrs.get(WORKER_ATTR) for t in study.trials}
        rounds = boosting_rounds(study.trials)
    return {"workers": n_workers, "wall_s": wall, "trials": result.n_trials, "rounds": rounds,
            "params": [t.params for t in sorted(study.trials, key=lambda t: t.number)],
            "pruned": result.n_pruned, "workers_used": len(workers), "best": result.best_value,
            "best_params": result.best_params}


def boosting_rounds(trials: list) -> int:
    """The work the trials did: boosting rounds fitted, from each trial's last reported step
    (every ``PRUNING_REPORT_EVERY`` rounds, so within that many of the true count). Equal
    trial counts are not equal work: each worker's sampler has its own seed, so the two runs
    try different parameters, and which trials the MedianPruner stops, and how early,
    depends on the order in which trials finish."""
    return sum(max(t.intermediate_values) + 1 for t in trials if t.intermediate_values)


def paper_estimate(per_trial_s: float, measured_rows: int, final_fit_s: float,
                   final_fit_rows: int, n_trials: int, sample_rows: int | None) -> list[list]:
    """Expected tuning and final-fit seconds for 10M rows on N one-trial-at-a-time workers,
    assuming cost linear in rows (XGBoost hist: one pass over the rows per round) and no
    communication cost (optimistic for the final fit: xgboost.dask all-reduces histograms
    every round)."""
    tuning_rows = min(TARGET_ROWS * TRAIN_SHARE, sample_rows or math.inf)
    trial_s = per_trial_s * tuning_rows / measured_rows
    fit_s = final_fit_s * TARGET_ROWS * TRAIN_SHARE / final_fit_rows
    rows = []
    for n in CLUSTER_SIZES:
        tuning_s = math.ceil(n_trials / n) * trial_s
        rows.append([n, f"{trial_s:,.1f}", f"{tuning_s / 60:,.1f}", f"{fit_s / n / 60:,.1f}",
                     f"{(tuning_s + fit_s / n) / 60:,.1f}"])
    return rows


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header, *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n== {title}")
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(n_trials: int = 50, n_rows: int = TUNING_SAMPLE_ROWS) -> None:
    features, config = generated_features(n_rows)
    tuning = config.tuning.model_copy(update={"n_trials": n_trials, "timeout_seconds": None,
                                              "n_jobs": 1})
    (x_train, y_train), (x_valid, y_valid) = (split_matrix(features, s) for s in ("train",
                                                                                  "valid"))
    with tempfile.TemporaryDirectory() as tmp:
        runs = [tune_on_cluster(n, features, tuning, Path(tmp)) for n in (1, 2)]
        # Equal work: the 2-worker cluster replays the 1-worker run's parameters.
        runs.append(tune_on_cluster(2, features, tuning, Path(tmp) / "replay",
                                    replay=runs[0]["params"]))
        runs[-1]["workers"] = "2 (same params)"
    speedup = runs[0]["wall_s"] / runs[1]["wall_s"]
    print_table(f"Dask tuning on {n_rows:,} generated customers ({len(y_train):,} train rows), "
                f"{n_trials} "
                f"trials, 1-thread workers on 127.0.0.1; load average "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
                ["workers", "wall s", "trials", "pruned", "rounds fitted", "rounds/s",
                 "workers used", "best valid logloss"],
                [[r["workers"], f"{r['wall_s']:.1f}", r["trials"], r["pruned"], r["rounds"],
                  f"{r['rounds'] / r['wall_s']:.0f}", r["workers_used"], f"{r['best']:.4f}"]
                 for r in runs])
    work_speedup = (runs[1]["rounds"] / runs[1]["wall_s"]) / (runs[0]["rounds"] / runs[0]["wall_s"])
    replay_speedup = runs[0]["wall_s"] / runs[2]["wall_s"]
    print(f"speed-up with 2 workers: {speedup:.2f}x wall on the same trial count; "
          f"{work_speedup:.2f}x in boosting rounds per second; {replay_speedup:.2f}x wall on "
          "the same parameters in the same order, the equal-work comparison (target >= 1.7x)")

    start = time.perf_counter()  # the final fit's cost per row, one thread, same settings
    get_family(DEFAULT_FAMILY).fit(runs[0]["best_params"], tuning, x_train, y_train, x_valid,
                                   y_valid)
    final_fit_s = time.perf_counter() - start
    per_trial_s = runs[0]["wall_s"] / n_trials
    print_table(f"Paper estimate for {TARGET_ROWS:,} rows ({TRAIN_SHARE:.0%} train), "
                f"{config.tuning.n_trials} trials on a tuning sample of "
                f"{config.tuning.sample_rows:,} rows, from {per_trial_s:.2f} s per trial and a "
                f"{final_fit_s:.2f} s final fit measured at {len(y_train):,} rows on one thread; "
                "linear in rows, one trial per worker at a time, no communication cost",
                ["workers", "s/trial", "tuning min", "final fit min", "total min"],
                paper_estimate(per_trial_s, len(y_train), final_fit_s, len(y_train),
                               config.tuning.n_trials, config.tuning.sample_rows))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
