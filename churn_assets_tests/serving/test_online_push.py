"""`CustomerFeatures.push` writes a snapshot in slices of a bounded size (never the whole
snapshot in one call: 1M customers that way took 13.2 GB), and what it stores is exactly what
Feast's own ``write_to_online_store`` stores for the same rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_assets.serving import online_store as online

pytest.importorskip("feast")


def customers(n: int) -> pd.DataFrame:
    """Every kind of column the view types: text (with missing values), integers, floats
    (missing, -0.0), booleans and times; a repeated id whose later row must win."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "customerID": [f"{i:04d}-ABCDE" for i in range(n)],
        "Contract": rng.choice(["Month-to-month", "One year", None], n),
        "tenure": rng.integers(0, 72, n),
        "MonthlyCharges": rng.choice([18.25, 70.7, -0.0, 0.0, np.nan], n),
        "Paperless": rng.random(n) < 0.5,
        "SignedUp": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        "Churn": rng.choice(["Yes", "No"], n),
    })
    frame.loc[3, "SignedUp"] = pd.NaT
    repeat = frame.iloc[[7]].assign(tenure=99)  # the same customer, a later row
    return pd.concat([frame, repeat], ignore_index=True)


def stored(location: online.StoreLocation, project: str) -> list[tuple]:
    with sqlite3.connect(location.online) as connection:
        return connection.execute(
            "SELECT entity_key, feature_name, value, value_text, vector_value, created_ts "
            f"FROM {project}_{online.VIEW} ORDER BY entity_key, feature_name").fetchall()


def event_times(location: online.StoreLocation, project: str) -> set[int]:
    with sqlite3.connect(location.online) as connection:
        return {row[0] for row in connection.execute(
            f"SELECT DISTINCT event_ts FROM {project}_{online.VIEW}")}


def test_the_push_writes_slices_no_larger_than_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feast.infra.passthrough_provider import PassthroughProvider

    written: list[int] = []
    write = PassthroughProvider.online_write_batch

    def counted(self, config, table, data, progress):  # the real write, its size recorded
        written.append(len(data))
        return write(self, config, table, data, progress)

    monkeypatch.setattr(PassthroughProvider, "online_write_batch", counted)
    frame = customers(130)
    location = online.store_location(str(tmp_path / "online.db"), str(tmp_path))
    store = online.open_store("churn", "customerID", location)
    assert store.push([frame], drop=("Churn",), slice_rows=40) == 130  # 131 rows, one repeat
    assert written == [40, 40, 40, 10]
    reader = online.open_store("churn", "customerID", location)
    assert reader.get("0007-ABCDE")["tenure"] == 99  # the later row of the repeated id
    assert reader.get("0129-ABCDE")["Contract"] == frame.loc[129, "Contract"]
    with pytest.raises(ValueError, match="at least 1 row"):
        store.push([frame], slice_rows=0)


def test_the_rows_stored_equal_feasts_own_write(tmp_path: Path) -> None:
    frame = customers(300).drop(columns="Churn")
    ours = online.store_location(str(tmp_path / "ours.db"), str(tmp_path / "ours"))
    started = int(datetime.now(UTC).timestamp())
    assert online.open_store("churn", "customerID", ours).push([frame], slice_rows=64) == 300
    finished = int(datetime.now(UTC).timestamp())

    feasts = online.store_location(str(tmp_path / "feast.db"), str(tmp_path / "feast"))
    reference = online.open_store("churn", "customerID", feasts)
    Path(feasts.registry).parent.mkdir(parents=True)
    reference.store.apply(online.feature_definitions("customerID", frame.dtypes,
                                                     str(tmp_path / "unused.parquet")))
    reference.store.write_to_online_store(
        online.VIEW, online.push_frame(frame, "customerID", datetime.now(UTC)))

    assert len(stored(ours, "churn")) == 300 * 5
    assert stored(ours, "churn") == stored(feasts, "churn")
    [pushed_at] = event_times(ours, "churn")
    assert started <= pushed_at <= finished
