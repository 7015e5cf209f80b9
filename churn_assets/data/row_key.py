"""A stable row key for tables without an id column, derived from the row's content.

The key is the first 8 bytes (hex) of blake2b over the row's values, every column except
the target, in column-name order, each as trimmed text (missing -> empty) joined by U+001F.
So the same row gets the same key in every snapshot, with or without the target (an
unlabeled snapshot matches its labeled twin), whatever the column order. Exact duplicate
rows share a key and therefore a split. What is lost without a real id: a customer whose
attributes change between snapshots is a new row, so there is no "same customer in a later
snapshot" guarantee.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from churn_assets.data.source_errors import SourceError
from churn_assets.dataset_config import DatasetConfig

SEPARATOR = "\x1f"


def content_keys(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> pd.Series:
    columns = sorted(str(c) for c in frame.columns if c not in exclude)
    text = pd.Series("", index=frame.index, dtype=object)
    for position, column in enumerate(columns):
        values = frame[column].astype("string").str.strip().fillna("").astype(str)
        text = values if position == 0 else text + SEPARATOR + values
    blake2b = hashlib.blake2b
    return pd.Series([blake2b(t.encode(), digest_size=8).hexdigest() for t in text],
                     index=frame.index, dtype=object)


def with_row_key(frame: pd.DataFrame, config: DatasetConfig) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with the derived key column added when the YAML names no id; else as is."""
    if not config.id_column_derived:
        return frame, []
    key = config.id_column
    if key in frame:
        raise SourceError(f"the table already has a column '{key}': name it as `id_column` "
                         "in the dataset YAML, or rename it")
    keys = content_keys(frame, exclude=(config.target,))
    keyed = frame.copy()
    keyed.insert(0, key, keys)
    shared = int(keys.duplicated(keep=False).sum())
    note = (f"no id column in the dataset YAML: '{key}' derived from each row's content"
            + (f"; {shared} rows are exact duplicates of another row and share its key"
               if shared else ""))
    return keyed, [note]
