"""Score a large table with a loaded pyfunc in row batches, so the preprocessed copy of a
million-row snapshot never exists whole (scoring 1M rows at once was the graph's peak RSS)."""

from __future__ import annotations

from typing import Any

import pandas as pd

BATCH_ROWS = 100_000


def predict_in_batches(model: Any, rows: pd.DataFrame, batch_rows: int = BATCH_ROWS,
                       params: dict | None = None) -> pd.DataFrame:
    """``model.predict(rows, params=params)``, ``batch_rows`` rows at a time; rows keep their
    index."""
    extra = {"params": params} if params else {}
    if len(rows) <= batch_rows:
        return model.predict(rows, **extra)
    return pd.concat([model.predict(rows.iloc[start:start + batch_rows], **extra)
                      for start in range(0, len(rows), batch_rows)])
