"""MLflow tracking and registry, linked to Dagster runs through dagster-mlflow.

dagster-mlflow's ``MlFlow`` does the linking: it finds the MLflow run tagged with this
Dagster run's id (or starts one), sets the tags, chunks params and unregisters MLflow's
atexit ``end_run``. Two shims remain, each with a test that shows the upstream behaviour:

* Its ``_start_run`` swallows "run is already active" and keeps logging into whatever run
  the process had open — in one process (in-process executor, tests, the daemon's step
  workers) that is another Dagster run's MLflow run. We end any leftover run first.
* ``end_mlflow_on_run_finished`` ends the run after the job's last node in topological
  order, which can close it early (dagster issue #21872). Instead every step ends what it
  opened; the next step of the same Dagster run finds the run again by its tag.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg

from churn_assets.dataset_config import PROJECT_ROOT


def is_unreachable(error: BaseException) -> bool:
    """True when ``error`` (or what it wraps) says the tracking server did not answer."""
    seen: BaseException | None = error
    while seen is not None:
        module, name = type(seen).__module__, type(seen).__name__
        if module.startswith(("requests", "urllib3")) and "Connect" in name:
            return True
        if isinstance(seen, ConnectionError):
            return True
        text = str(seen)
        if "API request to" in text and ("Max retries exceeded" in text
                                         or "Connection refused" in text):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def default_tracking_uri() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'mlruns' / 'mlflow.db'}"


class MlflowTracking(dg.ConfigurableResource):
    """``tracking_uri`` empty: $MLFLOW_TRACKING_URI, else a SQLite store under ./mlruns."""

    tracking_uri: str = ""

    def resolved_uri(self) -> str:
        return self.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()

    def _point_at_store(self) -> tuple[Any, str]:
        import mlflow  # heavy: paid by the steps that track, not at code-location load

        uri = self.resolved_uri()
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # The fluent API is process-global; set it on every use so tests and steps with
        # different stores in one process cannot write into each other's.
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        return mlflow, uri

    def client(self):
        mlflow, uri = self._point_at_store()
        return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)

    def _ensure_experiment(self, mlflow: Any, uri: str, name: str) -> None:
        if mlflow.get_experiment_by_name(name) is not None:
            return
        location = None
        if uri.startswith("sqlite:///"):  # keep artifacts beside the local store, not in cwd
            location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
        mlflow.create_experiment(name, artifact_location=location)

    @contextmanager
    def run(self, context: dg.AssetExecutionContext, experiment_name: str) -> Iterator[Any]:
        """This Dagster run's MLflow run, started or resumed; ended on exit (FAILED on error)."""
        from dagster_mlflow.resources import MlFlow

        mlflow, uri = self._point_at_store()
        try:
            self._ensure_experiment(mlflow, uri, experiment_name)
            while mlflow.active_run():  # see the module docstring: upstream would reuse it
                mlflow.end_run()
            MlFlow(SimpleNamespace(
                log=context.log, run_id=context.run_id,
                dagster_run=SimpleNamespace(job_name=context.job_name),
                resource_config={"experiment_name": experiment_name,
                                 "mlflow_tracking_uri": uri, "env": {}, "extra_tags": {}},
            ))
        except Exception as error:
            if is_unreachable(error):
                raise self.unreachable(error) from None
            raise
        try:
            yield mlflow.active_run()
        except BaseException as error:
            self._end_failed_run(mlflow)
            if isinstance(error, Exception) and is_unreachable(error):
                raise self.unreachable(error) from None
            raise
        mlflow.end_run()

    def unreachable(self, error: BaseException) -> dg.Failure:
        """A one-line failure naming the tracking URI; a retry may succeed once it is back."""
        return dg.Failure(
            description=f"MLflow tracking server {self.resolved_uri()} is unreachable "
            f"({type(error).__name__}); start it (or fix MLFLOW_TRACKING_URI) and re-run: "
            "the Optuna study keeps its finished trials and resumes",
            allow_retries=True)

    @staticmethod
    def _end_failed_run(mlflow: Any) -> None:
        # end_run forgets the run locally before it tells the server, so when the server is
        # gone the run is still closed here (the server shows it RUNNING until closed there).
        with suppress(Exception):  # the original error is the one to report
            mlflow.end_run(status="FAILED")

    @staticmethod
    def log_params(params: dict[str, Any]) -> None:
        """MLflow caps a batch at 100 params; dagster-mlflow sends them in chunks."""
        from dagster_mlflow.resources import MlFlow

        MlFlow.log_params(params)
