"""`dagster dev` and `mlflow ui` as a person starts them, on free ports of 127.0.0.1, each
against a temporary Dagster home, MLflow store and small dataset; stopped on exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import chdir, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import yaml

from churn_assets_tests.helpers.workspace import (
    FAST_TUNING,
    SMALL_EXPECTATIONS,
    customers,
    mlflow_pointed_at,
    seed_mlflow_store,
)
from churn_dev.services import MLFLOW_SERVER_ENV, free_port

MODEL_NAME = "churn-ui"
RUN_SECONDS = 1800  # an upper bound for a small graph on a busy machine, not a target


@dataclass(frozen=True)
class UiProject:
    root: Path
    env: dict[str, str]
    tracking_uri: str


def make_project(root: Path, rows: int = 1500, **yaml_overrides) -> UiProject:
    """Small generated data, a dataset YAML with few trials, a Dagster home (telemetry off,
    SQLite under the temporary folder) and the environment the servers run with."""
    (root / "landing").mkdir(parents=True)
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "telemetry": {"enabled": False},
        "storage": {"sqlite": {"base_dir": str(home / "storage")}},
    }))
    source = root / "data" / "customers.csv"
    source.parent.mkdir()
    customers(rows, seed=3).to_csv(source, index=False)
    (root / "dataset.yaml").write_text(yaml.safe_dump({
        "source": str(source), "target": "Churn", "positive_label": "Yes",
        "id_column": "customerID", "model_name": MODEL_NAME,
        "landing": str(root / "landing") + "/", "tuning": FAST_TUNING,
        "expectations": SMALL_EXPECTATIONS,
    } | yaml_overrides))
    tracking_uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    seed_mlflow_store(root / "mlflow" / "mlflow.db", root)
    env = dict(os.environ) | {
        "DAGSTER_HOME": str(home), "MLFLOW_TRACKING_URI": tracking_uri,
        "CHURN_STATE_DIR": str(root / "state"),
        "CHURN_DATASET_CONFIG": str(root / "dataset.yaml"),
        **MLFLOW_SERVER_ENV,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                    os.environ.get("PYTHONPATH")])),
    }
    env.pop("CHURN_STORAGE_URI", None)
    env.pop("CHURN_DEPLOYMENT", None)
    return UiProject(root, env, tracking_uri)


def _wait_until_answers(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=3)
            return
        except OSError as error:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} never answered; log:\n{log.read_text()[-3000:]}") \
                    from error
            time.sleep(1)


def _default_signals() -> None:
    # A process started in the background may inherit "ignore SIGINT/SIGTERM"; the
    # servers need them to shut down (dagster dev stops cleanly on SIGINT, like Ctrl-C).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop(process: subprocess.Popen) -> None:
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, stop_signal)
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            break
    # dagster dev's children (webserver, daemon, code server) share its process group.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def _server(command: list[str], project: UiProject, name: str, probe: str,
            startup_seconds: float) -> Iterator[str]:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    log = project.root / f"{name}.log"
    with log.open("w") as out:
        # Own process group: dagster dev starts the webserver, daemon and code server.
        process = subprocess.Popen(command, env=project.env, cwd=project.root, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_default_signals)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_answers(url + probe, process, log, startup_seconds)
            yield url
        finally:
            _stop(process)


def running_dagster_dev(project: UiProject) -> Iterator[str]:
    return _server([sys.executable, "-m", "dagster", "dev", "-m", "churn_assets",
                    "--host", "127.0.0.1", "--port", "{port}"],
                   project, "dagster-dev", "/server_info", 300)


def running_mlflow_ui(project: UiProject) -> Iterator[str]:
    return _server([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri",
                    project.tracking_uri, "--host", "127.0.0.1", "--port", "{port}",
                    "--workers", "1"], project, "mlflow-ui", "/health", 120)


def graphql(base_url: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base_url}/graphql", data=json.dumps({"query": query, "variables": variables or {}})
        .encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


# A status query costs the webserver milliseconds; a long pause only adds to every wait.
POLL_SECONDS = 1.0
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def wait_for_run(base_url: str, run_id: str, seconds: float) -> str:
    """Poll the run's status through the webserver's GraphQL API until it finishes."""
    deadline = time.monotonic() + seconds
    while True:
        status = graphql(base_url, RUN_STATUS, {"id": run_id})["runOrError"].get("status")
        if status in FINISHED or time.monotonic() > deadline:
            return str(status)
        time.sleep(POLL_SECONDS)


JOB_RUNS = ("query($job: String!) { runsOrError(filter: {pipelineName: $job}) "
            "{ ... on Runs { results { runId status } } } }")


def first_run_of(base_url: str, job: str, seconds: float) -> str | None:
    """The id of the first run of ``job`` (launched by a sensor, say), once there is one."""
    deadline = time.monotonic() + seconds
    while True:
        runs = graphql(base_url, JOB_RUNS, {"job": job})["runsOrError"].get("results") or []
        if runs or time.monotonic() > deadline:
            return runs[-1]["runId"] if runs else None
        time.sleep(POLL_SECONDS)


def mlflow_client(project: UiProject):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=project.tracking_uri,
                               registry_uri=project.tracking_uri)


def alias_version(project: UiProject, alias: str) -> str | None:
    from churn_assets.registry.model_registry import version_for_alias

    return version_for_alias(mlflow_client(project), MODEL_NAME, alias)


def champion_versions(project: UiProject) -> tuple[str, str | None]:
    """The versions holding @champion and @previous_champion (None when unset)."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(project)
    found = []
    for alias in ("champion", "previous_champion"):
        try:
            found.append(str(client.get_model_version_by_alias(MODEL_NAME, alias).version))
        except MlflowException:
            found.append(None)
    return found[0], found[1]


def materialize_in_this_process(project: UiProject, selection: str | Sequence[str],
                                config: dict | None = None) -> None:
    """What `dagster asset materialize -m churn_assets --select ...` run in the project's folder
    does (the definitions built from the project's environment, the run recorded in its
    Dagster home, so the UI lists it), in the test's own process: for a run that only sets the
    scene, a new process would import Dagster, MLflow, Great Expectations and Feast again. The
    CLI itself is tested in test_bare_commands.py and defs/test_faults_processes.py."""
    import dagster as dg

    from churn_assets.definitions import build_definitions
    from churn_assets.environment import Settings

    definitions = build_definitions(Settings.from_environ(project.env))
    with chdir(project.root), mlflow_pointed_at(project.tracking_uri), \
            dg.DagsterInstance.from_config(project.env["DAGSTER_HOME"]) as instance:
        result = dg.materialize([*definitions.assets, *definitions.asset_checks],
                                resources=definitions.resources, instance=instance,
                                selection=selection, run_config=config, raise_on_error=False)
    assert result.success, [event.message for event in result.all_events if event.is_failure]
