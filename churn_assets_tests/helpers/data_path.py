"""The Dask data path in tests: a LocalCluster on 127.0.0.1 with the data path switched on,
and what a run's materializations recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from churn_dev.workspace import ChurnWorkspace

DATA_ASSETS = ("raw_customers", "validated_customers", "customer_splits", "customer_features",
               "churn_scores")
# Tuning and a local fit read few rows: the local samples stay small, the tables do not.
TUNING = {"sample_rows": 5_000, "fit_rows": 20_000, "max_estimators": 100}


@contextmanager
def local_cluster(memory_limit: int | str = "auto") -> Iterator[str]:
    """Two one-thread workers on 127.0.0.1; the scheduler's address. The workers inherit the
    environment as it is now, so set the S3 endpoint and credentials (boto3's own variables)
    before entering."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=memory_limit,
                      host="127.0.0.1", dashboard_address=None) as local:
        yield local.scheduler_address


def switch_on_data_path(workspace: ChurnWorkspace, scheduler: str) -> None:
    """The workspace's data path on the cluster at ``scheduler``."""
    workspace.configure(dask_scheduler=scheduler, dask_data_path=True,
                        dask_final_fit_min_rows=0)  # xgboost.dask on partitions


def metadata_of(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")
