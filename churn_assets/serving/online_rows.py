"""The rows Feast's provider writes to the online store (``online_write_batch``'s input), built
a bounded slice at a time and converted once per distinct value.

``FeatureStore.write_to_online_store`` converts a whole frame in one go: a ``Value`` proto
per cell, a dict per row, all held until the store has written the last row (1M customers:
13.2 GB, 367 s, measured). Here the same input is built from slices of ``PUSH_SLICE_ROWS``
rows, and each column's distinct values (a handful in a category column) go through Feast's
own converter (``python_values_to_proto_values``) once each; rows holding the same value
share its proto (the store only serializes it). The values converted are the ones Feast's
path sees (the slice through ``pyarrow.Table.from_pandas``), so the stored bytes are the same.
Feast's SQLite store gets the slice column-wise (sqlite_rows.py), any other through the
provider's ``online_write_batch`` (``ConvertedSlice.rows``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PUSH_SLICE_ROWS = 50_000  # rows converted and written at a time: bounds the push's memory


def slices(positions: np.ndarray, size: int) -> Iterator[np.ndarray]:
    if size < 1:
        raise ValueError(f"the push slice size must be at least 1 row, not {size}")
    for start in range(0, len(positions), size):
        yield positions[start:start + size]


def distinct(values: np.ndarray, convert: Callable[[np.ndarray], list]
             ) -> tuple[np.ndarray, np.ndarray]:
    """(codes, converted): ``convert`` applied to each distinct value of ``values`` once;
    ``converted[codes]`` is the whole column. Floats are told apart by their bits (0.0 and
    -0.0 are different protos); unhashable values are converted one by one."""
    key = values.view(np.int64) if values.dtype == np.float64 else values
    try:
        codes, uniques = pd.factorize(key, use_na_sentinel=False)
    except TypeError:
        codes, uniques = np.arange(len(values)), key
    unique_values = np.asarray(uniques)
    if values.dtype == np.float64:
        unique_values = unique_values.view(np.float64)
    return codes, objects(convert(unique_values))


def objects(items: list) -> np.ndarray:
    # Not ``out[:] = items``: numpy asks each item whether it is a sequence (300k protos:
    # 0.84 CPU s, 0.01 s this way, measured).
    return np.fromiter(items, dtype=object, count=len(items))


@dataclass(frozen=True)
class ConvertedSlice:
    """One slice as Feast's protos, each column as codes into its distinct values."""

    keys: list  # an EntityKey proto per row
    features: dict[str, tuple[np.ndarray, np.ndarray]]  # name: (codes, Value protos)
    event_times: tuple[np.ndarray, np.ndarray]  # (codes, datetimes)

    def rows(self) -> list[tuple]:
        """``(entity key, {feature: Value}, event time, None)`` per row: the provider's
        ``online_write_batch`` input."""
        names = list(self.features)
        columns = [protos[codes] for codes, protos in self.features.values()]
        times = self.event_times[1][self.event_times[0]]
        return [(key, dict(zip(names, values, strict=True)), at, None)
                for key, values, at in zip(self.keys, zip(*columns, strict=True), times,
                                           strict=True)]


def convert(rows: pd.DataFrame, view: Any) -> ConvertedSlice:
    """``rows`` (a push frame: the view's entity column, features and timestamp field) as
    Feast's ``_convert_arrow_fv_to_proto`` makes them, from the same values."""
    import pyarrow as pa
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.type_map import python_values_to_proto_values
    from feast.utils import _coerce_datetime

    table = pa.Table.from_pandas(rows, preserve_index=False)

    def protos(name: str, value_type: Any) -> tuple[np.ndarray, np.ndarray]:
        values = table.column(name).to_numpy(zero_copy_only=False)
        return distinct(values, lambda d: python_values_to_proto_values(d, value_type))

    join_keys = [entity.name for entity in view.entity_columns]
    key_values = [protos(e.name, e.dtype.to_value_type()) for e in view.entity_columns]
    keys = [EntityKey(join_keys=join_keys, entity_values=list(values))
            for values in zip(*(values[codes] for codes, values in key_values), strict=True)]
    times = pd.to_datetime(table.column(view.batch_source.timestamp_field)
                           .to_numpy(zero_copy_only=False))
    return ConvertedSlice(
        keys, {f.name: protos(f.name, f.dtype.to_value_type()) for f in view.features},
        distinct(np.asarray(times), lambda d: [_coerce_datetime(t) for t in pd.to_datetime(d)]))
