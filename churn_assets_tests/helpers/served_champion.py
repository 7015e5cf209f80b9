"""A real served model in a temporary MLflow store: the small candidate, logged the way
`tuned_churn_model` logs it, registered and made @champion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from churn_assets.model.model_logging import log_candidate
from churn_assets.names import CHAMPION
from churn_assets_tests.helpers.small_candidate import SmallCandidate, train_small_candidate
from churn_assets_tests.helpers.workspace import seed_mlflow_store


@dataclass(frozen=True)
class ServedChampion:
    name: str
    version: str
    tracking_uri: str
    run_id: str
    artifact_folder: Path  # the logged model's files
    raw_rows: pd.DataFrame  # source columns, target absent
    small: SmallCandidate


def register_champion(folder: Path, name: str = "churn-served") -> ServedChampion:
    folder.mkdir(parents=True, exist_ok=True)
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    seed_mlflow_store(folder / "mlflow.db", folder)
    small = train_small_candidate(folder)
    raw_rows = small.customers.drop(columns=["Churn"])
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.create_experiment("served", artifact_location=(folder / "a").as_uri())
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=experiment) as run:
            info = log_candidate(small.candidate, small.preprocessor.state(), raw_rows)
        version = str(mlflow.register_model(info.model_uri, name).version)
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    client.set_registered_model_alias(name, CHAMPION, version)
    location = mlflow.MlflowClient(tracking_uri=tracking_uri).get_logged_model(
        info.model_id).artifact_location
    return ServedChampion(name, version, tracking_uri, run.info.run_id,
                          Path(location.removeprefix("file://")), raw_rows, small)
