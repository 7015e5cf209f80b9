"""`CustomerFeatures.push` writes a snapshot in slices of a bounded size (never the whole
snapshot in one call: 1M customers that way took 13.2 GB), and what it stores is exactly what
Feast's own ``write_to_online_store`` stores for the same rows."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_assets.serving import online_store as online
from churn_assets.serving import sqlite_rows

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


def stored(location: online.StoreLocation, with_times: bool = False) -> list[tuple]:
    times = ", event_ts" if with_times else ""
    with sqlite3.connect(location.online) as connection:
        return connection.execute(
            "SELECT entity_key, feature_name, value, value_text, vector_value, created_ts"
            f"{times} FROM churn_{online.VIEW} ORDER BY entity_key, feature_name").fetchall()


def event_times(location: online.StoreLocation) -> set[int]:
    with sqlite3.connect(location.online) as connection:
        return {row[0] for row in connection.execute(
            f"SELECT DISTINCT event_ts FROM churn_{online.VIEW}")}


def next_month(frame: pd.DataFrame) -> pd.DataFrame:
    """The same customers a month on: half of them changed, one gone, a new one."""
    newer = frame.iloc[1:].copy()
    newer.loc[newer.index[::2], "tenure"] += 1
    newer.loc[newer.index[::3], "Contract"] = None
    newer.loc[newer.index[::5], "MonthlyCharges"] = 99.5
    new = frame.iloc[[0]].assign(customerID="9999-NEWER")
    return pd.concat([newer, new], ignore_index=True)


def sqlite_store(folder: Path) -> online.CustomerFeatures:
    return online.open_store("churn", "customerID",
                             online.store_location(str(folder / "online.db"), str(folder)))


def test_the_push_converts_and_writes_slices_no_larger_than_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feast.infra.passthrough_provider import PassthroughProvider

    converted: list[int] = []
    convert, write = online.convert, PassthroughProvider.online_write_batch

    def counted(rows, view):  # the real conversion, its size recorded
        converted.append(len(rows))
        return convert(rows, view)

    def refused(self, config, table, data, progress):
        assert len(data) <= 40
        return write(self, config, table, data, progress)

    monkeypatch.setattr(online, "convert", counted)
    monkeypatch.setattr(PassthroughProvider, "online_write_batch", refused)
    frame = customers(130)
    store = sqlite_store(tmp_path)
    assert store.push([frame], drop=("Churn",), slice_rows=40) == 130  # 131 rows, one repeat
    assert converted == [40, 40, 40, 10]
    reader = sqlite_store(tmp_path)
    assert reader.get("0007-ABCDE")["tenure"] == 99  # the later row of the repeated id
    assert reader.get("0129-ABCDE")["Contract"] == frame.loc[129, "Contract"]
    with pytest.raises(ValueError, match="at least 1 row"):
        store.push([frame], slice_rows=0)


def test_the_rows_stored_equal_feasts_own_write(tmp_path: Path) -> None:
    ours, feasts = sqlite_store(tmp_path / "ours"), sqlite_store(tmp_path / "feast")
    Path(feasts.location.registry).parent.mkdir(parents=True)
    first = customers(300).drop(columns="Churn")
    for frame in (first, next_month(first)):
        started = int(datetime.now(UTC).timestamp())
        assert ours.push([frame], slice_rows=64) == 300
        finished = int(datetime.now(UTC).timestamp())
        feasts.store.apply(online.feature_definitions("customerID", frame.dtypes,
                                                      str(tmp_path / "unused.parquet")))
        feasts.store.write_to_online_store(
            online.VIEW, online.push_frame(frame, "customerID", datetime.now(UTC)))
        assert stored(ours.location) == stored(feasts.location)
        assert started <= max(event_times(ours.location)) <= finished
    assert len(stored(ours.location)) == 301 * 5


def write_both(stores: list, rows: pd.DataFrame, dtypes: pd.Series, tmp_path: Path) -> list:
    """``rows`` written into the first store by ``sqlite_rows.write`` and into the second by
    Feast's own ``online_write_batch``, each store's definitions applied first."""
    for store in stores:
        Path(store.location.registry).parent.mkdir(parents=True, exist_ok=True)
        store.store.apply(online.feature_definitions("customerID", dtypes,
                                                     str(tmp_path / "unused.parquet")))
    ours, feasts = stores
    view = ours.store.get_feature_view(online.VIEW)
    assert sqlite_rows.fast_path(ours.store.config)
    sqlite_rows.write(ours.store._get_provider().online_store._get_conn(ours.store.config),
                      ours.store.config, view, online.convert(rows, view))
    feasts.store._get_provider().online_write_batch(
        feasts.store.config, view, online.convert(rows, view).rows(), progress=None)
    return stores


def test_the_sqlite_writer_stores_what_feasts_writer_stores(tmp_path: Path) -> None:
    """The same converted rows through ``sqlite_rows.write`` and through Feast's
    ``online_write_batch``: the same table, event times included, after an update too."""
    stores = [sqlite_store(tmp_path / name) for name in ("ours", "feast")]
    first = customers(200).drop(columns="Churn")
    for frame, at in ((first, datetime(2026, 1, 5, 9, 30, tzinfo=UTC)),
                      (next_month(first), datetime(2026, 2, 5, 9, 30, tzinfo=UTC))):
        ours, feasts = write_both(stores, online.push_frame(frame, "customerID", at),
                                  frame.dtypes, tmp_path)
        assert stored(ours.location, with_times=True) == stored(feasts.location, True)
    # The customer absent from the newer snapshot keeps the older row (as in Feast).
    assert event_times(ours.location) == {int(datetime(2026, month, 5, 9, 30).timestamp())
                                          for month in (1, 2)}


def test_no_offline_store_is_loaded_and_offline_reads_say_why(tmp_path: Path) -> None:
    """Feast's default offline store imports dask and scipy (0.8 CPU s) for nothing: batch
    scoring reads the snapshot itself. Checked in a fresh interpreter, where nothing else
    imported them."""
    script = (
        "import sys, pandas as pd\n"
        "from churn_assets.serving import online_store as online\n"
        f"location = online.store_location({str(tmp_path / 'online.db')!r}, {str(tmp_path)!r})\n"
        "rows = pd.DataFrame({'customerID': ['a', 'b'], 'tenure': [1, 2]})\n"
        "assert online.open_store('churn', 'customerID', location).push([rows]) == 2\n"
        "assert online.open_store('churn', 'customerID', location).get('b')['tenure'] == 2\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'scipy')))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    store = sqlite_store(tmp_path).store
    entities = pd.DataFrame({"customerID": ["a"], "event_timestamp": [datetime.now(UTC)]})
    with pytest.raises(NotImplementedError, match="batch scoring reads the validated snapshot"):
        store.get_historical_features(entity_df=entities,
                                      features=[f"{online.VIEW}:tenure"]).to_df()


def test_numeric_ids_are_pushed_and_found_as_text(tmp_path: Path) -> None:
    rows = pd.DataFrame({"customerID": [30, 4, 1000, 4], "tenure": [1, 2, 3, 5]})
    assert sqlite_store(tmp_path).push([rows], slice_rows=2) == 3
    reader = sqlite_store(tmp_path)
    assert [reader.get(i)["tenure"] for i in ("4", "30", "1000")] == [5, 1, 3]


def test_a_customer_repeated_within_a_slice_keeps_its_last_row_as_in_feast(
        tmp_path: Path) -> None:
    """``sqlite_rows.write`` given a slice holding a customer twice (the push deduplicates
    first; the writer does not rely on it): the later row wins, as in Feast's loop."""
    stores = [sqlite_store(tmp_path / name) for name in ("ours", "feast")]
    frame = customers(50).drop(columns="Churn")
    rows = online.push_frame(frame, "customerID", datetime(2026, 1, 5, tzinfo=UTC))
    rows = pd.concat([rows, rows.iloc[[3, 10]].assign(tenure=[123, 456])], ignore_index=True)
    ours, feasts = write_both(stores, rows, frame.dtypes, tmp_path)
    assert stored(ours.location, with_times=True) == stored(feasts.location, True)
    assert sqlite_store(tmp_path / "ours").get(rows.loc[3, "customerID"])["tenure"] == 123
