"""MLflow tracking and registry, each Dagster run linked to one MLflow run.

The linking is dagster-mlflow's convention, owned here in a few lines instead of through
the package: the MLflow run tagged ``dagster_run_id`` with this Dagster run's id is resumed
(or started, named after the job), and MLflow's atexit ``end_run`` is unregistered so a step
process exiting does not close a run other steps still write to. dagster-mlflow's
``mlflow_tracking`` resource needs an init context (we built a fake one), swallows "run is
already active" and keeps logging into another Dagster run's MLflow run, its
``end_mlflow_on_run_finished`` hook can close the run early (dagster issue #21872), and the
package pins pandas < 3. Here every step ends what it opened; the next step of the same
Dagster run finds the run again by its tag.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from itertools import islice
from pathlib import Path
from typing import Any

import dagster as dg

from churn_assets.environment import default_tracking_uri
from churn_assets.names import DAGSTER_RUN_TAG
from churn_assets.registry.store_warmup import start_store_warmup
from churn_assets.registry.tracking_store import point_at_store

PARAMS_PER_BATCH = 100  # MLflow's cap on params in one request


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


class MlflowTracking(dg.ConfigurableResource):
    """``tracking_uri`` empty: a SQLite store under ./mlruns (the definitions pass
    $MLFLOW_TRACKING_URI)."""

    tracking_uri: str = ""

    def resolved_uri(self) -> str:
        return self.tracking_uri or default_tracking_uri()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Once per run with the in-process executor: a new local store is created beside
        # the first steps instead of inside the first step that tracks.
        start_store_warmup(self.resolved_uri())

    def _point_at_store(self) -> tuple[Any, str]:
        import mlflow  # heavy: paid by the steps that track, not at code-location load

        uri = self.resolved_uri()
        point_at_store(uri)
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
        mlflow, uri = self._point_at_store()
        try:
            self._ensure_experiment(mlflow, uri, experiment_name)
            while mlflow.active_run():  # never write into a run another caller left open
                mlflow.end_run()
            self._start_or_resume(mlflow, experiment_name, context)
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

    @staticmethod
    def _start_or_resume(mlflow: Any, experiment_name: str, context: Any) -> None:
        experiment = mlflow.set_experiment(experiment_name)
        found = mlflow.search_runs(
            experiment_ids=[experiment.experiment_id], max_results=1, output_format="list",
            filter_string=f"tags.{DAGSTER_RUN_TAG} = '{context.run_id}'")
        if found:
            mlflow.start_run(run_id=found[0].info.run_id)
        else:
            mlflow.start_run(run_name=context.job_name, tags={DAGSTER_RUN_TAG: context.run_id})
        context.log.info(f"MLflow run {mlflow.active_run().info.run_id} in experiment "
                         f"{experiment_name}")
        # A step process exiting must not end the run the next steps resume.
        atexit.unregister(mlflow.end_run)

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
        """Into the active run, in batches of MLflow's cap."""
        import mlflow

        keys = iter(params)
        for _ in range(0, len(params), PARAMS_PER_BATCH):
            mlflow.log_params({key: params[key] for key in islice(keys, PARAMS_PER_BATCH)})
