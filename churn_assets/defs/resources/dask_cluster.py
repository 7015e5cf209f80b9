"""A Dask cluster (``dask.distributed``) as a resource: off unless a scheduler address is set."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from churn_assets.distributed.local_views import BLOCKSIZE, is_partitioned

# Above this many train rows the final fit goes through xgboost.dask; 0 means always.
DEFAULT_FINAL_FIT_MIN_ROWS = 2_000_000


class DaskCluster(dg.ConfigurableResource):
    """``scheduler_address`` empty: no cluster, everything runs in the step's process. With an
    address, Optuna trials (and large final fits) run on its workers; ``data_path`` on top
    moves the data assets too (read, type, validate, split, features, scores, drift as
    ``dask.dataframe`` partitions stored as Parquet datasets)."""

    scheduler_address: str = Field("", description="e.g. tcp://127.0.0.1:8786 "
                                   "($CHURN_DASK_SCHEDULER)")
    final_fit_min_rows: int = Field(DEFAULT_FINAL_FIT_MIN_ROWS, ge=0, description="Train rows "
                                    "from which the final fit runs through xgboost.dask "
                                    "($CHURN_DASK_FINAL_FIT_MIN_ROWS; 0 = always)")
    data_path: bool = Field(False, description="Run the data assets as partitions on the "
                            "cluster; needs storage every worker reaches, e.g. "
                            "$CHURN_STORAGE_URI=s3://... ($CHURN_DASK_DATA_PATH=1)")
    blocksize: str = Field(BLOCKSIZE, description="CSV bytes per partition on the "
                           "data path ($CHURN_DASK_BLOCKSIZE; a worker holds a few at a time)")
    _client: Any = PrivateAttr(default=None)

    @property
    def enabled(self) -> bool:
        return bool(self.scheduler_address)

    @property
    def runs_data_path(self) -> bool:
        return self.enabled and self.data_path

    def get_client(self) -> Any:
        """A client of the scheduler, opened once per process that uses it. On the data path
        it is the process's default client: the IO manager's Parquet writes and reads and
        every ``compute`` of the step then run on the cluster, not in the step's process."""
        if self._client is None:
            from distributed import Client

            self._client = Client(self.scheduler_address, set_as_default=self.data_path)
        return self._client

    def holds(self, frame: Any) -> bool:
        """``frame`` is partitions (the data path stored it); the client is then open, so
        the step's computes on it run on the cluster."""
        if not is_partitioned(frame):
            return False
        if self.enabled:
            self.get_client()
        return True

    def tables_for(self, frame: Any) -> Any:
        """The table backend ``frame`` lives in: ``PandasTables`` for a DataFrame,
        ``DaskTables`` for partitions (whose computes then run on the cluster)."""
        if self.holds(frame):
            from churn_assets.distributed.backend import DaskTables

            return DaskTables()
        from churn_assets.pipeline.tables import PandasTables

        return PandasTables()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
