"""Which registered model and which MLflow store: the same ones the assets use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from churn_assets.dataset_config import DatasetConfig, load_dataset_config
from churn_assets.environment import Settings
from churn_assets.registry.tracking_store import point_at_store

# mlflow is imported where it is used: `python -m churn_assets generate`, `init` and
# `--help` never open the registry.
if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class Store:
    config: DatasetConfig
    tracking_uri: str
    client: MlflowClient

    @property
    def model_name(self) -> str:
        return self.config.model_name


def open_store(config_path: str | None, settings: Settings) -> Store:
    """The dataset YAML (``--config``, else $CHURN_DATASET_CONFIG, else the bundled one) and
    the tracking store ($MLFLOW_TRACKING_URI, else ./mlruns/mlflow.db), as the assets read
    them: ``settings`` are the environment's, read once by ``main``."""
    from mlflow import MlflowClient

    config = load_dataset_config(config_path or settings.dataset_config or None)
    uri = settings.tracking_uri
    point_at_store(uri)
    return Store(config, uri, MlflowClient(tracking_uri=uri, registry_uri=uri))
