"""The real asset graph on the Dask data path: CHURN_DASK_SCHEDULER of a LocalCluster on
127.0.0.1 (2 one-thread workers) and CHURN_DASK_DATA_PATH=1. The same assets read, type,
validate, split, featurize, tune (final fit through xgboost.dask on the partitions), promote,
score and measure drift; the tables travel as Parquet datasets; every customer is scored;
splits are the pandas path's. A snapshot larger than either worker's memory limit goes
through every data asset (scored by the champion of the first run: training on it would
only add minutes), and a failed blocking check stops the run with the champion where it was.
Also: the switch is off by default; a source the data path cannot read fails with one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import load_dataset_config
from churn_assets.defs.deployment import resources
from churn_assets.environment import Settings
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.helpers.data_path import (
    DATA_ASSETS,
    TUNING,
    data_path_cluster,
    metadata_of,
)
from churn_assets_tests.helpers.workspace import (
    FAST_TUNING,
    ChurnWorkspace,
    customers,
    materialize_graph,
)

SMALL_ROWS = 20_000
LARGE_ROWS = 640_000
LARGE_TABLE_ASSETS = ["raw_customers", "column_roles", "validated_customers", "customer_splits",
                      "feature_preprocessor", "customer_features", "churn_scores",
                      "feature_drift"]  # no training: the champion of the first run scores
# Each worker holds ~430 MiB once it has imported the package (which loads the Dagster
# definitions) and ~580 MiB while it fits XGBoost; the table takes more than the limit as one
# pandas frame (text as Python strings, as read): 640,000 rows are ~800 MiB.
WORKER_MEMORY = 768 * 2**20


@pytest.fixture
def cluster(workspace: ChurnWorkspace) -> Iterator[str]:
    with data_path_cluster(workspace, memory_limit=WORKER_MEMORY) as scheduler:
        yield scheduler


def worker_addresses(scheduler: str) -> set[str]:
    from distributed import Client

    with Client(scheduler, set_as_default=False) as client:
        return set(client.scheduler_info(n_workers=-1)["workers"])


def stored(workspace: ChurnWorkspace, asset: str) -> Path:
    return workspace.root / "state" / "assets" / f"{asset}.parts"


def assert_scored_and_split_as_pandas(workspace: ChurnWorkspace, result, ids: pd.Series
                                      ) -> None:
    """Every customer scored once; each id in the split the pandas path gives it."""
    for asset in DATA_ASSETS:  # Parquet datasets, one file a partition, no single file
        assert len(list(stored(workspace, asset).glob("*.parquet"))) > 1, asset
        assert not stored(workspace, asset).with_suffix(".parquet").exists(), asset
    scores = pd.read_parquet(stored(workspace, "churn_scores"))
    assert len(scores) == len(ids) == metadata_of(result, "churn_scores")["dagster/row_count"]
    assert set(scores["customerID"]) == set(ids)
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["reason_1"].notna().all()  # the pandas path's reasons, per partition
    config = load_dataset_config(workspace.root / "dataset.yaml")
    splits = pd.read_parquet(stored(workspace, "customer_splits"),
                             columns=["customerID", "split"])
    by_id = splits.set_index("customerID")["split"].reindex(ids)
    assert (by_id.to_numpy() == assign_splits(ids, config.split).to_numpy()).all()
    drift = metadata_of(result, "feature_drift")
    assert drift["current_rows"] == len(ids) and "drift_detected" in drift


@pytest.mark.slow
def test_the_asset_graph_runs_as_partitions_on_the_cluster(
        workspace: ChurnWorkspace, cluster: str) -> None:
    # The whole graph, training included, on a table cut into ~10 partitions.
    workspace.configure(dask_blocksize="256KB")
    small = customers(SMALL_ROWS, seed=4)
    workspace.write_config(workspace.write_data("customers.csv", small),
                           tuning=FAST_TUNING | TUNING)

    result = materialize_graph(workspace)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert len(checks) >= 7 and all(checks.values()), checks
    assert metadata_of(result, "raw_customers")["partitions"] >= 8
    assert metadata_of(result, "tuned_churn_model")["test_roc_auc"] > 0.7
    assert_scored_and_split_as_pandas(workspace, result, small["customerID"].astype(str))
    client = workspace.client()
    champion = current_champion_version(client, "churn-test")
    assert champion is not None

    # A snapshot larger than either worker may hold, through every data asset.
    workspace.configure(dask_blocksize="4MB")
    source = workspace.write_data("customers.csv", customers(LARGE_ROWS, seed=5))
    as_read = pd.read_csv(source, dtype=str)
    assert as_read.memory_usage(deep=True).sum() > WORKER_MEMORY  # no worker could hold it
    ids = as_read["customerID"]
    del as_read
    workers = worker_addresses(cluster)

    large = materialize_graph(workspace, selection=LARGE_TABLE_ASSETS)

    assert large.success, [e.message for e in large.all_events if e.is_failure]
    # A worker over its limit is restarted by its nanny under a new address: none was.
    assert worker_addresses(cluster) == workers
    assert all(e.passed for e in large.get_asset_check_evaluations())
    assert metadata_of(large, "raw_customers")["dagster/row_count"] == LARGE_ROWS
    assert_scored_and_split_as_pandas(workspace, large, ids)
    assert metadata_of(large, "churn_scores")["champion_version"] == champion

    # A duplicated id in the next snapshot: the blocking check stops the run there.
    bad = customers(5_000, seed=6)
    bad.loc[7, "customerID"] = bad.loc[8, "customerID"]
    workspace.write_data("customers.csv", bad)
    failed = materialize_graph(workspace, selection="*")

    assert not failed.success
    checks = {e.check_name: e.passed for e in failed.get_asset_check_evaluations()}
    assert checks["unique_ids"] is False
    reached = {e.asset_key.to_user_string() for e in failed.get_asset_materialization_events()}
    assert not reached & {"customer_splits", "tuned_churn_model", "champion_model"}
    assert current_champion_version(client, "churn-test") == champion


def test_the_data_path_is_off_unless_switched_on() -> None:
    env = {"CHURN_DASK_SCHEDULER": "tcp://127.0.0.1:1"}
    tuning_only = resources(Settings.from_environ(env))["dask_cluster"]
    assert tuning_only.enabled and not tuning_only.runs_data_path
    switched_on = Settings.from_environ(env | {"CHURN_DASK_DATA_PATH": "1"})
    assert resources(switched_on)["dask_cluster"].runs_data_path


def test_an_excel_source_fails_with_one_line(workspace: ChurnWorkspace, cluster: str) -> None:
    path = workspace.root / "data" / "customers.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    customers(200).to_excel(path, index=False)
    workspace.write_config(path)

    result = materialize_graph(workspace, selection="raw_customers")

    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert "unsupported source for the Dask data path" in message and "customers.xlsx" in message
    assert "CHURN_DASK_DATA_PATH" in message
