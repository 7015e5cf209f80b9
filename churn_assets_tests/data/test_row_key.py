"""The derived row key of a table without an id: stable, content-only, label-blind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churn_assets.data.row_key import with_row_key
from churn_assets.data.source_errors import SourceError
from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import parse_dataset_config
from churn_assets_tests.helpers.workspace import customers

RAW = {"source": "t.csv", "target": "Churn", "positive_label": "Yes", "model_name": "m"}


@pytest.fixture
def rows() -> pd.DataFrame:
    return customers(500, seed=9).drop(columns="customerID")


def test_keys_ignore_column_order_and_the_target(rows: pd.DataFrame) -> None:
    config = parse_dataset_config(RAW, Path("."))
    keyed, notes = with_row_key(rows, config)
    assert list(keyed.columns) == ["row_key", *rows.columns] and keyed["row_key"].is_unique
    assert notes == ["no id column in the dataset YAML: 'row_key' derived from each row's "
                     "content"]
    shuffled, _ = with_row_key(rows[rows.columns[::-1]], config)
    unlabeled, _ = with_row_key(rows.drop(columns="Churn"), config)
    relabeled, _ = with_row_key(rows.assign(Churn="No"), config)
    for other in (shuffled, unlabeled, relabeled):
        assert other["row_key"].tolist() == keyed["row_key"].tolist()
    changed, _ = with_row_key(rows.assign(tenure=rows["tenure"] + 1), config)
    assert not (changed["row_key"] == keyed["row_key"]).any()
    assert rows.columns[0] != "row_key"  # the caller's frame is left as it was


def test_exact_duplicates_share_a_key_and_a_split(rows: pd.DataFrame) -> None:
    config = parse_dataset_config(RAW, Path("."))
    doubled = pd.concat([rows, rows.iloc[[3, 7]]], ignore_index=True)
    keyed, notes = with_row_key(doubled, config)
    assert keyed["row_key"].iloc[500] == keyed["row_key"].iloc[3]
    splits = assign_splits(keyed["row_key"], config.split)
    assert splits.iloc[501] == splits.iloc[7]
    assert "4 rows are exact duplicates of another row and share its key" in notes[0]


def test_a_configured_id_adds_nothing_and_a_clashing_column_is_refused(rows) -> None:
    with_id = parse_dataset_config(RAW | {"id_column": "customerID"}, Path("."))
    keyed, notes = with_row_key(rows, with_id)
    assert keyed is rows and notes == []
    with pytest.raises(SourceError, match="already has a column 'row_key'"):
        with_row_key(rows.assign(row_key=1), parse_dataset_config(RAW, Path(".")))
