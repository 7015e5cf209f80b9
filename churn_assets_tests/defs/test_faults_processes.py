"""Runs as an operator starts them: `dagster asset materialize` in its own process, against a
temporary DAGSTER_HOME and a local MLflow store. A run SIGKILLed during tuning leaves no
half-registered version holding an alias and the next run succeeds; two runs at once end with
one consistent champion and both candidates registered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import yaml

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets.names import CHAMPION, PREVIOUS_CHAMPION
from churn_assets_tests.helpers.workspace import FAST_TUNING, SMALL_EXPECTATIONS, customers

pytestmark = pytest.mark.slow  # training runs in fresh processes (imports included)

DAGSTER = str(Path(sys.executable).parent / "dagster")
MODEL = "churn-proc"
# Every assertion here reads the registry as promotion leaves it, and only the steps up to
# champion_model write it (scoring, drift, monitoring and Feast read @champion;
# challenger_trial acts only when promotion put a candidate on trial as @challenger, which
# this scenario does not assert on and the alias checks cover either way), so the runs
# stop there instead of paying those steps in four fresh processes.
UP_TO_PROMOTION = "*champion_model"


@dataclass
class Deployment:
    """One operator's set-up: a DAGSTER_HOME, storage and dataset YAML; a shared MLflow store."""

    root: Path
    tracking_uri: str

    def env(self) -> dict[str, str]:
        (self.root / "dagster_home").mkdir(parents=True, exist_ok=True)
        return {**os.environ, "DAGSTER_HOME": str(self.root / "dagster_home"),
                "CHURN_STATE_DIR": str(self.root / "state"),
                "CHURN_DATASET_CONFIG": str(self.root / "dataset.yaml"),
                "MLFLOW_TRACKING_URI": self.tracking_uri,
                "PYTHONPATH": str(PROJECT_ROOT)}

    def configure(self, seed: int, n_trials: int) -> None:
        data = self.root / "data" / f"customers-{seed}.csv"
        data.parent.mkdir(parents=True, exist_ok=True)
        customers(seed=seed).to_csv(data, index=False)
        (self.root / "dataset.yaml").write_text(yaml.safe_dump({
            "source": str(data), "target": "Churn", "positive_label": "Yes",
            "id_column": "customerID", "model_name": MODEL,
            "tuning": FAST_TUNING | {"n_trials": n_trials},
            "expectations": SMALL_EXPECTATIONS,
            "promotion": {"min_f1": 0.0, "min_roc_auc": 0.0},
        }))

    def start(self, log: Path | None = None) -> subprocess.Popen:
        """The run's output goes to ``log``, else to a pipe for ``kill_when`` to read."""
        return subprocess.Popen(
            [DAGSTER, "asset", "materialize", "-m", "churn_assets", "--select", UP_TO_PROMOTION],
            cwd=self.root, env=self.env(), stderr=subprocess.STDOUT, text=True,
            stdout=log.open("w") if log else subprocess.PIPE,
            start_new_session=True)  # its own group: the kill takes every child


def finish(process: subprocess.Popen, log: Path) -> int:
    process.wait()
    assert process.returncode == 0, log.read_text()[-3000:]
    return process.returncode


def kill_when(process: subprocess.Popen, marker: str, log: Path) -> bool:
    """SIGKILL the run's process group as soon as it prints ``marker`` (event, not time)."""
    with log.open("w") as sink:
        for line in process.stdout:
            sink.write(line)
            if marker in line:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return True
    process.wait()
    return False


def registry(tracking_uri: str) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def versions(client: mlflow.MlflowClient) -> dict[str, object]:
    return {str(v.version): v for v in client.search_model_versions(f"name='{MODEL}'")}


def aliases(client: mlflow.MlflowClient) -> dict[str, str]:
    return {alias: str(version) for alias, version in
            client.get_registered_model(MODEL).aliases.items()}


def assert_every_alias_holder_is_complete(client: mlflow.MlflowClient) -> None:
    """An alias only ever points at a version whose promotion record was written."""
    found = versions(client)
    for alias, version in aliases(client).items():
        tags = found[version].tags
        assert tags.get("promotion.decision") in ("promoted", "rejected"), (alias, tags)
        assert found[version].status == "READY", (alias, found[version].status)


def test_two_runs_at_once_end_with_one_champion_and_a_run_killed_after_leaves_it_whole(
    tmp_path: Path,
) -> None:
    """One scenario (each training run is a fresh process importing everything): two runs
    at once, then a run killed during tuning on the registry they left, then the next run."""
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    left = Deployment(tmp_path / "left", tracking_uri)
    right = Deployment(tmp_path / "right", tracking_uri)
    left.configure(seed=3, n_trials=3)
    right.configure(seed=4, n_trials=3)
    # The store exists before the runs, as in any deployment: two processes creating a fresh
    # SQLite store's schema at the same instant race in MLflow's own migration code.
    (tmp_path / "mlflow").mkdir()
    registry(tracking_uri).search_experiments()

    runs = [left.start(tmp_path / "left.log"), right.start(tmp_path / "right.log")]
    for run, name in zip(runs, ("left", "right"), strict=True):
        finish(run, tmp_path / f"{name}.log")

    client = registry(tracking_uri)
    found = versions(client)
    assert sorted(found) == ["1", "2"]  # both candidates registered
    held = aliases(client)
    champion = held[CHAMPION]
    other = ({"1", "2"} - {champion}).pop()
    champion_tags, other_tags = found[champion].tags, found[other].tags
    assert champion_tags["promotion.decision"] == "promoted"
    if other_tags["promotion.decision"] == "rejected":  # the second compared against the first
        assert champion_tags["promotion.previous_champion_version"] == "none"
        assert other_tags["promotion.previous_champion_version"] == champion
    else:  # promoted first, then replaced by a better one: the hand-over is recorded
        assert champion_tags["promotion.previous_champion_version"] == other
        assert held[PREVIOUS_CHAMPION] == other
        assert other_tags["champion.replaced_by_version"] == champion
    assert_every_alias_holder_is_complete(client)

    # A run SIGKILLed during tuning (new data: a new study, so trial 1 is its second trial)
    # registers nothing and moves no alias; the next run on the same data resumes its study.
    before = aliases(client)
    left.configure(seed=5, n_trials=40)
    killed = kill_when(left.start(), "trial 1 (", tmp_path / "killed.log")

    assert killed, (tmp_path / "killed.log").read_text()[-3000:]
    assert sorted(versions(client)) == ["1", "2"]  # nothing registered by the killed run
    assert aliases(client) == before
    assert_every_alias_holder_is_complete(client)

    left.configure(seed=5, n_trials=4)  # same data: the killed run's study resumes
    finish(left.start(tmp_path / "next.log"), tmp_path / "next.log")
    assert sorted(versions(client)) == ["1", "2", "3"]
    assert aliases(client)[CHAMPION] in ("1", "2", "3")
    assert_every_alias_holder_is_complete(client)
