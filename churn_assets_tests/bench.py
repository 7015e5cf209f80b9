"""Speed and memory figures, measured side by side in one run (``make bench``).

1. the landing sensor over 10,000 keys in a real moto S3 server vs dagster_aws's get_objects;
2. a local landing folder, cold vs warm tick; 3. drift on 5,000 vs 5,000 rows; 4. Optuna
tuning with and without pruning; 5. the whole graph in process vs on the multiprocess executor.
Only temporary folders and a 127.0.0.1 server are used; both are removed at the end.
Run one section with ``python -m churn_assets_tests.bench 3``.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg
import mlflow
import optuna
import yaml
from botocore.config import Config
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from churn_assets.core.columns import coerce_numeric, infer_column_roles
from churn_assets.core.config import DEFAULT_CONFIG_PATH, load_dataset_config
from churn_assets.core.drift import detect_drift
from churn_assets.core.landing import LandingCursor, list_local, list_s3, select_new
from churn_assets.core.preprocessing import ChurnPreprocessor
from churn_assets.core.sources import read_source
from churn_assets.core.splits import assign_splits, binary_target
from churn_assets.core.tuning import open_study, tune
from churn_assets.resources import DatasetResource
from churn_assets.sensors import new_customer_data_sensor
from churn_assets_tests.conftest import (
    FAST_TUNING,
    SMALL_EXPECTATIONS,
    ChurnWorkspace,
    customers,
    materialize_graph,
)
from churn_assets_tests.s3_server import REGION, running_s3_server

BUCKET, PREFIX, N_KEYS = "bench-landing", "landing/", 10_000
SHIFT = {"month_to_month_share": 0.85, "fiber_share": 0.7, "no_internet_share": 0.05,
         "electronic_check_share": 0.6, "senior_share": 0.35, "charges_multiplier": 1.25,
         "tenure_multiplier": 0.6}  # as in test_event_driven
SUMMARY: list[tuple[str, str]] = []


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    """Median wall seconds over ``repeats`` calls of ``fn``, and the last call's result."""
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def ratio(numerator: float, denominator: float) -> str:
    """``numerator / denominator`` as "1.23x"."""
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Print a plain-text table: first column left-aligned, the others right-aligned."""
    cells = [header, *(tuple(str(cell) for cell in row) for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n== {title}")
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


@contextmanager
def environ(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore what was there before."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def write_dataset_yaml(root: Path, source: str, landing: str) -> Path:
    """A dataset YAML with the keys of conftest.ChurnWorkspace.write_config."""
    raw = {"source": source, "target": "Churn", "positive_label": "Yes",
           "id_column": "customerID", "model_name": "churn-bench", "landing": landing,
           "tuning": FAST_TUNING, "expectations": SMALL_EXPECTATIONS}
    path = root / "dataset.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def peak_traced_mib(fn: Callable[[], Any]) -> float:
    """Peak Python heap (tracemalloc) while ``fn`` runs and its result is alive, in MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_s3_sensor(repeats: int = 3) -> None:
    """1. Listing + selection and a full sensor tick on 10,000 S3 keys vs get_objects."""
    with running_s3_server() as server, tempfile.TemporaryDirectory() as tmp, \
            dg.instance_for_test() as instance:
        client = server.client(config=Config(max_pool_connections=16))
        client.create_bucket(Bucket=BUCKET)
        body = customers(3).to_csv(index=False).encode()
        objects = [(f"{PREFIX}day-{i % 50:02d}/snapshot-{i:05d}.csv", body) for i in range(N_KEYS)]
        objects += [(f"{PREFIX}folder-{i}/", b"") for i in range(10)]  # console folder markers
        objects += [(f"{PREFIX}notes-{i}.txt", b"notes") for i in range(10)]
        with ThreadPoolExecutor(16) as pool:
            upload_s, _ = timed(lambda: list(pool.map(
                lambda kv: client.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1]), objects)))
        print(f"\n(uploaded {len(objects):,} objects to {server.endpoint_url} in {upload_s:.1f} s)")

        def ours(cursor: LandingCursor) -> Any:
            return select_new(list_s3(client, BUCKET, PREFIX), cursor)

        ours_cold_s, cold = timed(partial(ours, LandingCursor()), repeats)
        ours_warm_s, warm = timed(partial(ours, cold.cursor), repeats)
        config = write_dataset_yaml(Path(tmp), str(Path(tmp) / "unused.csv"),
                                    f"s3://{BUCKET}/{PREFIX}")
        with environ(AWS_ENDPOINT_URL_S3=server.endpoint_url, AWS_ACCESS_KEY_ID="testing",
                     AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION,
                     CHURN_DATASET_CONFIG=str(config)):
            def tick(cursor: str | None) -> dg.SensorExecutionData:
                context = dg.build_sensor_context(
                    instance=instance, cursor=cursor,
                    resources={"dataset": DatasetResource(), "s3": S3Resource()})
                return new_customer_data_sensor.evaluate_tick(context)

            tick_cold_s, tick_cold = timed(partial(tick, None), repeats)
            tick_warm_s, tick_warm = timed(partial(tick, tick_cold.cursor), repeats)
        theirs_cold_s, theirs = timed(lambda: get_objects(
            BUCKET, PREFIX, since_key=None, since_last_modified=None, client=client), repeats)
        newest = max(obj["LastModified"] for obj in theirs)
        theirs_warm_s, theirs_warm = timed(lambda: get_objects(
            BUCKET, PREFIX, since_last_modified=newest, client=client), repeats)
        ours_mib = peak_traced_mib(lambda: list(list_s3(client, BUCKET, PREFIX)))
        theirs_mib = peak_traced_mib(lambda: get_objects(BUCKET, PREFIX, client=client))
        server.reset()  # drop moto's 10,000 objects before the next sections
    ignored = ", ".join(f"{n} {why}" for why, n in sorted(cold.ignored.items()))
    table(f"1. S3 landing, {N_KEYS:,} CSV keys + 20 ignored (moto HTTP), median of {repeats}",
          ("what", "cold s", "warm s", "cold result", "warm result"),
          [("ours: list_s3 + select_new", f"{ours_cold_s:.3f}", f"{ours_warm_s:.3f}",
            f"{len(cold.new):,} new", f"{len(warm.new)} new"),
           ("ours: new_customer_data_sensor tick", f"{tick_cold_s:.3f}", f"{tick_warm_s:.3f}",
            f"{len(tick_cold.run_requests):,} run requests",
            "skip" if tick_warm.skip_message else f"{len(tick_warm.run_requests)} requests"),
           ("dagster_aws get_objects", f"{theirs_cold_s:.3f}", f"{theirs_warm_s:.3f}",
            f"{len(theirs):,} objects", f"{len(theirs_warm)} objects"),
           ("ratio listing ours/get_objects", ratio(ours_cold_s, theirs_cold_s),
            ratio(ours_warm_s, theirs_warm_s), "", ""),
           ("ratio sensor tick/get_objects", ratio(tick_cold_s, theirs_cold_s),
            ratio(tick_warm_s, theirs_warm_s), "", "")])
    print(f"(ours ignored on every tick: {ignored})")
    table(f"1b. Peak Python memory listing {len(objects):,} keys (tracemalloc, one run)",
          ("what", "peak MiB"),
          [("ours: list(list_s3(...))", f"{ours_mib:.1f}"),
           ("dagster_aws get_objects", f"{theirs_mib:.1f}"),
           ("ratio ours/get_objects", ratio(ours_mib, theirs_mib))])
    SUMMARY.extend([("S3 listing 10k keys, ours/get_objects (cold)",
                     ratio(ours_cold_s, theirs_cold_s)),
                    ("S3 sensor tick 10k keys / get_objects (cold)",
                     ratio(tick_cold_s, theirs_cold_s)),
                    ("S3 listing peak memory, ours/get_objects", ratio(ours_mib, theirs_mib))])


def bench_local_landing(n_files: int = 2_000, repeats: int = 5) -> None:
    """2. A local landing folder: cold tick hashes every file, warm tick skips by mtime."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        body = customers(40).to_csv(index=False).encode()
        for i in range(n_files):
            path = root / f"day-{i % 20:02d}" / f"snapshot-{i:04d}.csv"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(body)
        cold_s, cold = timed(lambda: select_new(list_local(root), LandingCursor()), repeats)
        cursor = cold.cursor
        rehash_s, rehash = timed(lambda: select_new(list_local(root), cursor), repeats)
        warm_s, warm = timed(
            lambda: select_new(list_local(root, newer_than=cursor.last_modified), cursor), repeats)

    def hashed(selection: Any) -> int:
        return len(selection.new) + sum(selection.ignored.values())

    table(f"2. Local landing, {n_files:,} files of {len(body):,} bytes, median of {repeats}",
          ("tick", "seconds", "files hashed", "new"),
          [("cold (empty cursor)", f"{cold_s:.4f}", hashed(cold), len(cold.new)),
           ("warm, no newer_than (hash all)", f"{rehash_s:.4f}", hashed(rehash), len(rehash.new)),
           ("warm, newer_than=cursor (sensor)", f"{warm_s:.4f}", hashed(warm), len(warm.new)),
           ("ratio cold/warm", ratio(cold_s, warm_s), "", "")])
    SUMMARY.append(("local landing 2k files, cold/warm tick", ratio(cold_s, warm_s)))


def bench_drift(rows: int = 5_000, repeats: int = 5) -> None:
    """3. detect_drift on 5,000 reference vs 5,000 current rows, unshifted and shifted."""
    config = load_dataset_config(DEFAULT_CONFIG_PATH)
    reference = customers(rows, seed=11)
    roles = infer_column_roles(reference, config)
    reference = coerce_numeric(reference, roles.numeric)[0]
    results = []
    for label, shift in (("unshifted", {}), ("shifted", SHIFT)):
        current = coerce_numeric(customers(rows, seed=12, **shift), roles.numeric)[0]
        seconds, report = timed(partial(detect_drift, reference, current, roles.numeric,
                                        roles.categorical, config.drift), repeats)
        results.append((label, seconds, report))
    table(f"3. detect_drift, {rows:,} vs {rows:,} rows, {len(roles.features)} features, "
          f"median of {repeats}", ("current", "seconds", "drifted_share", "drift_detected"),
          [(label, f"{s:.3f}", f"{r.drifted_share:.2f}", r.drift_detected)
           for label, s, r in results]
          + [("ratio shifted/unshifted", ratio(results[1][1], results[0][1]), "", "")])
    SUMMARY.append(("drift 5k vs 5k, shifted/unshifted time", ratio(results[1][1], results[0][1])))


def tuning_matrices() -> tuple[Any, ...]:
    """The bundled data through the asset path: read, coerce, split, fit on train, transform."""
    config = load_dataset_config(DEFAULT_CONFIG_PATH)
    raw = read_source(config.source).frame
    frame = coerce_numeric(raw, infer_column_roles(raw, config).numeric)[0]
    split = assign_splits(frame[config.id_column], config.split).to_numpy()
    label = binary_target(frame[config.target], config.positive_label).to_numpy()
    roles = infer_column_roles(frame, config)
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical)
    matrix = preprocessor.fit(frame[split == "train"]).transform(frame)
    return (config, matrix[split == "train"], label[split == "train"],
            matrix[split == "valid"], label[split == "valid"])


def bench_tuning(n_trials: int = 20) -> None:
    """4. tune() with the project's MedianPruner (open_study) vs the same study, NopPruner."""
    config, x_train, y_train, x_valid, y_valid = tuning_matrices()
    tuning = dataclasses.replace(config.tuning, n_trials=n_trials, timeout_seconds=None)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        nop = optuna.create_study(  # open_study's pieces, only the pruner differs
            study_name="bench-nop", direction="minimize", sampler=optuna.samplers.TPESampler(
                seed=tuning.seed), pruner=optuna.pruners.NopPruner(),
            storage=JournalStorage(JournalFileBackend(str(Path(tmp) / "nop.journal"))))
        median = open_study(Path(tmp) / "median.journal", "bench-median", tuning.seed)
        for label, study in (("MedianPruner (project)", median), ("NopPruner", nop)):
            seconds, result = timed(partial(tune, study, tuning, x_train, y_train,
                                            x_valid, y_valid))
            rows.append((label, seconds, result))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table(f"4. Tuning on data/customers.csv ({len(y_train):,} train / {len(y_valid):,} valid "
          f"rows, {x_train.shape[1]} features), n_trials={n_trials}, one run each",
          ("pruner", "seconds", "s/trial", "pruned share", "best valid logloss"),
          [(label, f"{s:.1f}", f"{s / r.n_trials:.2f}", f"{r.n_pruned / r.n_trials:.0%}",
            f"{r.best_value:.4f}") for label, s, r in rows]
          + [("ratio Median/Nop", ratio(rows[0][1], rows[1][1]), "", "", "")])
    print(f"(peak RSS of this process: {rss_before:.0f} MiB before tuning, "
          f"{rss_after:.0f} MiB after; ru_maxrss covers all earlier sections too)")
    SUMMARY.append(("tuning 20 trials, MedianPruner/NopPruner time", ratio(rows[0][1],
                                                                           rows[1][1])))


def multiprocess_graph_job() -> dg.JobDefinition:
    """The whole graph on the multiprocess executor; each step process rebuilds it from here."""
    from churn_assets.definitions import defs

    job = dg.define_asset_job("bench_graph_multiprocess", selection=dg.AssetSelection.all(),
                              executor_def=dg.multiprocess_executor)
    return dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks,
                          resources=defs.resources, jobs=[job]).resolve_job_def(job.name)


def run_graph(executor: str) -> tuple[float, bool, int]:
    """Materialize every asset on 1,500 generated rows with fresh state, MLflow and instance."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "data" / "customers.csv"
        source.parent.mkdir()
        customers(1500).to_csv(source, index=False)
        config = write_dataset_yaml(root, str(source), str(root / "landing") + "/")
        with environ(CHURN_STATE_DIR=str(root / "state"), CHURN_DATASET_CONFIG=str(config),
                     MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"), \
                dg.instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
            start = time.perf_counter()
            if executor == "in_process":
                result = materialize_graph(ChurnWorkspace(root, instance))
                outcome = result.success, len(result.get_asset_materialization_events())
            else:
                with dg.execute_job(dg.reconstructable(multiprocess_graph_job),
                                    instance=instance, raise_on_error=False) as result:
                    outcome = result.success, len(result.get_asset_materialization_events())
            seconds = time.perf_counter() - start
        while mlflow.active_run():
            mlflow.end_run()
    return seconds, *outcome


def bench_executors() -> None:
    """5. The whole graph in process (materialize) vs dg.multiprocess_executor."""
    import_s, _ = timed(lambda: subprocess.run(
        [sys.executable, "-c", "import churn_assets.definitions"], check=True))
    in_s, in_ok, in_n = run_graph("in_process")
    mp_s, mp_ok, mp_n = run_graph("multiprocess")
    child_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    table(f"5. Whole graph, 1,500 rows, n_trials={FAST_TUNING['n_trials']}, one run each "
          f"({os.cpu_count()} CPUs)", ("executor", "wall s", "success", "assets materialized"),
          [("in_process (dg.materialize)", f"{in_s:.1f}", in_ok, in_n),
           ("multiprocess_executor (execute_job)", f"{mp_s:.1f}", mp_ok, mp_n),
           ("ratio multiprocess/in_process", ratio(mp_s, in_s), "", "")])
    print(f"(a fresh interpreter takes {import_s:.1f} s to import churn_assets.definitions, "
          f"paid by every step process; largest child peak RSS {child_mib:.0f} MiB)")
    SUMMARY.append(("whole graph, multiprocess/in_process", ratio(mp_s, in_s)))


SECTIONS = {"1": bench_s3_sensor, "2": bench_local_landing, "3": bench_drift,
            "4": bench_tuning, "5": bench_executors}


def main(chosen: list[str]) -> None:
    """Run the chosen sections (all by default), then the summary and the total wall time."""
    start = time.perf_counter()
    print(f"churn_assets bench: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"dagster {dg.__version__}")
    for key in chosen or list(SECTIONS):
        SECTIONS[key]()
    table("Summary: key ratios", ("comparison", "ratio"), SUMMARY)
    print(f"\ntotal bench wall time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
