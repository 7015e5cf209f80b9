"""The dataset YAML as a resource, parsed once per run (not once per asset call)."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from churn_assets.dataset_config import ConfigError, DatasetConfig, load_dataset_config
from churn_assets.experiment_config import apply_experiment_config


class DatasetResource(dg.ConfigurableResource):
    """The dataset YAML; empty path means the bundled one (the definitions pass
    $CHURN_DATASET_CONFIG).

    A run started by `experiment_config_sensor` also carries the experiment config's text
    and where it came from: its run settings are laid over the YAML's for that run only."""

    config_path: str = ""
    experiment_config: str = ""
    experiment_config_source: str = ""
    _config: DatasetConfig | None = PrivateAttr(default=None)

    def load(self) -> DatasetConfig:
        """The parsed YAML. A bad YAML fails the step for good: retrying the service steps
        that read it (``defs.retries``) would only repeat the same error minutes later."""
        if self._config is None:
            try:
                config = load_dataset_config(self.config_path or None)
                if self.experiment_config:
                    config = apply_experiment_config(
                        config, self.experiment_config,
                        self.experiment_config_source or "(run config)")
            except ConfigError as error:
                raise dg.Failure(description=str(error), allow_retries=False) from None
            self._config = config
        return self._config
