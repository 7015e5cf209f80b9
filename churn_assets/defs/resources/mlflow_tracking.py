"""MLflow tracking and registry, each Dagster run linked to one MLflow run by dagster-mlflow.

dagster-mlflow's ``mlflow_tracking`` resource finds the MLflow run tagged ``dagster_run_id``
with this Dagster run's id (or starts one named after the job), tags it, unregisters MLflow's
atexit ``end_run`` (a step process exiting must not close a run other steps still write to),
logs params in chunks of MLflow's cap and marks the run FAILED when a step fails. It is opened
per tracking step, inside ``MlflowTracking.run``, because the experiment is the dataset YAML's
(a run setting, read by the step) and because this resource stays a Pythonic one the assets
take as a parameter (Dagster refuses ``required_resource_keys`` beside resource parameters).
Guards where the package bites, each with its reason:
- an MLflow run some earlier code left active is ended first: dagster-mlflow swallows "run is
  already active" and would keep logging into it (another Dagster run's MLflow run);
- the experiment is created first with its artifacts beside a local store (the package's
  ``set_experiment`` would put them in the working directory);
- every step ends the run it opened instead of the package's ``end_mlflow_on_run_finished``
  hook, which ends it after the job's last node in topological order while other steps may
  still be logging (dagster issue #21872); the next step resumes it by its tag.
Its price, measured: importing ``dagster_mlflow`` takes ~1.8 s and 543 modules (its
``MlflowMeta`` reads every attribute of ``mlflow``, importing each lazily loaded flavor), so it
is imported by the steps that track, never at code-location load.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import dagster as dg

from churn_assets.environment import default_tracking_uri
from churn_assets.registry.store_warmup import start_store_warmup
from churn_assets.registry.tracking_store import point_at_store


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
        """This Dagster run's MLflow run, started or resumed by dagster-mlflow; ended on exit
        (FAILED on error)."""
        mlflow, uri = self._point_at_store()
        try:
            self._ensure_experiment(mlflow, uri, experiment_name)
            while mlflow.active_run():  # dagster-mlflow would log into a run left open here
                mlflow.end_run()
            linked = self._start_or_resume(mlflow, experiment_name, context)
        except Exception as error:
            if is_unreachable(error):
                raise self.unreachable(error) from None
            raise
        try:
            yield mlflow.active_run()
        except BaseException as error:
            self._end_failed_run(linked)
            if isinstance(error, Exception) and is_unreachable(error):
                raise self.unreachable(error) from None
            raise
        mlflow.end_run()  # this step's end, not the job's last node's (dagster #21872)

    @staticmethod
    def _start_or_resume(mlflow: Any, experiment_name: str, context: Any) -> Any:
        from dagster_mlflow import mlflow_tracking

        init = dg.InitResourceContext(
            resource_config={"experiment_name": experiment_name,
                             "mlflow_tracking_uri": mlflow.get_tracking_uri()},
            resources=None, resource_def=mlflow_tracking, all_resource_defs={},
            instance=getattr(context, "instance", None), dagster_run=context.dagster_run,
            log_manager=context.log)
        return next(mlflow_tracking.resource_fn(init))  # dagster-mlflow's MlFlow object

    def unreachable(self, error: BaseException) -> dg.Failure:
        """A one-line failure naming the tracking URI; a retry may succeed once it is back."""
        return dg.Failure(
            description=f"MLflow tracking server {self.resolved_uri()} is unreachable "
            f"({type(error).__name__}); start it (or fix MLFLOW_TRACKING_URI) and re-run: "
            "the Optuna study keeps its finished trials and resumes",
            allow_retries=True)

    @staticmethod
    def _end_failed_run(linked: Any) -> None:
        # end_run forgets the run locally before it tells the server, so when the server is
        # gone the run is still closed here (the server shows it RUNNING until closed there).
        with suppress(Exception):  # the original error is the one to report
            linked.cleanup_on_error()  # FAILED (KILLED on Ctrl-C), as dagster-mlflow does

    @staticmethod
    def log_params(params: dict[str, Any]) -> None:
        """Into the active run, in chunks of MLflow's cap (dagster-mlflow's ``log_params``)."""
        from dagster_mlflow.resources import MlFlow

        MlFlow.log_params(params)
