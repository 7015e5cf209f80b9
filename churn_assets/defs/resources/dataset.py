"""The dataset YAML as a resource, parsed once per run (not once per asset call)."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from churn_assets.dataset_config import ConfigError, DatasetConfig, load_dataset_config
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.distributed.local_views import is_partitioned
from churn_assets.experiment_config import apply_experiment_config


class DatasetResource(dg.ConfigurableResource):
    """The dataset YAML; empty path means $CHURN_DATASET_CONFIG, else the bundled one.

    A run started by `experiment_config_sensor` also carries the experiment config's text
    and where it came from: its run settings are laid over the YAML's for that run only.

    ``dask_cluster`` with ``data_path`` on: the tables are read and processed as partitions on
    that cluster (the Dask data path); the assets ask ``reads_partitions`` and ``holds``."""

    config_path: str = ""
    experiment_config: str = ""
    experiment_config_source: str = ""
    dask_cluster: DaskCluster | None = None
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

    @property
    def reads_partitions(self) -> bool:
        """``raw_customers`` reads the source as partitions (the Dask data path is on)."""
        return self.dask_cluster is not None and self.dask_cluster.runs_data_path

    def holds(self, frame: Any) -> bool:
        """``frame`` is partitions (the data path stored it), so the asset takes its
        partition branch; with a cluster its client is then open, so the step's computes
        run there (without one, dask computes in this process)."""
        if not is_partitioned(frame):
            return False
        if self.dask_cluster is not None and self.dask_cluster.enabled:
            self.dask_cluster.get_client()
        return True
