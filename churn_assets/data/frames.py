"""Large-table helpers that read a frame without copying all of it.

At 10M rows a copy of the customer table is 2-3 GB; the training step used to make three
(the train rows to log, the raw columns for the retention decision, the content hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

DIGEST_CHUNK_ROWS = 500_000


def columns_view(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame[columns]`` sharing the column arrays instead of copying them (pandas 2 copies
    on selection). Read it, never write to it: a write would reach ``frame`` too."""
    return pd.DataFrame({name: frame[name] for name in columns}, copy=False)


def content_digest(frame: pd.DataFrame, rows: np.ndarray | None = None,
                   columns: Sequence[str] | None = None,
                   chunk_rows: int = DIGEST_CHUNK_ROWS) -> hashlib._Hash:
    """sha256 over ``pd.util.hash_pandas_object(frame.iloc[rows][columns], index=False)``
    (all rows / all columns when None), computed ``chunk_rows`` rows at a time: a row's hash
    depends on that row alone, so the digest is the same as over the whole selection, and
    only one chunk is ever copied."""
    positions = np.arange(len(frame)) if rows is None else np.asarray(rows)
    picked = slice(None) if columns is None else [frame.columns.get_loc(c) for c in columns]
    digest = hashlib.sha256()
    for start in range(0, len(positions), chunk_rows):
        chunk = frame.iloc[positions[start:start + chunk_rows], picked]
        digest.update(pd.util.hash_pandas_object(chunk, index=False).to_numpy())
    return digest


def features_version(features: pd.DataFrame) -> str:
    """A content hash of the feature table (in row chunks: no copy of it at once)."""
    return content_digest(features).hexdigest()
