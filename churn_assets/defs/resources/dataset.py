"""The dataset YAML as a resource, parsed once per run (not once per asset call)."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from churn_assets.dataset_config import DatasetConfig, load_dataset_config


class DatasetResource(dg.ConfigurableResource):
    """The dataset YAML; empty path means $CHURN_DATASET_CONFIG, else the bundled one."""

    config_path: str = ""
    _config: DatasetConfig | None = PrivateAttr(default=None)

    def load(self) -> DatasetConfig:
        if self._config is None:
            self._config = load_dataset_config(self.config_path or None)
        return self._config
