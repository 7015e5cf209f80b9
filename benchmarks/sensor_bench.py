"""Sensor, landing, drift, pruning and executor figures, side by side (optional part of the
bench: ``python -m benchmarks.bench --sensor 123`` or ``python -m benchmarks.sensor_bench 2 3``).
Temp folders and 127.0.0.1 only, cleaned up after."""

from __future__ import annotations

import logging
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

import dagster as dg
import optuna
from botocore.config import Config
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects

from churn_assets.data.column_roles import coerce_numeric, infer_column_roles
from churn_assets.data.landing_cursor import LandingCursor, list_local, list_s3, select_new
from churn_assets.data.sources import read_source
from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, load_dataset_config
from churn_assets.defs.assets.features import (
    customer_features,
    customer_splits,
    feature_preprocessor,
)
from churn_assets.defs.assets.validation import column_roles, validated_customers
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.sensors import new_customer_data_sensor
from churn_assets.model.candidate import split_matrix
from churn_assets.model.tuning import open_study, study_storage, tune
from churn_assets.monitoring.drift import detect_drift
from churn_dev.s3_server import REGION, running_s3_server
from churn_dev.workspace import (
    FAST_TUNING,
    ChurnWorkspace,
    customers,
    materialize_graph,
)

BUCKET, PREFIX, N_KEYS = "bench-landing", "landing/", 10_000
SUMMARY: list[tuple[str, str]] = []
# A strongly shifted snapshot (as in the event-driven test), for the drift section.
SHIFT = {"month_to_month_share": 0.85, "fiber_share": 0.7, "no_internet_share": 0.05,
         "electronic_check_share": 0.6, "senior_share": 0.35, "charges_multiplier": 1.25,
         "tenure_multiplier": 0.6}


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    """Median wall seconds over ``repeats`` calls of ``fn``, and the last call's result."""
    runs = [(time.perf_counter(), fn(), time.perf_counter()) for _ in range(repeats)]  # in order
    return statistics.median(end - start for start, _, end in runs), runs[-1][1]


def ratio(numerator: float, denominator: float) -> str:
    """``numerator / denominator`` formatted as "1.23x"."""
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]],
          right: bool = True) -> None:
    """Print an aligned plain-text table (floats to 4 digits); keep its "ratio" rows for later."""
    cells = [header, *(tuple(f"{c:#.4g}" if isinstance(c, float) else str(c) for c in row)
                       + ("",) * (len(header) - len(row)) for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i and right else c.ljust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print(f"\n== {title}", *lines, sep="\n", flush=True)
    SUMMARY.extend((f"{title.split('.')[0]}. {row[0]}", ", ".join(
        f"{name}: {c}" for name, c in zip(header[1:], row[1:], strict=True) if c))
        for row in cells[1:] if row[0].startswith("ratio"))


def bench_s3_sensor(repeats: int = 3) -> None:
    """1. Listing + selection and a full sensor tick over 10,000 S3 keys vs get_objects."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request
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

        def tick(cursor: str | None) -> dg.SensorExecutionData:
            """One evaluation of the real sensor with its resources, as the daemon runs it."""
            return new_customer_data_sensor.evaluate_tick(dg.build_sensor_context(
                instance=instance, cursor=cursor,
                resources={"dataset": DatasetResource(config_path=str(config)),
                           "s3": S3Resource()}))
        ours = partial(list_s3, client, BUCKET, PREFIX)
        ours_cold_s, cold = timed(lambda: select_new(ours(), LandingCursor()), repeats)
        ours_warm_s, warm = timed(lambda: select_new(ours(), cold.cursor), repeats)
        config = ChurnWorkspace(Path(tmp), instance).write_config(
            f"{tmp}/unused.csv", landing=f"s3://{BUCKET}/{PREFIX}")
        with mock.patch.dict(os.environ, {
                "AWS_ENDPOINT_URL_S3": server.endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}):
            tick_cold_s, tick_cold = timed(partial(tick, None), repeats)
            tick_warm_s, tick_warm = timed(partial(tick, tick_cold.cursor), repeats)
        theirs = partial(get_objects, BUCKET, PREFIX, since_key=None, client=client)
        theirs_cold_s, listed = timed(partial(theirs, since_last_modified=None), repeats)
        newest = max(obj["LastModified"] for obj in listed)
        theirs_warm_s, listed_warm = timed(partial(theirs, since_last_modified=newest), repeats)
        peak_mib = []
        for listing in (lambda: list(ours()), theirs):  # Python heap only, one run each
            tracemalloc.start()
            listing()
            peak_mib.append(tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()
        server.reset()  # free moto's 10,020 objects before the next sections
    table(f"1. S3 landing on moto: {N_KEYS:,} CSV keys + 20 to ignore, uploaded by 16 threads in "
          f"{upload_s:.1f} s; seconds = median of {repeats}; peak MiB = tracemalloc, one listing",
          ("what", "cold s", "warm s", "cold result", "warm result", "peak MiB"), [
              ("ours: list_s3 + select_new", ours_cold_s, ours_warm_s,
               f"{len(cold.new):,} new, {sum(cold.ignored.values())} ignored",
               f"{len(warm.new)} new", peak_mib[0]),
              ("ours: new_customer_data_sensor tick", tick_cold_s, tick_warm_s,
               f"{len(tick_cold.run_requests):,} run requests",
               f"{len(tick_warm.run_requests)} (skip: {tick_warm.skip_message is not None})"),
              ("dagster_aws get_objects", theirs_cold_s, theirs_warm_s,
               f"{len(listed):,} objects", f"{len(listed_warm)} objects", peak_mib[1]),
              ("ratio listing ours/get_objects", ratio(ours_cold_s, theirs_cold_s),
               ratio(ours_warm_s, theirs_warm_s), "", "", ratio(*peak_mib)),
              ("ratio sensor tick/get_objects", ratio(tick_cold_s, theirs_cold_s),
               ratio(tick_warm_s, theirs_warm_s))])


def bench_local_landing(n_files: int = 2_000, repeats: int = 5) -> None:
    """2. A local landing folder: the cold tick hashes every file, the warm one skips by mtime."""
    with tempfile.TemporaryDirectory() as tmp:
        root, body = Path(tmp), customers(40).to_csv(index=False).encode()
        for i in range(n_files):
            (root / f"snapshot-{i:04d}.csv").write_bytes(body)
        cold_s, cold = timed(lambda: select_new(list_local(root), LandingCursor()), repeats)
        rehash_s, rehash = timed(lambda: select_new(list_local(root), cold.cursor), repeats)
        warm_s, warm = timed(lambda: select_new(
            list_local(root, newer_than=cold.cursor.last_modified), cold.cursor), repeats)
    table(f"2. Local landing, {n_files:,} files of {len(body):,} bytes, median of {repeats}",
          ("tick", "seconds", "files hashed", "new"),
          [(label, s, len(sel.new) + sum(sel.ignored.values()), len(sel.new))
           for label, s, sel in (("cold (empty cursor)", cold_s, cold),
                                 ("warm, no newer_than (hashes all)", rehash_s, rehash),
                                 ("warm, newer_than=cursor (sensor)", warm_s, warm))]
          + [("ratio cold/warm tick", ratio(cold_s, warm_s))])


def bench_drift(rows: int = 5_000, repeats: int = 5) -> None:
    """3. detect_drift on 5,000 reference vs 5,000 current rows, unshifted and shifted."""
    config = load_dataset_config(DEFAULT_CONFIG_PATH)
    reference = customers(rows, seed=11)
    roles = infer_column_roles(reference, config)
    reference = coerce_numeric(reference, roles.numeric)[0]
    results = []
    for label, shift in (("unshifted", {}), ("shifted", SHIFT)):
        current = coerce_numeric(customers(rows, seed=12, **shift), roles.numeric)[0]
        results.append((label, *timed(partial(detect_drift, reference, current, roles.numeric,
                                              roles.categorical, config.drift), repeats)))
    table(f"3. detect_drift, {rows:,} vs {rows:,} rows, {len(roles.features)} features, "
          f"median of {repeats}", ("current", "seconds", "drifted_share", "drift_detected"),
          [(label, s, f"{r.drifted_share:.2f}", r.drift_detected) for label, s, r in results]
          + [("ratio shifted/unshifted", ratio(results[1][1], results[0][1]))])


def bench_tuning(n_trials: int = 20, repeats: int = 3) -> None:
    """4. tune() with the project's MedianPruner (open_study) vs the same study with NopPruner,
    on the bundled data prepared by the validation and feature assets."""
    dataset = DatasetResource(config_path=str(DEFAULT_CONFIG_PATH))
    with dg.build_asset_context() as context:  # the asset functions themselves, invoked directly
        raw = read_source(dataset.load().source).frame
        roles = column_roles(context, raw_customers=raw, dataset=dataset).value
        valid = validated_customers(context, raw_customers=raw, column_roles=roles).value
        split = customer_splits(context, validated_customers=valid, dataset=dataset).value
        state = feature_preprocessor(context, customer_splits=split, column_roles=roles).value
        features = customer_features(customer_splits=split, feature_preprocessor=state,
                                     dataset=dataset).value
    (x_train, y_train), (x_valid, y_valid) = (split_matrix(features, s) for s in ("train", "valid"))
    tuning = dataset.load().tuning.model_copy(update={"n_trials": n_trials,
                                                      "timeout_seconds": None})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, nop in (("MedianPruner (open_study)", False), ("NopPruner", True)):
            def run(nop: bool = nop) -> Any:
                """tune() on a fresh open_study (tune resumes a study), pruner swapped if nop."""
                journal = Path(tempfile.mkdtemp(dir=tmp)) / "studies.journal"
                study = open_study(study_storage(f"journal://{journal}"), "bench", tuning.seed)
                study.pruner = optuna.pruners.NopPruner() if nop else study.pruner
                return tune(study, tuning, x_train, y_train, x_valid, y_valid)
            took, result = timed(run, repeats)
            rows.append((label, took, took / result.n_trials,
                         f"{result.n_pruned / result.n_trials:.0%}", result.best_value))
    table(f"4. Tuning on data/customers.csv ({len(y_train):,} train / {len(y_valid):,} valid, "
          f"{x_train.shape[1]} features), n_trials={n_trials}, max_estimators="
          f"{tuning.max_estimators}, early_stopping={tuning.early_stopping_rounds}, median of "
          f"{repeats}; process peak RSS so far (all sections) "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
          ("pruner", "seconds", "s/trial", "pruned share", "best valid logloss"),
          [*rows, ("ratio MedianPruner/NopPruner", ratio(rows[0][1], rows[1][1]),
                   ratio(rows[0][2], rows[1][2]))])


def multiprocess_graph_job() -> dg.JobDefinition:
    """The whole graph on the multiprocess executor; every step process rebuilds it from here."""
    from churn_assets.definitions import defs
    job = dg.define_asset_job("bench_graph_multiprocess", selection=dg.AssetSelection.all(),
                              executor_def=dg.multiprocess_executor)
    return dg.Definitions.merge(defs(), dg.Definitions(jobs=[job])).resolve_job_def(job.name)


def run_graph(in_process: bool) -> tuple[float, bool, int, int]:
    """Materialize every asset on 1,500 generated rows with fresh state, MLflow and instance."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(tempfile, "tempdir", tmp), \
            dg.instance_for_test() as instance, ExitStack() as stack:
        workspace = ChurnWorkspace(Path(tmp), instance)
        config = workspace.write_config(workspace.write_data("customers.csv", customers(1500)))
        stack.enter_context(mock.patch.dict(os.environ, {
            "CHURN_STATE_DIR": f"{tmp}/state", "CHURN_DATASET_CONFIG": str(config), "TMPDIR": tmp,
            "MLFLOW_TRACKING_URI": workspace.tracking_uri}))  # temp dirs: MLflow leaves some
        start = time.perf_counter()  # execute_job's result is a context manager, kept open
        result = materialize_graph(workspace) if in_process else stack.enter_context(
            dg.execute_job(dg.reconstructable(multiprocess_graph_job), instance=instance))
        return (time.perf_counter() - start, result.success, len(result.get_step_success_events()),
                len(result.get_asset_materialization_events()))


def bench_executors() -> None:
    """5. The whole graph in process (dg.materialize) vs on dg.multiprocess_executor."""
    runs = [("in_process (dg.materialize)", *run_graph(in_process=True)),
            ("multiprocess_executor (execute_job)", *run_graph(in_process=False))]
    table(f"5. Whole graph, 1,500 rows, n_trials={FAST_TUNING['n_trials']}, one run each",
          ("executor", "wall s", "success", "steps", "assets materialized"),
          [*runs, ("ratio multiprocess/in_process", ratio(runs[1][1], runs[0][1]))])
    print(f"(about {(runs[1][1] - runs[0][1]) / runs[1][3]:.1f} s more per step: each step process "
          "is a fresh interpreter that imports the project again; largest step process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB)")


def main(chosen: list[str]) -> None:
    """Run the chosen sections (all by default), then the summary and the total wall time."""
    start = time.perf_counter()
    print(f"churn_assets bench: {os.cpu_count()} CPUs, dagster {dg.__version__}")
    sections = (bench_s3_sensor, bench_local_landing, bench_drift, bench_tuning, bench_executors)
    for number in chosen or "12345":
        sections[int(number) - 1]()
    table("Summary: key ratios, as labelled above", ("section / ratio", "value"), SUMMARY, False)
    print(f"\ntotal bench wall time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
