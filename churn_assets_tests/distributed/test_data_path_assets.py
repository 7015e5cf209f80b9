"""The real asset graph on the Dask data path: CHURN_DASK_SCHEDULER of a LocalCluster on
127.0.0.1 (2 one-thread workers) and CHURN_DASK_DATA_PATH=1. The same assets read, type,
validate, split, featurize, tune (final fit through xgboost.dask on the partitions), promote,
score and measure drift; the tables travel as Parquet datasets; every customer is scored;
splits are the pandas path's.

The graph is trained once, in its production shape for storage: source and every table
between steps on S3 (a real moto server on 127.0.0.1, reached through AWS_ENDPOINT_URL_S3 and
credentials in the environment, as an operator sets them), read and written by the workers;
nothing of it lands in the local state folder. A new snapshot at the same key then replaces
every dataset whole. With local storage (the state folder) a snapshot larger than either
worker's memory limit goes through every data asset (scored by the champion of the first
run: training on it would only add minutes), and a failed blocking check stops the run with
the champion where it was. Also: the switch is off by default; a source the data path cannot
read fails with one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
import pyarrow.dataset
import pytest

from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import load_dataset_config
from churn_assets.defs.deployment import resources
from churn_assets.environment import Settings
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.helpers.data_path import (
    DATA_ASSETS,
    TUNING,
    local_cluster,
    metadata_of,
    switch_on_data_path,
)
from churn_assets_tests.helpers.s3_server import MotoS3Server, s3_in_environment
from churn_assets_tests.helpers.workspace import (
    FAST_TUNING,
    ChurnWorkspace,
    customers,
    materialize_graph,
)

BUCKET = "churn-data-path"
PREFIX = "prod/assets"
SOURCE = "landing/customers.csv"
SMALL_ROWS = 20_000
NEXT_ROWS = 7_000  # fewer partitions than the first snapshot: no part of it may survive
DATA_ONLY = ["raw_customers", "column_roles", "validated_customers", "customer_splits",
             "feature_preprocessor", "customer_features", "churn_scores"]  # the champion scores
LARGE_ROWS = 640_000
LARGE_TABLE_ASSETS = [*DATA_ONLY, "feature_drift"]  # no training: the first run's champion
# Each worker holds ~430 MiB once it has imported the package (which loads the Dagster
# definitions) and ~580 MiB while it fits XGBoost; the table takes more than the limit as one
# pandas frame (text as Python strings, as read): 640,000 rows are ~800 MiB.
WORKER_MEMORY = 768 * 2**20

Read = Callable[..., pd.DataFrame]  # read(asset, **read_parquet_options): a stored dataset


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3Server]:
    with pytest.MonkeyPatch.context() as monkeypatch, \
            s3_in_environment(monkeypatch, BUCKET) as server:
        yield server
        server.reset()  # moto's state is process-wide


@pytest.fixture(scope="module")
def scheduler(s3: MotoS3Server) -> Iterator[str]:
    """One cluster for the module. Its workers start after the S3 endpoint and credentials
    are set: they inherit them."""
    with local_cluster(memory_limit=WORKER_MEMORY) as address:
        yield address


@pytest.fixture
def cluster(workspace: ChurnWorkspace, scheduler: str) -> str:
    switch_on_data_path(workspace, scheduler)
    return scheduler


def worker_addresses(scheduler: str) -> set[str]:
    from distributed import Client

    with Client(scheduler, set_as_default=False) as client:
        return set(client.scheduler_info(n_workers=-1)["workers"])


def stored_keys(server: MotoS3Server, prefix: str) -> list[str]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                       Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def put_source(server: MotoS3Server, table: pd.DataFrame) -> None:
    server.client().put_object(Bucket=BUCKET, Key=SOURCE,
                               Body=table.to_csv(index=False).encode())


def stored_parts(server: MotoS3Server, asset: str) -> list[str]:
    return [k for k in stored_keys(server, f"{PREFIX}/{asset}.parts/") if k.endswith(".parquet")]


def on_s3(server: MotoS3Server) -> Read:
    def read(asset: str, **kwargs) -> pd.DataFrame:
        return pd.read_parquet(f"s3://{BUCKET}/{PREFIX}/{asset}.parts", **kwargs,
                               storage_options={"client_kwargs": {
                                   "endpoint_url": server.endpoint_url},
                                   "use_listings_cache": False})
    return read


def in_state_folder(workspace: ChurnWorkspace) -> Read:
    def read(asset: str, **kwargs) -> pd.DataFrame:
        return pd.read_parquet(workspace.root / "state" / "assets" / f"{asset}.parts", **kwargs)
    return read


def assert_scored_and_split_as_pandas(workspace: ChurnWorkspace, result, ids: pd.Series,
                                      read: Read, drift: bool) -> None:
    """Every customer scored once; each id in the split the pandas path gives it."""
    scores = read("churn_scores")
    assert len(scores) == len(ids) == metadata_of(result, "churn_scores")["dagster/row_count"]
    assert scores["customerID"].is_unique and set(scores["customerID"]) == set(ids)
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["reason_1"].notna().all()  # the pandas path's reasons, per partition
    config = load_dataset_config(workspace.root / "dataset.yaml")
    splits = read("customer_splits", columns=["customerID", "split"])
    by_id = splits.set_index("customerID")["split"].reindex(ids)
    assert (by_id.to_numpy() == assign_splits(ids, config.split).to_numpy()).all()
    if drift:  # the runs that select feature_drift
        found = metadata_of(result, "feature_drift")
        assert found["current_rows"] == len(ids) and "drift_detected" in found


@pytest.mark.slow
def test_the_asset_graph_runs_as_partitions_on_the_cluster(
        workspace: ChurnWorkspace, s3: MotoS3Server, cluster: str) -> None:
    # The whole graph, training included, on a table cut into ~10 partitions, the source
    # and every table between steps on S3.
    workspace.configure(dask_blocksize="256KB", storage_uri=f"s3://{BUCKET}/{PREFIX}")
    small = customers(SMALL_ROWS, seed=4)
    put_source(s3, small)
    workspace.write_config(f"s3://{BUCKET}/{SOURCE}", tuning=FAST_TUNING | TUNING)

    result = materialize_graph(workspace)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert len(checks) >= 7 and all(checks.values()), checks
    assert metadata_of(result, "raw_customers")["partitions"] >= 8
    assert metadata_of(result, "tuned_churn_model")["test_roc_auc"] > 0.7
    state = workspace.root / "state"
    for asset in DATA_ASSETS:  # one object a partition under the prefix, none locally
        assert len(stored_parts(s3, asset)) > 1, asset
        assert not stored_keys(s3, f"{PREFIX}/{asset}.parquet"), asset
        assert not list(state.rglob(f"{asset}.*")), asset
    assert_scored_and_split_as_pandas(workspace, result, small["customerID"].astype(str),
                                      on_s3(s3), drift=True)
    client = workspace.client()
    champion = current_champion_version(client, "churn-test")
    assert champion is not None

    # The next snapshot at the same key: read anew (not from a cached listing of the
    # first), and no part of the first run's datasets survives beside the new parts.
    before = metadata_of(result, "raw_customers")
    smaller = customers(NEXT_ROWS, seed=5)
    put_source(s3, smaller)

    again = materialize_graph(workspace, selection=DATA_ONLY)

    assert again.success, [e.message for e in again.all_events if e.is_failure]
    assert all(e.passed for e in again.get_asset_check_evaluations())
    raw = metadata_of(again, "raw_customers")
    assert raw["fingerprint"] != before["fingerprint"]
    assert raw["dagster/row_count"] == NEXT_ROWS
    assert 1 < raw["partitions"] < before["partitions"]
    assert len(stored_parts(s3, "raw_customers")) == raw["partitions"]
    assert_scored_and_split_as_pandas(workspace, again, smaller["customerID"].astype(str),
                                      on_s3(s3), drift=False)
    assert metadata_of(again, "churn_scores")["champion_version"] == champion

    # A snapshot larger than either worker may hold, through every data asset, stored in
    # the state folder: the other storage, the same champion.
    workspace.configure(dask_blocksize="4MB", storage_uri=str(state / "assets"))
    source = workspace.write_data("customers.csv", customers(LARGE_ROWS, seed=5))
    workspace.write_config(source, tuning=FAST_TUNING | TUNING)
    as_read = pd.read_csv(source, dtype=str)
    assert as_read.memory_usage(deep=True).sum() > WORKER_MEMORY  # no worker could hold it
    ids = as_read["customerID"]
    del as_read
    workers = worker_addresses(cluster)

    large = materialize_graph(workspace, selection=LARGE_TABLE_ASSETS)

    assert large.success, [e.message for e in large.all_events if e.is_failure]
    # A worker over its limit is restarted by its nanny under a new address: none was.
    assert worker_addresses(cluster) == workers
    checks = {e.check_name: e.passed for e in large.get_asset_check_evaluations()}
    assert len(checks) >= 7 and all(checks.values()), checks  # no check failed
    assert metadata_of(large, "raw_customers")["dagster/row_count"] == LARGE_ROWS
    for asset in DATA_ASSETS:  # Parquet datasets, one file a partition, no single file
        folder = state / "assets" / f"{asset}.parts"
        assert len(list(folder.glob("*.parquet"))) > 1, asset
        assert not folder.with_suffix(".parquet").exists(), asset
    # The feature table whole, partition by partition (as test_data_path's bench path once
    # asserted on its own table larger than memory: the same partition steps).
    features = state / "assets" / "customer_features.parts"
    assert pyarrow.dataset.dataset(features).count_rows() == LARGE_ROWS
    assert len(list(features.glob("*.parquet"))) > 20
    assert_scored_and_split_as_pandas(workspace, large, ids, in_state_folder(workspace),
                                      drift=True)
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
