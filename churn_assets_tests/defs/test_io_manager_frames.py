"""The IO manager writes a frame in row groups; what comes back equals a whole-frame write."""

import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from churn_assets.defs.resources import io_manager
from churn_assets.defs.resources.io_manager import write_frame


def mixed_frame(rows: int = 10) -> pd.DataFrame:
    return pd.DataFrame({
        "customerID": [f"{i:04d}" for i in range(rows)],
        "late_text": [None] * (rows // 2) + ["x"] * (rows - rows // 2),  # empty first chunks
        "tenure": np.arange(rows, dtype="int64"),
        "score": np.linspace(0, 1, rows, dtype="float32"),
        "label": (np.arange(rows) % 2).astype("int8"),
        "flag": np.arange(rows) % 3 == 0,
        "charges": [np.nan, *range(rows - 1)],
        "contract": pd.Categorical(["a", "b"] * (rows // 2)),
    })


def written(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    write_frame(frame, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("chunk_rows", [3, 5, 10, 1_000])
def test_chunked_write_reads_back_as_the_whole_frame_write(monkeypatch, chunk_rows):
    monkeypatch.setattr(io_manager, "WRITE_CHUNK_ROWS", chunk_rows)
    frame = mixed_frame()
    whole = io.BytesIO()
    frame.to_parquet(whole, index=False)
    data = written(frame)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)),
                                  pd.read_parquet(io.BytesIO(whole.getvalue())))
    assert pq.ParquetFile(io.BytesIO(data)).num_row_groups == -(-len(frame) // chunk_rows)


def test_empty_frame_keeps_its_columns_and_types():
    frame = mixed_frame().iloc[:0]
    back = pd.read_parquet(io.BytesIO(written(frame)))
    assert list(back.columns) == list(frame.columns) and len(back) == 0
    assert back["tenure"].dtype == "int64" and back["score"].dtype == "float32"
