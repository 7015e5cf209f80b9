"""Score a large table with a loaded pyfunc in row batches, so the preprocessed copy of a
million-row snapshot never exists whole (scoring 1M rows at once was the graph's peak RSS)."""

from __future__ import annotations

from typing import Any

import pandas as pd

BATCH_ROWS = 100_000


def predict_in_batches(model: Any, rows: pd.DataFrame, batch_rows: int = BATCH_ROWS,
                       params: dict | None = None, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """``model.predict(rows, params=params)``, ``batch_rows`` rows at a time; rows keep their
    index. ``drop``: columns (if present) left out of what the model sees, batch by batch, so
    the caller need not copy the whole table without them."""
    extra = {"params": params} if params else {}
    dropped = [c for c in drop if c in rows]

    def answer(batch: pd.DataFrame) -> pd.DataFrame:
        return model.predict(batch.drop(columns=dropped) if dropped else batch, **extra)

    if len(rows) <= batch_rows:
        return answer(rows)
    return pd.concat([answer(rows.iloc[start:start + batch_rows])
                      for start in range(0, len(rows), batch_rows)])
