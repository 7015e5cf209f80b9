"""A temporary project for tests and benchmarks: data, dataset YAML, Dagster instance and
MLflow store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dagster as dg
import mlflow
import pandas as pd
import yaml

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets.environment import Settings
from churn_assets.generator import DistributionShift, generate_customers

SHARED_TELCO = PROJECT_ROOT.parent / "shared" / "data" / "telco-customer-churn.csv"

FAST_TUNING = {"n_trials": 4, "max_estimators": 300, "early_stopping_rounds": 20,  # no time
               # limit: trial counts must not depend on how busy the machine is
               "timeout_seconds": None}
SMALL_EXPECTATIONS = {
    "min_rows": 100,
    "ranges": {"tenure": [0, None], "MonthlyCharges": [0, None]},
    "value_sets": {"Contract": ["Month-to-month", "One year", "Two year"]},
}


@dataclass
class ChurnWorkspace:
    """A temporary project: data folder, dataset YAML, state, MLflow store, instance, and the
    deployment settings its definitions are built from (``configure`` changes them)."""

    root: Path
    instance: dg.DagsterInstance
    settings: Settings = field(default=None)  # type: ignore[assignment]  # set below

    def __post_init__(self) -> None:
        if self.settings is None:
            self.settings = Settings(state_dir=self.root / "state",
                                     tracking_uri=f"sqlite:///{self.root / 'mlflow' / 'mlflow.db'}",
                                     dataset_config=str(self.root / "dataset.yaml"))

    @property
    def tracking_uri(self) -> str:
        return self.settings.tracking_uri

    def configure(self, **changes: Any) -> Settings:
        """Other settings from now on (e.g. ``storage_uri``, ``dask_scheduler``)."""
        self.settings = replace(self.settings, **changes)
        return self.settings

    def definitions(self) -> dg.Definitions:
        """The project's definitions wired for this workspace, as `defs()` wires them for the
        environment."""
        from churn_assets.definitions import build_definitions

        return build_definitions(self.settings)

    def write_data(self, name: str, frame: pd.DataFrame) -> Path:
        path = self.root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        return path

    def write_config(self, source: str | Path, **overrides: Any) -> Path:
        raw = {
            "source": str(source), "target": "Churn", "positive_label": "Yes",
            "id_column": "customerID", "model_name": "churn-test",
            "landing": str(self.root / "landing") + "/",
            "tuning": FAST_TUNING, "expectations": SMALL_EXPECTATIONS,
        } | overrides
        path = self.root / "dataset.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    def client(self) -> mlflow.MlflowClient:
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        return mlflow.MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)


def materialize_graph(workspace: ChurnWorkspace, selection: str = "*",
                      run_config: dict | None = None, tags: dict | None = None):
    """Materialize assets (and their checks) in process, like `dagster asset materialize`."""
    definitions = workspace.definitions()
    return dg.materialize(
        [*definitions.assets, *definitions.asset_checks],
        resources=definitions.resources,
        instance=workspace.instance,
        selection=selection,
        run_config=run_config,
        tags=tags,
        raise_on_error=False,
    )


def file_fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def customers(n_rows: int = 1500, seed: int = 3, **shift: float) -> pd.DataFrame:
    return generate_customers(n_rows, seed, DistributionShift(**shift))
