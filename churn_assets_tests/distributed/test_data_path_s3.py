"""The Dask data path in its production shape for storage: source and every table between
steps on S3 (a real moto server on 127.0.0.1, reached through AWS_ENDPOINT_URL_S3 and
credentials in the environment, as an operator sets them), read and written by the workers
of a LocalCluster. Every data asset is a Parquet dataset under the S3 prefix and nothing of
it lands in the local state folder; every customer is scored once; splits are the pandas
path's. A new snapshot at the same key then replaces every dataset whole."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import load_dataset_config
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.helpers.data_path import (
    DATA_ASSETS,
    TUNING,
    data_path_cluster,
    metadata_of,
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
ROWS = 20_000
SOURCE = "landing/customers.csv"
NEXT_ROWS = 7_000  # fewer partitions than the first snapshot: no part of it may survive
DATA_ONLY = ["raw_customers", "column_roles", "validated_customers", "customer_splits",
             "feature_preprocessor", "customer_features", "churn_scores"]  # the champion scores


@pytest.fixture
def s3(workspace: ChurnWorkspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3Server]:
    with s3_in_environment(monkeypatch, BUCKET) as server:
        workspace.configure(storage_uri=f"s3://{BUCKET}/{PREFIX}")
        # The workers start only now: they inherit the endpoint and credentials.
        with data_path_cluster(workspace):
            yield server
        server.reset()  # moto's state is process-wide


def stored_keys(server: MotoS3Server, prefix: str) -> list[str]:
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                       Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def put_source(server: MotoS3Server, table: pd.DataFrame) -> None:
    server.client().put_object(Bucket=BUCKET, Key=SOURCE,
                               Body=table.to_csv(index=False).encode())


def stored_parts(server: MotoS3Server, asset: str) -> list[str]:
    return [k for k in stored_keys(server, f"{PREFIX}/{asset}.parts/") if k.endswith(".parquet")]


def read_stored(server: MotoS3Server, asset: str, **kwargs) -> pd.DataFrame:
    return pd.read_parquet(f"s3://{BUCKET}/{PREFIX}/{asset}.parts", **kwargs, storage_options={
        "client_kwargs": {"endpoint_url": server.endpoint_url}, "use_listings_cache": False})


@pytest.mark.slow
def test_the_data_path_keeps_every_table_on_s3(
        workspace: ChurnWorkspace, s3: MotoS3Server) -> None:
    workspace.configure(dask_blocksize="256KB")  # ~10 partitions
    table = customers(ROWS, seed=4)
    put_source(s3, table)
    workspace.write_config(f"s3://{BUCKET}/{SOURCE}", tuning=FAST_TUNING | TUNING)

    result = materialize_graph(workspace)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert len(checks) >= 7 and all(checks.values()), checks
    assert metadata_of(result, "raw_customers")["partitions"] >= 8
    local = workspace.root / "state"
    for asset in DATA_ASSETS:  # one object a partition under the prefix, none locally
        assert len(stored_parts(s3, asset)) > 1, asset
        assert not stored_keys(s3, f"{PREFIX}/{asset}.parquet"), asset
        assert not list(local.rglob(f"{asset}.*")), asset

    assert_scored_and_split_as_pandas(workspace, s3, result, table["customerID"].astype(str))
    champion = current_champion_version(workspace.client(), "churn-test")
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
    assert_scored_and_split_as_pandas(workspace, s3, again, smaller["customerID"].astype(str))
    assert metadata_of(again, "churn_scores")["champion_version"] == champion


def assert_scored_and_split_as_pandas(workspace: ChurnWorkspace, s3: MotoS3Server, result,
                                      ids: pd.Series) -> None:
    scores = read_stored(s3, "churn_scores")
    assert len(scores) == len(ids) == metadata_of(result, "churn_scores")["dagster/row_count"]
    assert scores["customerID"].is_unique and set(scores["customerID"]) == set(ids)
    assert scores["churn_probability"].between(0, 1).all()
    config = load_dataset_config(workspace.root / "dataset.yaml")
    splits = read_stored(s3, "customer_splits", columns=["customerID", "split"])
    by_id = splits.set_index("customerID")["split"].reindex(ids)
    assert (by_id.to_numpy() == assign_splits(ids, config.split).to_numpy()).all()
