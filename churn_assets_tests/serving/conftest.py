"""A served champion in a real MLflow store and the service around it, in process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import yaml

from churn_assets.defs.resources.serving_stores import ServingStores
from churn_assets.model.model_logging import log_candidate
from churn_assets.serving.online_store import StoreLocation, store_location
from churn_assets.serving.settings import ServiceEnvironment
from churn_assets_tests.helpers.served_champion import ServedChampion, register_champion
from churn_assets_tests.helpers.small_candidate import SmallCandidate

API_KEY = "test-key-not-a-secret"


@dataclass(frozen=True)
class ServingWorld:
    champion: ServedChampion
    config_path: Path
    environment: ServiceEnvironment

    def stores(self) -> ServingStores:
        """The resource the serving assets read: this service's log and online store."""
        env = self.environment
        return ServingStores(prediction_log_url=env.log_url,
                             online_store_url=env.online_store_url, storage_uri=env.storage_uri)

    def location(self) -> StoreLocation:
        return store_location(self.environment.online_store_url, self.environment.storage_uri)


def write_config(path: Path, model_name: str, **serving) -> Path:
    path.write_text(yaml.safe_dump({
        "source": "unused.csv", "target": "Churn", "positive_label": "Yes",
        "id_column": "customerID", "model_name": model_name,
        "serving": {"poll_seconds": 0.5, "log_flush_seconds": 0.1, **serving}}))
    return path


def register_version(served: ServedChampion, small: SmallCandidate | None = None) -> str:
    """``small`` (default: the champion's own candidate, logged again) registered as a new
    version of the served model."""
    small = small or served.small
    mlflow.set_tracking_uri(served.tracking_uri)
    mlflow.set_registry_uri(served.tracking_uri)
    experiment = mlflow.get_experiment_by_name("served").experiment_id
    with mlflow.start_run(experiment_id=experiment):
        info = log_candidate(small.candidate, small.preprocessor.state(), served.raw_rows)
    return str(mlflow.register_model(info.model_uri, served.name).version)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedChampion]:
    yield register_champion(tmp_path_factory.mktemp("served") / "mlflow")


def world_for(champion: ServedChampion, folder: Path, log_url: str | None = None,
              online_store_url: str | None = None, **serving) -> ServingWorld:
    config = write_config(folder / "dataset.yaml", champion.name, **serving)
    env = ServiceEnvironment(champion.tracking_uri,
                             log_url or f"sqlite:///{folder / 'log.db'}",
                             folder / "spool.jsonl", API_KEY,
                             online_store_url or str(folder / "online.db"),
                             str(folder / "state" / "assets"))  # Feast's registry beside
    return ServingWorld(champion, config, env)
