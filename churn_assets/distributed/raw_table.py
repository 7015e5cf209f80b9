"""``raw_customers`` on partitions: the source read and typed as ``dask.dataframe`` parts,
identified by the store's own fingerprint instead of a hash of every byte."""

from __future__ import annotations

import hashlib
from typing import Any

import dask.dataframe as dd
import fsspec

from churn_assets.data.row_key import with_row_key
from churn_assets.dataset_config import DatasetConfig
from churn_assets.distributed.local_views import BLOCKSIZE
from churn_assets.distributed.tables import (
    object_strings,
    read_partitions,
    storage_options,
    type_and_count_partitions,
)
from churn_assets.environment import s3_endpoint


def source_options(uri: str) -> dict[str, Any] | None:
    """fsspec options for ``uri``: the S3 endpoint boto3 itself would use."""
    return storage_options(uri, s3_endpoint())


def read_raw_partitions(uri: str, config: DatasetConfig, blocksize: str | int = BLOCKSIZE
                        ) -> tuple[dd.DataFrame, list[str], int]:
    """The source's rows as typed partitions, what reading them had to note, and their
    count. Without an ``id_column`` each partition gets the derived ``row_key`` (a hash of
    the row's own content, so the same row gets the same key in any partition)."""
    frame, notes, rows = type_and_count_partitions(
        read_partitions(uri, blocksize=blocksize, options=source_options(uri)),
        text_columns=(config.id_column,))
    if config.id_column_derived:
        meta, key_notes = with_row_key(frame._meta, config)  # names a clash of column names
        with object_strings():
            frame = frame.map_partitions(lambda part: with_row_key(part, config)[0],
                                         meta=meta)
        notes += key_notes
    return frame, notes, rows


def source_fingerprint(uri: str) -> tuple[int, str]:
    """(bytes, fingerprint) of a file, object or Parquet folder from the store's metadata
    (size and modification time locally, the ETag on S3): hashing every byte of a table
    that needs a cluster would be one process reading all of it."""
    fs, path = fsspec.core.url_to_fs(uri, **(source_options(uri) or {}))
    files = [path] if fs.isfile(path) else sorted(fs.find(path))
    n_bytes = sum(int(fs.size(f)) for f in files)
    stamps = "-".join(f"{f}:{fs.checksum(f):x}" for f in files)
    return n_bytes, hashlib.sha256(stamps.encode()).hexdigest()
