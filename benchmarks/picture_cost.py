"""CPU seconds of each picture in a whole-graph run (issues 28 and 31).

Runs ``dagster asset materialize -m churn_assets --select '*'`` as ``benchmarks.bench`` does
(fresh stores, the same dataset YAML), in a child process whose picture functions and
``Figure.savefig`` are wrapped with CPU timers (``time.process_time``: the local executor runs
every step in that process, so the load of other work on the machine does not enter). Prints,
per picture, how often it was drawn and the CPU seconds of drawing (its data work included)
and of saving, then the run's own wall and CPU seconds.

    python -m benchmarks.picture_cost                       # Telco (the shared copy)
    python -m benchmarks.picture_cost --csv customers.csv   # any table with the Telco schema

Run from another checkout (``cd`` there, same venv) to measure that version's code: the child
imports ``churn_assets`` from the checkout it is started in.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import runpy
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.bench import SHARED_TELCO, graph_env, run_measured, write_dataset_yaml

# module -> functions that draw one picture (a Figure, or a tuple whose first item is one) or
# draw and save inside; names missing from a version of the code are skipped
DRAWING = {
    "churn_assets.model.evaluation_plots": (
        "roc_figure", "pr_figure", "confusion_figure", "calibration_figure",
        "importance_figure", "shap_figure", "optimisation_history_figure",
        "parameter_importance_figure", "leaderboard_figure"),
    "churn_assets.model.campaign_plots": (
        "gains_figure", "lift_figure", "profit_curve_figure", "reliability_figure"),
    "churn_assets.monitoring.drift_report": ("_overview", "write_drift_report"),
    "churn_assets.registry.trial_plot": ("evidence_plot",),
}
# what carries the pictures to where they show: MLflow artifacts and Dagster metadata
CARRYING = {
    "churn_assets.model.model_logging": ("log_evaluation",),
    "churn_assets.model.evaluation_plots": ("markdown_with_images",),
    "churn_assets.pipeline.promotion": ("pictures_markdown",),
}

CARRYING_NAMES = {name for names in CARRYING.values() for name in names}


def _install_timers(costs: dict[str, dict[str, float]]) -> None:
    import importlib

    from matplotlib.figure import Figure

    def timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.process_time()
            result = function(*args, **kwargs)
            costs[name]["draw_cpu_s"] += time.process_time() - start
            costs[name]["calls"] += 1
            figure = result[0] if isinstance(result, tuple) else result
            if isinstance(figure, Figure):
                figure.cost_name = name
            return result
        return wrapper

    import churn_assets

    _ = churn_assets.defs  # loads every module that draws or carries the pictures
    for module_name, names in [*DRAWING.items(), *CARRYING.items()]:
        module = importlib.import_module(module_name)
        for name in (n for n in names if hasattr(module, n)):
            original = getattr(module, name)
            wrapped = timed(name, original)
            for user in [m for key, m in sys.modules.items() if key.startswith("churn_assets")]:
                if getattr(user, name, None) is original:  # its own module and importers
                    setattr(user, name, wrapped)
    savefig = Figure.savefig

    def timed_savefig(self, *args, **kwargs):
        start = time.process_time()
        result = savefig(self, *args, **kwargs)
        name = getattr(self, "cost_name", None) or sys._getframe(1).f_code.co_name
        costs[name]["save_cpu_s"] += time.process_time() - start
        return result

    Figure.savefig = timed_savefig


def child(out: Path) -> None:
    """Run the graph in this process with the timers, then write the costs to ``out``."""
    costs: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    _install_timers(costs)
    sys.argv = ["dagster", "asset", "materialize", "-m", "churn_assets", "--select", "*"]
    import churn_assets

    try:
        runpy.run_module("dagster", run_name="__main__")
    finally:
        out.write_text(json.dumps({"code": str(Path(churn_assets.__file__).parent),
                                   "pictures": costs}))


def measure(csv: Path, work: Path) -> dict:
    (work / "dagster_home").mkdir(parents=True)
    (work / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_dataset_yaml(csv, csv.name == SHARED_TELCO.name, work)
    out = work / "picture_costs.json"
    figures = run_measured([sys.executable, "-m", "benchmarks.picture_cost", "--child",
                            str(out)], graph_env(work), work / "graph.log")
    if figures.returncode:
        raise SystemExit(f"graph run failed (exit {figures.returncode}), see {work}/graph.log")
    return {"wall_s": figures.wall_s, "cpu_s": figures.cpu_s} | json.loads(out.read_text())


def report(result: dict) -> None:
    print("| picture | drawn | draw CPU s | savefig CPU s | total CPU s |\n|---|---|---|---|---|")
    totals = {"all pictures": 0.0, "logging and embedding them": 0.0}
    rows = {name: [] for name in totals}
    for name, cost in sorted(result["pictures"].items(),
                             key=lambda item: -sum(v for k, v in item[1].items() if k != "calls")):
        draw, save = cost.get("draw_cpu_s", 0.0), cost.get("save_cpu_s", 0.0)
        # _overview and evidence_plot save inside their own drawing; write_drift_report
        # holds _overview and the drifted features' charts
        own = draw if name in ("_overview", "evidence_plot", "write_drift_report") else draw + save
        group = "logging and embedding them" if name in CARRYING_NAMES else "all pictures"
        totals[group] += 0 if name == "_overview" else own
        rows[group].append(f"| {name} | {int(cost.get('calls', 0))} | {draw:.2f} | {save:.2f} "
                           f"| {own:.2f} |")
    for group, total in totals.items():
        print("\n".join(rows[group]) + f"\n| **{group}** | | | | **{total:.2f}** |")
    print(f"\nwhole run: {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} CPU s; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=SHARED_TELCO)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    if args.keep:
        result = measure(args.csv.resolve(), args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="picture_cost_") as tmp:
            result = measure(args.csv.resolve(), Path(tmp))
    print(f"code: {result['code']}; data: {args.csv}")
    report(result)


if __name__ == "__main__":
    main()
