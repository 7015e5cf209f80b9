"""`train`: the whole graph headless, through the plain Dagster CLI, then the champion."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from churn_assets.cli.champion_summary import champion_lines
from churn_assets.cli.errors import CliError
from churn_assets.cli.store import open_store
from churn_assets.environment import DATASET_CONFIG_ENV, PROJECT_ROOT, child_environment


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train", help="materialize the whole asset graph headless, then show the champion",
        description="Run `dg launch --assets '*' -m churn_assets` in this "
        "environment (DAGSTER_HOME, MLFLOW_TRACKING_URI, CHURN_DATASET_CONFIG are honoured), "
        "then print who holds @champion.")
    parser.add_argument("--n-trials", type=int, metavar="N",
                        help="Optuna trials for this run (default: the YAML's tuning.n_trials)")
    parser.set_defaults(run=run)


def dagster_command(n_trials: int | None) -> list[str]:
    # dg launch: Dagster's current command (`dagster asset materialize` warns it is superseded)
    command = [sys.executable, "-m", "dagster_dg_cli.cli", "launch", "--assets", "*",
               "-m", "churn_assets"]
    if n_trials is not None:
        config = {"ops": {"tuned_churn_model": {"config": {"n_trials": n_trials}}}}
        command += ["--config-json", json.dumps(config)]
    return command


def run_environment(config_path: str | None) -> dict[str, str]:
    """The caller's environment; like `make train`, the repo's dagster.yaml keeps history
    in .dagster_home/ when DAGSTER_HOME is not set (Dagster would otherwise forget it)."""
    env = child_environment()
    if config_path:
        env[DATASET_CONFIG_ENV] = os.path.abspath(config_path)
    if not env.get("DAGSTER_HOME") and (PROJECT_ROOT / "dagster.yaml").is_file():
        env["DAGSTER_HOME"] = str(PROJECT_ROOT)
    return env


def run(args: argparse.Namespace) -> int:
    if args.n_trials is not None and args.n_trials < 1:
        raise CliError(f"--n-trials must be at least 1, got {args.n_trials}")
    # A bad YAML fails here in one line, not inside a Dagster run.
    open_store(args.config, args.settings)
    command = dagster_command(args.n_trials)
    print("running: " + " ".join(command[1:]), flush=True)
    env = run_environment(args.config)
    # The repo's dagster.yaml names its state folder relative to the repo root.
    cwd = PROJECT_ROOT if env.get("DAGSTER_HOME") == str(PROJECT_ROOT) else None
    finished = subprocess.run(command, env=env, cwd=cwd)
    if finished.returncode != 0:
        raise CliError(f"the Dagster run failed (exit code {finished.returncode}); "
                       "its log is above")
    for line in champion_lines(open_store(args.config, args.settings)):
        print(line)
    return 0
