"""Dagster's own commands work bare in a fresh copy of the repo: no make, nothing exported
(no DAGSTER_HOME, no CHURN_*/MLFLOW_* variables). Run history lands in the git-ignored
.dagster_home/, and a whole-graph run prints no progress bars or framework warnings."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets_tests.helpers.services import free_port

pytestmark = pytest.mark.slow  # a whole-graph run and two UI start-ups in fresh processes

BIN = Path(sys.executable).parent
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".*_cache",
                                    ".dagster_home", ".tmp_dagster_home_*", "mlruns",
                                    ".churn_storage", ".bench", ".ui-screenshots")
SMALL_TUNING = json.dumps({"ops": {"tuned_churn_model": {"config": {"n_trials": 3}}}})
# What a person should not have to read on a healthy run: "file:line: SomeWarning: ..."
# lines from Python's warnings module, and MLflow's download progress bars.
NOISE = re.compile(r"\b\w*Warning: |Downloading artifacts|Traceback")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clone") / "churn"
    shutil.copytree(PROJECT_ROOT, root, ignore=NOT_COPIED, symlinks=True)
    return root


def bare_environment(clone: Path) -> dict[str, str]:
    """A new shell: the venv on PATH (as after `source .venv/bin/activate`), nothing else set
    by this project; PYTHONPATH only so the copy, not the installed checkout, is imported."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DAGSTER_", "CHURN_", "MLFLOW_", "PYTHON"))}
    return env | {"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "PYTHONPATH": str(clone)}


def run(clone: Path, *command: str) -> str:
    finished = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=clone,
                              env=bare_environment(clone), capture_output=True, text=True,
                              timeout=600)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output[-4000:]
    return output


def stored_runs(clone: Path) -> int:
    with sqlite3.connect(clone / ".dagster_home" / "history" / "runs.db") as db:
        return db.execute("select count(*) from runs").fetchone()[0]


FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def ui_runs(port: int) -> list[str]:
    """Every run's status, as the UI's GraphQL API reports them."""
    query = b'{"query": "{ runsOrError { ... on Runs { results { runId status } } } }"}'
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return [run["status"] for run in json.load(response)["data"]["runsOrError"]["results"]]


def ui_run_count(port: int, settle_seconds: float = 180, quiet_seconds: float = 10) -> int:
    """The run count once no run is in flight and none has appeared for ``quiet_seconds``:
    the daemon starts the sensors with the UI (the freshness sensor launches a check run at
    once), and a run still going when the UI stops keeps `dagster dev` from removing its
    temporary folder."""
    deadline = time.monotonic() + settle_seconds
    statuses, quiet_since = ui_runs(port), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(2)
        now = ui_runs(port)
        if len(now) != len(statuses) or not FINISHED.issuperset(now):
            quiet_since = time.monotonic()
        statuses = now
        if time.monotonic() - quiet_since >= quiet_seconds:
            break
    return len(statuses)


def _interruptible() -> None:
    """In the server's process before it starts: SIGINT back to its default. A process that
    starts with SIGINT ignored (inherited from a test worker that ignores it) never gets
    Python's KeyboardInterrupt, so `dagster dev` would not shut down on SIGINT and would
    leave its temporary folder when killed."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def runs_seen_by_ui(clone: Path, *command: str) -> int:
    """Start the UI bare, ask its GraphQL API how many runs it knows, stop it."""
    port = free_port()
    log = (clone.parent / f"{command[0]}-dev.log").open("w")
    server = subprocess.Popen([str(BIN / command[0]), *command[1:], "--port", str(port)],
                              cwd=clone, env=bare_environment(clone), stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True,
                              preexec_fn=_interruptible)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                return ui_run_count(port)
            except OSError as error:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(Path(log.name).read_text()[-4000:]) from error
                time.sleep(1)
    finally:
        server.send_signal(signal.SIGINT)  # dagster dev's own clean shutdown
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_dg_check_defs_and_a_whole_graph_run_work_bare_and_quietly(clone: Path) -> None:
    assert "All definitions loaded successfully" in run(clone, "dg", "check", "defs")
    before = stored_runs(clone) if (clone / ".dagster_home").exists() else 0

    output = run(clone, "dg", "launch", "--assets", "*", "--config-json", SMALL_TUNING)

    assert "champion_model" in output and "scored" in output  # the whole graph ran
    assert not NOISE.findall(output), [line for line in output.splitlines()
                                       if NOISE.search(line)]
    assert stored_runs(clone) == before + 1


def test_the_older_headless_command_still_works_bare(clone: Path) -> None:
    before = stored_runs(clone) if (clone / ".dagster_home").exists() else 0
    run(clone, "dagster", "asset", "materialize", "-m", "churn_assets", "--select",
        "raw_customers")
    assert stored_runs(clone) == before + 1


@pytest.mark.parametrize("command", [("dagster", "dev"), ("dg", "dev")])
def test_the_ui_started_bare_shows_the_run_history_of_the_state_folder(
    clone: Path, command: tuple[str, ...],
) -> None:
    if not (clone / ".dagster_home").exists():  # run alone: one run to find
        run(clone, "dagster", "asset", "materialize", "-m", "churn_assets", "--select",
            "raw_customers")
    assert runs_seen_by_ui(clone, *command) == stored_runs(clone) > 0
    assert not list(clone.glob(".tmp_dagster_home_*"))  # nothing left behind
    assert ".dagster_home/" in (clone / ".gitignore").read_text().splitlines()
