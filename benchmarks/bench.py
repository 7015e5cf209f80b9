"""``make bench``: the project's full graph against the plain script it replaces, same data.

For every size: (a) ``benchmarks/plain_script.py`` (load, split, get_dummies, 50 Optuna trials
over XGBoost at threshold 0.5) and (b) ``dagster asset materialize -m churn_assets --select '*'``
with a fresh DAGSTER_HOME, MLflow store, state folder and dataset YAML, both as subprocesses.
Per subprocess: wall and CPU seconds and peak RSS (``wait4``), plus the peak summed RSS of its
process tree (polled from /proc). (b)'s step times come from the Dagster event log and its
metrics and trial count from MLflow. Results go to ``.bench/latest.json`` (the previous file
is compared against, then kept as ``.bench/previous.json``).

    python -m benchmarks.bench                         # Telco (if present), 10k, 100k
    python -m benchmarks.bench --million               # ... and 1M rows
    BENCH_SIZES=10k,1m python -m benchmarks.bench      # any subset: telco, 10k, 100k, 1m, <n>
    python -m benchmarks.bench --no-plain --sizes 100k # the graph only
    python -m benchmarks.bench --sensor 12345          # also the sensor/drift/executor figures
    python -m benchmarks.bench --dask                  # also Dask tuning, 1 vs 2 workers
    python -m benchmarks.bench --snapshot --sizes 1m   # ... then a landed 1M snapshot to scores
    python -m benchmarks.bench --no-plain --init --sizes bundled,telco,noid,wide
                     # YAMLs written by `init`; noid = generated rows without an id column,
                     # wide = the same plus a 51-level region that carries signal

Every graph run is followed by the strong reference (``benchmarks.strong_reference``):
HistGradientBoostingClassifier (defaults) and a logistic regression on the run's own train
rows, scored on its own test rows, against the champion's test ROC-AUC.

    python -m benchmarks.bench --promotion --sizes ""   # only the promotion rule's error rates
    BENCH_DASK=1 BENCH_SENSOR=12345 make bench         # the same flags through make
    BENCH_PROMOTION=1 make bench                       # ... and the promotion error rates
    BENCH_SERVE=1 make bench                           # ... and the scoring service against
                                                       # `mlflow models serve` (serve_bench)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_TELCO = ROOT.parent / "shared" / "data" / "telco-customer-churn.csv"
RESULTS = ROOT / ".bench"
GENERATOR_SEED = 7
DEFAULT_SIZES = "telco,10k,100k"
PLAIN_MAX_ROWS = 200_000


@dataclass
class ProcessFigures:
    """What one measured subprocess cost."""

    wall_s: float
    cpu_s: float  # user + system of the process and its waited-for children
    peak_rss_mib: float  # largest single process (ru_maxrss)
    peak_tree_rss_mib: float  # largest sum over the process tree, polled every 0.1 s
    returncode: int
    # (unix time, tree RSS MiB, tree CPU s) polls, for the per-step figures; not written to
    # the results
    samples: list[tuple[float, float, float]] = field(default_factory=list, repr=False)


@dataclass
class SideResult:
    """One side (plain script or graph) on one data set."""

    process: ProcessFigures
    metrics: dict[str, float] = field(default_factory=dict)  # valid/test F1 and ROC-AUC
    n_trials: int | None = None
    tuning_s: float | None = None  # the script's own tuning; the graph's tuning step
    steps_s: dict[str, float] = field(default_factory=dict)
    steps_peak_rss_mib: dict[str, float] = field(default_factory=dict)  # tree RSS in the step
    steps_done_at_s: dict[str, float] = field(default_factory=dict)  # since the process started
    # the process tree's CPU seconds in each step's window (all steps run one at a time in
    # the local in-process executor); "(before run)": process start to RUN_START
    steps_cpu_s: dict[str, float] = field(default_factory=dict)
    error: str = ""


def _tree_usage(root_pid: int) -> tuple[int, float]:
    """Summed VmRSS (KiB) of ``root_pid`` and all its descendants, and their CPU seconds so
    far (user + system, with their waited-for children's), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields_ = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(entry.name), int(fields_.get("PPid", "0"))
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields_.get("VmRSS", "0 kB").split()[0])
    total, ticks, todo = 0, 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        ticks += _cpu_ticks(pid)
        todo += children.get(pid, [])
    return total, ticks / CLOCK_TICKS


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of ``pid`` (0 if it is gone): a reaped child's time
    moves into its parent's cutime, so the tree's sum only grows."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return sum(int(v) for v in stat.rsplit(")", 1)[1].split()[11:15])


def run_measured(command: list[str], env: dict[str, str], log: Path) -> ProcessFigures:
    """Run ``command`` to completion; its own rusage via wait4, tree RSS by polling /proc."""
    start = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    peak_tree, done = [0], threading.Event()
    samples: list[tuple[float, float, float]] = [(time.time(), 0.0, 0.0)]

    def poll() -> None:
        while not done.wait(0.1):
            rss, cpu = _tree_usage(process.pid)
            peak_tree[0] = max(peak_tree[0], rss)
            samples.append((time.time(), rss / 1024, cpu))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    process.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    return ProcessFigures(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                          peak_tree[0] / 1024, process.returncode, samples)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    # OpenMP's wait policy is left as the user has it: PASSIVE made the plain script (XGBoost
    # on all cores, small data) 4.6x slower on a quiet machine (11.6 s -> 53.9 s, Telco), so a
    # ratio under it flatters the graph (whose trials each use one thread). On a machine
    # shared with other work, spinning threads burn time slices: export OMP_WAIT_POLICY=PASSIVE
    # for both sides there, and say so with the figures (the header prints the policy).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_plain_script(csv: Path, work: Path) -> SideResult:
    log = work / "plain_script.log"
    figures = run_measured([sys.executable, "-m", "benchmarks.plain_script", str(csv)],
                           base_env(), log)
    result = SideResult(figures)
    lines = log.read_text(errors="replace").strip().splitlines()
    try:
        reported = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result.error = f"plain script failed, see {log}: {lines[-1:] or ['(no output)']}"
        return result
    result.metrics = {k: reported[k] for k in ("valid_f1", "valid_roc_auc", "test_f1",
                                                "test_roc_auc")}
    result.n_trials, result.tuning_s = reported["n_trials"], reported["tuning_seconds"]
    return result


def write_init_yaml(source: Path, work: Path) -> Path:
    """The dataset YAML `python -m churn_assets init` proposes, as a new user would start."""
    path = work / "dataset.yaml"
    subprocess.run([sys.executable, "-m", "churn_assets", "init", str(source), "--target",
                    "Churn", "--out", str(path), "--model-name", "churn-bench"],
                   env=base_env(), cwd=ROOT, check=True)
    with path.open("a") as handle:  # init writes no landing; keep the bench's own
        handle.write(yaml.safe_dump({"landing": str(work / "landing") + "/"}))
    return path


def write_dataset_yaml(source: Path, telco: bool, work: Path) -> Path:
    """The dataset YAML a user would write: examples/telco.yaml or dataset.yaml, re-pointed."""
    template = ROOT / ("examples/telco.yaml" if telco else "dataset.yaml")
    raw = yaml.safe_load(template.read_text())
    raw |= {"source": str(source), "landing": str(work / "landing") + "/",
            "model_name": "churn-bench"}
    path = work / "dataset.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _step_times(dagster_home: Path) -> tuple[dict[str, float], str,
                                            dict[str, tuple[float, float]]]:
    """Seconds per step (STEP_START to STEP_SUCCESS/FAILURE) of the newest run in this
    instance, the run's status, and each step's (start, end) unix times."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
             dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_START,
             dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE}
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        if not runs:
            return {}, "no Dagster run recorded", {}
        run = runs[0]
        starts: dict[str, float] = {}
        steps: dict[str, float] = {}
        windows: dict[str, tuple[float, float]] = {}
        for entry in instance.all_logs(run.run_id, of_type=kinds):
            key = entry.step_key or "(run)"
            kind = entry.dagster_event.event_type
            if kind in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.RUN_START):
                starts[key] = entry.timestamp
            elif key in starts:
                steps[key] = entry.timestamp - starts[key]
                windows[key] = (starts[key], entry.timestamp)
        status = "" if run.status == dg.DagsterRunStatus.SUCCESS else run.status.value
        return steps, status, windows


def step_peaks(samples: list[tuple[float, float, float]],
               windows: dict[str, tuple[float, float]]) -> dict[str, float]:
    """The largest polled tree RSS (MiB) inside each step's window."""
    return {step: max((rss for at, rss, _ in samples if start <= at <= end), default=0.0)
            for step, (start, end) in windows.items()}


def _cpu_at(samples: list[tuple[float, float, float]], when: float) -> float:
    """The tree's CPU seconds at ``when``, interpolated between the polls around it."""
    before = max((s for s in samples if s[0] <= when), default=samples[0])
    after = min((s for s in samples if s[0] >= when), default=samples[-1])
    if after[0] <= before[0]:
        return before[2]
    share = (when - before[0]) / (after[0] - before[0])
    return before[2] + share * (after[2] - before[2])


def step_cpu(samples: list[tuple[float, float, float]],
             windows: dict[str, tuple[float, float]]) -> dict[str, float]:
    """CPU seconds of the process tree inside each step's window (polls every 0.1 s, so
    +-0.1 s or so), and "(before run)": from the first poll to RUN_START."""
    if len(samples) < 2:
        return {}
    cpu = {step: _cpu_at(samples, end) - _cpu_at(samples, start)
           for step, (start, end) in windows.items()}
    if "(run)" in windows:
        cpu["(before run)"] = _cpu_at(samples, windows["(run)"][0])
    return cpu


def _mlflow_figures(tracking_uri: str) -> tuple[dict[str, float], int | None]:
    """The candidate run's valid/test metrics and n_trials."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    for run in client.search_runs(experiments, filter_string="metrics.test_f1 > -1"):
        metrics = run.data.metrics
        return ({k: metrics[k] for k in ("valid_f1", "valid_roc_auc", "test_f1",
                                         "test_roc_auc") if k in metrics},
                int(metrics["n_trials"]) if "n_trials" in metrics else None)
    return {}, None


def graph_env(work: Path) -> dict[str, str]:
    """The environment of every Dagster process on ``work``'s stores (fresh on first use)."""
    env = base_env() | {
        "DAGSTER_HOME": str(work / "dagster_home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow' / 'mlflow.db'}",
        "CHURN_STATE_DIR": str(work / "state"), "TMPDIR": str(work),
        "CHURN_DATASET_CONFIG": str(work / "dataset.yaml"),
    }
    env.pop("CHURN_DEPLOYMENT", None)
    return env


def run_graph(csv: Path, telco: bool, work: Path, init: bool = False) -> SideResult:
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    if init:
        write_init_yaml(csv, work)
    else:
        write_dataset_yaml(csv, telco, work)
    env = graph_env(work)
    tracking_uri = env["MLFLOW_TRACKING_URI"]
    log = work / "graph.log"
    figures = run_measured([sys.executable, "-m", "dagster", "asset", "materialize", "-m",
                            "churn_assets", "--select", "*"], env, log)
    result = SideResult(figures)
    result.steps_s, status, windows = _step_times(home)
    result.steps_peak_rss_mib = step_peaks(figures.samples, windows)
    result.steps_cpu_s = step_cpu(figures.samples, windows)
    if "(run)" in windows:
        result.steps_s["(before run)"] = windows["(run)"][0] - figures.samples[0][0]
    result.tuning_s = result.steps_s.get("tuned_churn_model")
    result.metrics, result.n_trials = _mlflow_figures(tracking_uri)
    if figures.returncode or status:
        result.error = f"graph run {status or 'failed'} (exit {figures.returncode}), see {log}"
    return result


BUNDLED = ROOT / "data" / "customers.csv"


def wide_region(churned: pd.Series, levels: int = 51) -> list[str]:
    """A 51-level region whose churn rate differs by region (the issue's public table had one
    just over the old cap of 50): churners are three times as likely in the first 13 regions."""
    import numpy as np

    rng = np.random.default_rng(GENERATOR_SEED)
    weights = np.where(np.arange(levels) < 13, 3.0, 1.0)
    risky, plain = weights / weights.sum(), np.full(levels, 1 / levels)
    return [f"region_{rng.choice(levels, p=risky if c else plain):02d}" for c in churned]


def bench_table(name: str, rows: int | None, work: Path) -> tuple[Path, bool]:
    """(CSV, is-Telco-shaped-real-data) for a size name: telco, bundled, noid[<n>], or <n>."""
    from churn_assets.generator import generate_customers, write_customer_file

    if name == "bundled":
        return BUNDLED, False
    csv = work / "customers.csv"
    if name.startswith(("noid", "wide")):
        frame = generate_customers(rows or 7043, GENERATOR_SEED).drop(columns="customerID")
        if name.startswith("wide"):
            frame["region"] = wide_region(frame["Churn"] == "Yes")
        frame.to_csv(csv, index=False)
    else:
        write_customer_file(csv, rows, GENERATOR_SEED)  # streamed: 10M rows hold one chunk
    return csv, False


def parse_size(name: str) -> int | None:
    """'telco' -> None (the shared file); '10k' -> 10_000; '1m' -> 1_000_000; '10m' ->
    10_000_000; '2500' -> 2500."""
    name = name.strip().lower()
    if name in ("telco", "bundled", "noid", "wide"):
        return None
    name = name.removeprefix("noid").removeprefix("wide")
    scale = {"k": 1_000, "m": 1_000_000}.get(name[-1], 1)
    return int(float(name.rstrip("km")) * scale)


def _as_entry(result: SideResult) -> dict[str, Any]:
    entry = asdict(result)
    entry["process"].pop("samples")  # thousands of polls: only their per-step peaks are kept
    return entry


def bench_size(name: str, plain_max_rows: int, keep: Path | None, init: bool = False,
               snapshot: bool = False) -> dict[str, Any] | None:
    rows = parse_size(name)
    plain = (rows or 0) <= plain_max_rows and not name.startswith(("noid", "wide"))
    if name == "telco" and not SHARED_TELCO.is_file():
        print(f"skip telco: {SHARED_TELCO} is absent", flush=True)
        return None
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=keep))
    csv = SHARED_TELCO if name == "telco" else bench_table(name, rows, work)[0]
    entry: dict[str, Any] = {"size": name, "rows": rows or sum(1 for _ in csv.open()) - 1}
    if not plain:
        print(f"[{name}] plain script skipped: more than {plain_max_rows:,} rows", flush=True)
    else:
        print(f"[{name}] plain script ...", flush=True)
        entry["plain"] = _as_entry(run_plain_script(csv, work))
    print(f"[{name}] full graph ...", flush=True)
    entry["graph"] = _as_entry(run_graph(csv, name == "telco", work, init=init))
    if not entry["graph"]["error"]:
        from benchmarks.strong_reference import strong_reference

        print(f"[{name}] strong reference ...", flush=True)
        entry["reference"] = strong_reference(work / "state")
        if snapshot:
            from benchmarks.snapshot_bench import run_snapshot

            print(f"[{name}] snapshot to scores ...", flush=True)
            entry["snapshot"] = _as_entry(run_snapshot(work, csv if rows is None else None,
                                                       rows))
    if init:
        entry["init_yaml"] = (work / "dataset.yaml").read_text()
    for side in ("plain", "graph", "snapshot"):
        if entry.get(side, {}).get("error"):
            print(f"[{name}] {side}: {entry[side]['error']}", flush=True)
    if keep is None:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return entry


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def _ratio(b: float | None, a: float | None) -> str:
    return f"{b / a:.2f}x" if a and b is not None else "-"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n== {title}")
    for i, row in enumerate([header, *rows]):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


METRICS = ("valid_f1", "valid_roc_auc", "test_f1", "test_roc_auc")


def report(entries: list[dict[str, Any]]) -> None:
    header = ["data / side", "rows", "wall s", "CPU s", "peak RSS MiB", "tree RSS MiB",
              "trials", "tuning s", *METRICS]
    rows = []
    for e in entries:
        for side in ("plain", "graph"):
            if side not in e:
                continue
            s, p = e[side], e[side]["process"]
            rows.append([f"{e['size']} {'(a) plain script' if side == 'plain' else '(b) graph'}",
                         f"{e['rows']:,}", _fmt(p["wall_s"]), _fmt(p["cpu_s"]),
                         _fmt(p["peak_rss_mib"]), _fmt(p["peak_tree_rss_mib"]),
                         _fmt(s["n_trials"]), _fmt(s["tuning_s"]),
                         *(_fmt(s["metrics"].get(m)) for m in METRICS)])
        if "plain" in e:
            a, b = e["plain"], e["graph"]
            rows.append([f"{e['size']} ratio b/a", "",
                         *(_ratio(b["process"][k], a["process"][k]) for k in
                           ("wall_s", "cpu_s", "peak_rss_mib", "peak_tree_rss_mib")),
                         "", _ratio(b["tuning_s"], a["tuning_s"]),
                         *(_fmt(b["metrics"].get(m, float("nan")) - a["metrics"].get(
                             m, float("nan"))) for m in METRICS)])
    print_table("plain script (a) vs full graph (b); ratio row: b/a for costs, b-a for metrics",
                header, rows)
    step_names = list(dict.fromkeys(k for e in entries for k in e["graph"]["steps_s"]))
    print_table("per-step seconds of (b), from the Dagster event log ((run) = RUN_START to end)"
                "; CPU s of the process tree and peak tree RSS MiB polled inside each step",
                ["step", *(f"{e['size']} {c}" for e in entries for c in ("s", "CPU s",
                                                                          "peak MiB"))],
                [[step, *(_fmt(v) for e in entries for v in (
                    e["graph"]["steps_s"].get(step),
                    e["graph"].get("steps_cpu_s", {}).get(step),
                    e["graph"].get("steps_peak_rss_mib", {}).get(step)))]
                 for step in step_names])
    referenced = [e for e in entries if e.get("reference")]
    if referenced:
        from benchmarks.strong_reference import TARGET_GAP, gap_row

        names = sorted(referenced[0]["reference"])
        print_table(f"strong reference: test ROC-AUC on the same test rows (target: champion "
                    f">= better reference - {TARGET_GAP})",
                    ["data", "champion", *names, "champion - best", "target met"],
                    [gap_row(e["size"], e["graph"]["metrics"], e["reference"])
                     for e in referenced])
        print_table("strong reference: valid ROC-AUC / test F1 (threshold 0.5)",
                    ["data", *(f"{n} {m}" for n in names for m in ("valid_auc", "test_f1"))],
                    [[e["size"], *(f"{e['reference'][n][k]:.4f}" for n in names
                                   for k in ("valid_roc_auc", "test_f1"))]
                     for e in referenced])
    snapshots = [e for e in entries if e.get("snapshot")]
    if snapshots:
        from benchmarks.snapshot_bench import snapshot_table

        print_table(*snapshot_table(snapshots))
    by_size = {e["size"]: e for e in entries}
    if "100k" in by_size and "1m" in by_size:
        print("\ngrowth 100k -> 1M, graph wall: " + _ratio(
            by_size["1m"]["graph"]["process"]["wall_s"],
            by_size["100k"]["graph"]["process"]["wall_s"]))


def compare(previous: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Print current vs previous for the figures that matter, per size and side."""
    before = {e["size"]: e for e in previous.get("entries", [])}
    rows = []
    for e in entries:
        old = before.get(e["size"])
        for side in ("plain", "graph"):
            if not old or side not in e or side not in old:
                continue
            for label, get in (("wall s", lambda s: s["process"]["wall_s"]),
                               ("CPU s", lambda s: s["process"]["cpu_s"]),
                               ("peak RSS MiB", lambda s: s["process"]["peak_rss_mib"]),
                               ("tuning s", lambda s: s["tuning_s"]),
                               ("test_roc_auc", lambda s: s["metrics"].get("test_roc_auc"))):
                was, now = get(old[side]), get(e[side])
                rows.append([f"{e['size']} {side} {label}", _fmt(was), _fmt(now),
                             _ratio(now, was)])
    if rows:
        print_table(f"change against the previous run ({previous.get('when', '?')})",
                    ["figure", "previous", "now", "now/previous"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", DEFAULT_SIZES),
                        help="comma list of telco, bundled, noid, wide, 10k, 100k, 1m, 10m or "
                        "a row count")
    parser.add_argument("--million", action="store_true", help="add 1m to the sizes")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain script")
    parser.add_argument("--plain-max-rows", type=int, default=PLAIN_MAX_ROWS,
                        help="skip the plain script above this many rows (it has no sampling "
                        "and no early stopping: hours at 1M rows on 2 cores)")
    parser.add_argument("--init", action="store_true",
                        help="write each dataset YAML with `python -m churn_assets init` "
                        "instead of the bundled/Telco templates")
    parser.add_argument("--keep", type=Path, help="keep each size's work folder under here")
    parser.add_argument("--dask", action="store_true", default=bool(os.environ.get("BENCH_DASK")),
                        help="also tune on a local Dask cluster with 1 vs 2 workers and print "
                        "the paper estimate for 10M rows ($BENCH_DASK)")
    parser.add_argument("--sensor", default=os.environ.get("BENCH_SENSOR", ""),
                        metavar="SECTIONS",
                        help="also run benchmarks.sensor_bench sections, e.g. 12345")
    parser.add_argument("--promotion", action="store_true",
                        default=bool(os.environ.get("BENCH_PROMOTION")),
                        help="also run benchmarks.promotion_bench: the promotion rule's error "
                        "rates on identical-data retrains and truly better challengers "
                        "($BENCH_PROMOTION)")
    parser.add_argument("--serve", action="store_true",
                        default=bool(os.environ.get("BENCH_SERVE")),
                        help="also run benchmarks.serve_bench: the scoring service against "
                        "`mlflow models serve`, side by side ($BENCH_SERVE)")
    parser.add_argument("--snapshot", action="store_true",
                        default=bool(os.environ.get("BENCH_SNAPSHOT")),
                        help="after each size's graph run, land a new labeled snapshot of the "
                        "same size and time snapshot_intake_job on it in a fresh process "
                        "($BENCH_SNAPSHOT)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    if args.million and "1m" not in sizes:
        sizes.append("1m")
    start = time.perf_counter()
    print(f"churn_assets bench: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"load average {os.getloadavg()[0]:.1f}, OMP_WAIT_POLICY="
          f"{base_env().get('OMP_WAIT_POLICY', '(unset)')}; sizes {', '.join(sizes)}", flush=True)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    plain_max_rows = -1 if args.no_plain else args.plain_max_rows
    entries = [e for e in (bench_size(s, plain_max_rows, args.keep, args.init, args.snapshot)
                           for s in sizes) if e]
    if entries:
        report(entries)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.out.is_file():
            previous = json.loads(args.out.read_text())
            compare(previous, entries)
            args.out.with_name("previous.json").write_text(json.dumps(previous, indent=1))
        args.out.write_text(json.dumps({
            "when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
            "omp_wait_policy": base_env().get("OMP_WAIT_POLICY", "(unset)"),
            "load_average_end": os.getloadavg()[0], "entries": entries}, indent=1))
        print(f"\nresults: {args.out}")
    if args.sensor:
        from benchmarks import sensor_bench

        sensor_bench.main(list(args.sensor))
    if args.promotion:
        from benchmarks import promotion_bench

        promotion_bench.main([])
    if args.dask:
        from benchmarks import dask_bench

        dask_bench.main()
    if args.serve:
        from benchmarks import serve_bench

        serve_bench.main([])
    print(f"total bench wall time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
