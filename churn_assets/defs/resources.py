"""Resources: the dataset description, MLflow tracking and the Parquet/JSON IO manager.

Every default is embedded (local files, SQLite); environment variables switch each one to
a real service without code changes (see README, "Production").
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from upath import UPath

from churn_assets.dataset_config import PROJECT_ROOT, DatasetConfig, load_dataset_config
from churn_assets.names import DAGSTER_RUN_TAG


def local_state_dir() -> Path:
    return Path(os.environ.get("CHURN_STATE_DIR", PROJECT_ROOT / ".churn_storage"))


def default_tracking_uri() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'mlruns' / 'mlflow.db'}"


class DatasetResource(dg.ConfigurableResource):
    """The dataset YAML; empty path means $CHURN_DATASET_CONFIG, else the bundled one."""

    config_path: str = ""

    def load(self) -> DatasetConfig:
        return load_dataset_config(self.config_path or None)


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry. One MLflow run per Dagster run, found again by the
    ``dagster_run_id`` tag, so the training and registry steps write to the same run."""

    tracking_uri: str = ""
    experiment_name: str = "churn_assets"

    def resolved_uri(self) -> str:
        return self.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()

    def _point_at_store(self) -> tuple[Any, str]:
        import mlflow

        uri = self.resolved_uri()
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # The fluent API is process-global; set it on every use so tests and steps with
        # different stores in one process cannot write into each other's.
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        return mlflow, uri

    def _activate(self, experiment_name: str | None = None) -> Any:
        mlflow, uri = self._point_at_store()
        experiment_name = experiment_name or self.experiment_name
        if mlflow.get_experiment_by_name(experiment_name) is None:
            location = None
            if uri.startswith("sqlite:///"):  # keep artifacts beside the local store, not in cwd
                location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
            mlflow.create_experiment(experiment_name, artifact_location=location)
        mlflow.set_experiment(experiment_name)
        return mlflow

    def client(self):
        mlflow, uri = self._point_at_store()
        return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)

    @contextmanager
    def run(
        self, context: dg.AssetExecutionContext, experiment_name: str | None = None
    ) -> Iterator[Any]:
        """Start or resume this Dagster run's MLflow run; always end it, FAILED on error."""
        mlflow = self._activate(experiment_name)
        while mlflow.active_run():  # a run left open by an earlier step in this process
            mlflow.end_run()
        existing = mlflow.search_runs(
            filter_string=f"tags.{DAGSTER_RUN_TAG} = '{context.run_id}'", max_results=1,
            output_format="list",
        )
        run_id = existing[0].info.run_id if existing else None
        run = mlflow.start_run(run_id=run_id, run_name=f"dagster-{context.run_id[:8]}",
                               tags={DAGSTER_RUN_TAG: context.run_id})
        try:
            yield run
        except BaseException:
            mlflow.end_run(status="FAILED")
            raise
        mlflow.end_run()


class ChurnIOManager(dg.UPathIOManager):
    """DataFrames as Parquet, dicts as JSON; under a local folder or an s3:// prefix."""

    extension = ""

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, pd.DataFrame):
            with path.with_suffix(".parquet").open("wb") as handle:
                obj.to_parquet(handle, index=False)
        elif isinstance(obj, dict):
            path.with_suffix(".json").write_text(json.dumps(obj, indent=2, default=str))
        else:
            raise TypeError(f"{context.asset_key.to_user_string()}: cannot store "
                            f"{type(obj).__name__}; only DataFrames and dicts travel via storage")

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        parquet, json_file = path.with_suffix(".parquet"), path.with_suffix(".json")
        if parquet.exists():
            with parquet.open("rb") as handle:
                return pd.read_parquet(handle)
        if json_file.exists():
            return json.loads(json_file.read_text())
        raise FileNotFoundError(f"no stored value for {context.asset_key.to_user_string()} "
                                f"at {path}: materialize it first")


class ChurnIOManagerFactory(dg.ConfigurableIOManagerFactory):
    base_path: str = ""

    def create_io_manager(self, context) -> ChurnIOManager:
        base = (self.base_path or os.environ.get("CHURN_STORAGE_URI")
                or str(local_state_dir() / "assets"))
        return ChurnIOManager(base_path=UPath(base))
