"""Partitioned frames travel between assets as Parquet datasets through the project's IO
manager (the same storage setting as every other asset: a folder here, an s3:// prefix in
production), and come back lazily, still partitioned."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import dask.dataframe as dd
import pandas as pd
import pytest

from churn_assets.defs.resources.io_manager import ChurnIOManagerFactory
from churn_assets.distributed.tables import object_strings

FRAME = pd.DataFrame({"customerID": [f"{i:04d}" for i in range(30)], "tenure": range(30)})


def test_partitions_round_trip_as_a_parquet_dataset(tmp_path: Path) -> None:
    @dg.asset
    def customer_parts():
        with object_strings():
            return dd.from_pandas(FRAME, npartitions=3)

    @dg.asset
    def seen(customer_parts) -> dict:
        return {"partitions": customer_parts.npartitions,
                "rows": customer_parts.compute().reset_index(drop=True).to_dict("list")}

    result = dg.materialize([customer_parts, seen], resources={
        "io_manager": ChurnIOManagerFactory(base_path=str(tmp_path))})

    assert result.success
    files = sorted((tmp_path / "customer_parts.parts").glob("*.parquet"))
    assert len(files) == 3  # one file a partition, no single-file copy of the table
    assert not (tmp_path / "customer_parts.parquet").exists()
    assert result.output_for_node("seen") == {"partitions": 3,
                                              "rows": FRAME.to_dict("list")}


def test_the_last_written_form_is_loaded_after_a_switch_on_s3(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment switches between the data path and one process and back, storing on
    S3 (whole-second LastModified): each run's downstream step reads what the run wrote."""
    from churn_assets_tests.helpers.s3_server import s3_in_environment

    def run(value: pd.DataFrame, partitioned: bool) -> dict:
        @dg.asset(name="customer_table")
        def table():
            if not partitioned:
                return value
            with object_strings():
                return dd.from_pandas(value, npartitions=2)

        @dg.asset
        def seen(customer_table) -> dict:
            frame = customer_table if isinstance(customer_table, pd.DataFrame) \
                else customer_table.compute()
            return {"rows": frame.reset_index(drop=True).to_dict("list")}

        result = dg.materialize([table, seen], resources={
            "io_manager": ChurnIOManagerFactory(base_path="s3://churn-switch/assets")})
        assert result.success
        return result.output_for_node("seen")

    with s3_in_environment(monkeypatch, "churn-switch") as server:
        try:
            for n, partitioned in enumerate([False, True, False, True]):
                value = FRAME.iloc[: 10 + n]
                assert run(value, partitioned) == {"rows": value.to_dict("list")}, n
        finally:
            server.reset()
