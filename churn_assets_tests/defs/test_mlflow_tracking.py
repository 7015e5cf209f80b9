"""MLflow run linking: dagster-mlflow's run per Dagster run, opened by MlflowTracking per step."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest

from churn_assets.defs.resources.mlflow_tracking import MlflowTracking


def step_context(run_id: str) -> SimpleNamespace:
    """What MlflowTracking.run reads from an asset's context."""
    return SimpleNamespace(log=logging.getLogger("test"), instance=None,
                           dagster_run=SimpleNamespace(run_id=run_id, job_name="job"))


@pytest.fixture
def tracking(tmp_path: Path):
    resource = MlflowTracking(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield resource
    while mlflow.active_run():
        mlflow.end_run()


def test_each_dagster_run_gets_its_own_mlflow_run_and_steps_resume_it(tracking):
    mlflow.set_tracking_uri(tracking.resolved_uri())
    mlflow.set_experiment("elsewhere")
    mlflow.start_run()  # an unrelated run some earlier code left open in this process
    with tracking.run(step_context("run-b"), "linking") as first_step:
        mlflow.log_metric("from_first_step", 1.0)
    with tracking.run(step_context("run-b"), "linking") as second_step:
        mlflow.log_metric("from_second_step", 2.0)
    with tracking.run(step_context("run-c"), "linking") as other_run:
        pass

    assert first_step.info.run_id == second_step.info.run_id != other_run.info.run_id
    run = tracking.client().get_run(first_step.info.run_id)
    assert run.data.tags["dagster_run_id"] == "run-b"  # dagster-mlflow's link
    assert run.info.run_name == "job"  # named after the Dagster job
    assert set(run.data.metrics) == {"from_first_step", "from_second_step"}
    assert run.info.status == "FINISHED"  # every step ends what it opened
    assert mlflow.active_run() is None


def test_a_failing_step_marks_the_mlflow_run_failed(tracking):
    with pytest.raises(RuntimeError, match="boom"), \
            tracking.run(step_context("run-d"), "linking") as active:
        raise RuntimeError("boom")
    assert tracking.client().get_run(active.info.run_id).info.status == "FAILED"


def test_more_than_a_hundred_params_are_logged_in_chunks(tracking):
    with tracking.run(step_context("run-e"), "linking") as active:
        tracking.log_params({f"p{i}": i for i in range(250)})
    assert len(tracking.client().get_run(active.info.run_id).data.params) == 250
