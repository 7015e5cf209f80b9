"""Intermediate data as Parquet (DataFrames) and JSON (dicts), under a folder or s3:// prefix."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import dagster as dg
import pandas as pd
from upath import UPath

from churn_assets.distributed.local_views import is_partitioned
from churn_assets.environment import Settings
from churn_assets.process_memory import (
    LARGE_PARQUET_BYTES,
    LARGE_TABLE_ROWS,
    release_freed_memory,
)


def write_whole(path: UPath, write: Callable[[IO[bytes]], None]) -> None:
    """Readers see the old file or the new one, never a part: a local file is written under a
    temporary name in the same folder and renamed over the old one (atomic on POSIX); a run
    killed mid-write or a full disk leaves the previous value. An S3 put is atomic already."""
    if path.protocol not in ("", "file", "local"):
        with path.open("wb") as handle:
            write(handle)
        return
    final = Path(path.path)
    temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not outrun the data on a crash
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


WRITE_CHUNK_ROWS = 1_048_576  # pyarrow's default row group: the same file layout as before


def write_frame(frame: pd.DataFrame, handle: IO[bytes]) -> None:
    """``frame.to_parquet(handle, index=False)``, converted to Arrow one row group at a time:
    the Arrow copy of a 10M-row table (~2.5 GB beside the frame) never exists whole. The
    schema comes from the whole frame, so a text column empty in one chunk keeps its type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    with pq.ParquetWriter(handle, schema) as writer:
        for start in range(0, len(frame), WRITE_CHUNK_ROWS):
            chunk = frame.iloc[start:start + WRITE_CHUNK_ROWS]
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))


PARTS_SUFFIX = ".parts"  # a folder of Parquet files written by the Dask data path

# A customer table asset's value: one pandas DataFrame, or dask.dataframe partitions on the
# Dask data path (stored as `<asset>.parts`). Loose on purpose: Dagster's type check of a
# pandas annotation would reject the partitions.
Table = Any


def dump_partitions(frame: Any, folder: UPath) -> None:
    """Each partition as one Parquet file under ``folder`` (a local folder or an s3:// prefix,
    written by the workers with the same storage settings), replacing what was there."""
    frame.to_parquet(str(folder), write_index=False, overwrite=True,
                     storage_options=dict(folder.storage_options) or None)


def load_partitions(folder: UPath) -> Any:
    import dask.dataframe as dd

    from churn_assets.distributed.tables import object_strings

    with object_strings():
        return dd.read_parquet(str(folder), storage_options=dict(folder.storage_options) or None)


def remove_other_form(path: UPath) -> None:
    """Delete the value's other form (single file or dataset) once this one is written: after
    a switch of paths, stamps cannot tell which is newer on S3, whose LastModified has whole
    seconds."""
    if path.exists():
        path.fs.rm(path.path, recursive=True)


def newer(folder: UPath, file: UPath) -> bool:
    """The dataset was written after the single file (both are left only by a run that
    stopped between writing one and removing the other)."""
    stamps = [p.stat().st_mtime for p in folder.iterdir() if p.name.endswith(".parquet")]
    return bool(stamps) and max(stamps) >= file.stat().st_mtime


class ChurnIOManager(dg.UPathIOManager):
    """DataFrames as Parquet, dicts as JSON; under a local folder or an s3:// prefix."""

    extension = ""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        try:
            super().handle_output(context, obj)
        except OSError as error:  # read-only or full: pyarrow's message names neither place
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise OSError(error.errno, f"cannot store {context.asset_key.to_user_string()} in "
                          f"{self._base_path}: {reason} (storage: $CHURN_STORAGE_URI or "
                          "$CHURN_STATE_DIR)") from error
        # The step is over: what it freed goes back before the next step reads, so steps
        # sharing one process do not stack their leftovers.
        if isinstance(obj, pd.DataFrame) and len(obj) >= LARGE_TABLE_ROWS:
            release_freed_memory()

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_partitioned(obj):  # the Dask data path: a Parquet dataset, one file a partition
            dump_partitions(obj, path.with_suffix(PARTS_SUFFIX))
            remove_other_form(path.with_suffix(".parquet"))
        elif isinstance(obj, pd.DataFrame):
            write_whole(path.with_suffix(".parquet"), lambda handle: write_frame(obj, handle))
            remove_other_form(path.with_suffix(PARTS_SUFFIX))
        elif isinstance(obj, dict):
            text = json.dumps(obj, indent=2, default=str).encode()
            write_whole(path.with_suffix(".json"), lambda handle: handle.write(text))
        else:
            raise TypeError(f"{context.asset_key.to_user_string()}: cannot store "
                            f"{type(obj).__name__}; only DataFrames and dicts travel via storage")

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        parquet, json_file = path.with_suffix(".parquet"), path.with_suffix(".json")
        parts = path.with_suffix(PARTS_SUFFIX)
        if parts.exists() and (not parquet.exists() or newer(parts, parquet)):
            return load_partitions(parts)  # lazily: no step holds the whole table
        if parquet.exists():
            # Before: the last step's inputs are gone only now (they outlive its output's
            # write), and glibc's free pages are no use to pyarrow's pool. After: the Arrow
            # table the frame was converted from (10M rows: 5.7 GB stacked without both).
            large = parquet.stat().st_size >= LARGE_PARQUET_BYTES
            if large:
                release_freed_memory()
            with parquet.open("rb") as handle:
                frame = pd.read_parquet(handle)
            if large:
                release_freed_memory()
            return frame
        if json_file.exists():
            return json.loads(json_file.read_text())
        raise FileNotFoundError(f"no stored value for {context.asset_key.to_user_string()} "
                                f"at {path}: materialize it first")


class ChurnIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """``base_path`` empty: the repository's state folder (the definitions pass
    $CHURN_STORAGE_URI, else $CHURN_STATE_DIR/assets)."""

    base_path: str = ""

    def create_io_manager(self, context) -> ChurnIOManager:
        base = self.base_path or Settings().storage_uri
        return ChurnIOManager(base_path=UPath(base))
