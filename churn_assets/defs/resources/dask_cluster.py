"""A Dask cluster (``dask.distributed``) as a resource: off unless a scheduler address is set."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

# Above this many train rows the final fit goes through xgboost.dask; 0 means always.
DEFAULT_FINAL_FIT_MIN_ROWS = 2_000_000


class DaskCluster(dg.ConfigurableResource):
    """``scheduler_address`` empty: no cluster, everything runs in the step's process."""

    scheduler_address: str = Field("", description="e.g. tcp://127.0.0.1:8786 "
                                   "($CHURN_DASK_SCHEDULER)")
    final_fit_min_rows: int = Field(DEFAULT_FINAL_FIT_MIN_ROWS, ge=0, description="Train rows "
                                    "from which the final fit runs through xgboost.dask "
                                    "($CHURN_DASK_FINAL_FIT_MIN_ROWS; 0 = always)")
    _client: Any = PrivateAttr(default=None)

    @property
    def enabled(self) -> bool:
        return bool(self.scheduler_address)

    def get_client(self) -> Any:
        """A client of the scheduler, opened once per process that uses it."""
        if self._client is None:
            from distributed import Client

            self._client = Client(self.scheduler_address, set_as_default=False)
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
