"""A temporary project for tests and benchmarks: data, dataset YAML, Dagster instance and
MLflow store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import mlflow
import pandas as pd
import yaml

from churn_assets.dataset_config import PROJECT_ROOT
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
    """A temporary project: data folder, dataset YAML, state, MLflow store, instance."""

    root: Path
    instance: dg.DagsterInstance

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow' / 'mlflow.db'}"

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
    from churn_assets.definitions import defs

    definitions = defs()
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
