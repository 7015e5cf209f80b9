"""Small local views of partitioned tables, for the steps that need rows in one process.

The assets downstream of the data path (tuning, promotion, monitoring, the challenger trial)
read a few hundred thousand rows at most: a seeded sample of each split, the id column, a
content digest. They get exactly that, never the whole table; on a pandas frame each of
these is what the pandas path uses, so one code path serves both. Dask is imported only
for partitions: the pandas path never pays for it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from churn_assets.data.frames import content_digest
from churn_assets.names import SPLIT, SPLITS

LOCAL_ROWS = 250_000  # rows per split (or per table) a local view holds at most
BLOCKSIZE = "8MB"  # CSV bytes per partition: ~70k Telco-like rows, ~90 MB as pandas objects


def is_partitioned(obj: Any) -> bool:
    """A dask.dataframe collection, told apart without importing dask."""
    return type(obj).__module__.startswith("dask.") and hasattr(obj, "to_parquet")


def sample_partitions(frame: Any, max_rows: int | None, seed: int = 0,
                      n_rows: int | None = None) -> pd.DataFrame:
    """At most about ``max_rows`` rows as one pandas frame: every row when the table is no
    larger, else a seeded Bernoulli sample drawn in each partition (in partition order).
    The partitions are joined here: ``compute()`` would join them on one worker first."""
    import dask

    n_rows = len(frame) if n_rows is None else n_rows
    if max_rows is not None and n_rows > max_rows:
        frame = frame.sample(frac=max_rows / n_rows, random_state=seed)
    return pd.concat(dask.compute(*frame.to_delayed()))


def local_rows(frame: Any, max_rows: int | None = LOCAL_ROWS, seed: int = 0) -> pd.DataFrame:
    """A pandas frame as is; partitions as a seeded sample of at most about ``max_rows``
    rows (every row of a smaller table), indexed 0..n-1."""
    if not is_partitioned(frame):
        return frame
    return sample_partitions(frame, max_rows, seed).reset_index(drop=True)


def _sampled_part(part: pd.DataFrame, shares: dict[str, float], seed: int,
                  index: int) -> pd.DataFrame:
    kept = [rows if share >= 1 else rows.sample(frac=share, random_state=seed + index)
            for name, share in shares.items()
            if len(rows := part[part[SPLIT] == name])]
    return pd.concat(kept) if kept else part.iloc[:0]


def local_split_rows(splits: Any, max_rows: int | None = LOCAL_ROWS, seed: int = 0,
                     sizes: dict[str, int] | None = None) -> pd.DataFrame:
    """``customer_splits`` rows with at most about ``max_rows`` rows of each split (seeded
    samples, each split on its own so small splits stay whole), drawn in one pass over the
    partitions; ``sizes`` (rows per split) when already known."""
    if not is_partitioned(splits):
        return splits
    import dask

    if sizes is None:
        sizes = splits[SPLIT].value_counts().compute().to_dict()
    shares = {name: 1.0 if max_rows is None or sizes[name] <= max_rows
              else max_rows / sizes[name] for name in SPLITS if sizes.get(name)}
    parts = [dask.delayed(_sampled_part)(part, shares, seed, i)
             for i, part in enumerate(splits.to_delayed())]
    return pd.concat(dask.compute(*parts)).reset_index(drop=True)


def _digest(part: pd.DataFrame) -> str:
    return content_digest(part).hexdigest()


def partitions_digest(frame: Any) -> str:
    """A content hash: of every row of a pandas frame, or of each partition's row hashes in
    partition order (the same stored dataset gives the same digest)."""
    if not is_partitioned(frame):
        return _digest(frame)
    import dask

    digests = dask.compute(*[dask.delayed(_digest)(p) for p in frame.to_delayed()])
    return hashlib.sha256("".join(digests).encode()).hexdigest()
