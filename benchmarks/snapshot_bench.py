"""Snapshot to scores: what a landed snapshot costs once a champion exists.

After a size's graph run (``python -m benchmarks.bench --snapshot``), a new labeled snapshot
of the same size (the generator with another seed; a named file such as Telco lands again) is put
through ``snapshot_intake_job`` in a fresh ``dagster job execute`` process on the same stores,
as the S3 sensor's run would: intake, the blocking checks, the online store, scores with
reasons, drift, the champion's realized performance, the monitoring history and the trial.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bench import (
    GENERATOR_SEED,
    SideResult,
    _fmt,
    _step_times,
    graph_env,
    run_measured,
    step_cpu,
    step_peaks,
)

JOB = "snapshot_intake_job"


def land_snapshot(work: Path, rows: int) -> Path:
    from churn_assets.generator import write_customer_file

    path = work / "landing" / "snapshot-0001.csv"
    write_customer_file(path, rows, GENERATOR_SEED + 1)  # streamed, like the bench's table
    return path


def run_snapshot(work: Path, source: Path | None, rows: int | None) -> SideResult:
    """``source`` lands as is; None lands a generated snapshot of ``rows`` rows."""
    snapshot = source or land_snapshot(work, rows or 0)
    config = work / "snapshot_run.yaml"
    config.write_text(yaml.safe_dump(
        {"ops": {"raw_customers": {"config": {"source_uri": str(snapshot)}}}}))
    log = work / "snapshot.log"
    figures = run_measured([sys.executable, "-m", "dagster", "job", "execute", "-m",
                            "churn_assets", "-j", JOB, "-c", str(config)], graph_env(work), log)
    result = SideResult(figures)
    result.steps_s, status, windows = _step_times(work / "dagster_home")
    result.steps_peak_rss_mib = step_peaks(figures.samples, windows)
    result.steps_cpu_s = step_cpu(figures.samples, windows)
    started = figures.samples[0][0]  # the first poll: the process's start
    result.steps_done_at_s = {step: end - started for step, (_, end) in windows.items()}
    if figures.returncode or status:
        result.error = f"{JOB} {status or 'failed'} (exit {figures.returncode}), see {log}"
    return result


def snapshot_table(entries: list[dict[str, Any]]) -> tuple[str, list[str], list[list[str]]]:
    """(title, header, rows) for print_table: per size the process, then each step."""
    header = ["size / step", "rows", "wall s", "done at s", "CPU s", "tree RSS MiB"]
    rows = []
    for e in entries:
        s = e["snapshot"]
        p = s["process"]
        rows.append([f"{e['size']} (process)", f"{e['rows']:,}", _fmt(p["wall_s"]),
                     _fmt(p["wall_s"]), _fmt(p["cpu_s"]), _fmt(p["peak_tree_rss_mib"])])
        rows += [[f"  {step}", "", _fmt(seconds), _fmt(s["steps_done_at_s"].get(step)),
                  _fmt(s["steps_cpu_s"].get(step)), _fmt(s["steps_peak_rss_mib"].get(step))]
                 for step, seconds in s["steps_s"].items()]
    # Scores and drift are what the snapshot is waited for; the online push runs last.
    return (f"snapshot to scores: {JOB} on a newly landed labeled snapshot, fresh process; "
            "'done at' counts from the process start (target at 1M: churn_scores and "
            "feature_drift done <= 60 s)", header, rows)
