"""predict_in_batches: rows in batches, columns dropped per batch."""

from __future__ import annotations

import pandas as pd

from churn_assets.model.batch_scoring import predict_in_batches


def test_batches_drop_columns_without_touching_the_table() -> None:
    class ColumnsSeen:  # answers with the columns and rows each call saw
        def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"seen": ",".join(rows.columns), "x2": rows["x"] * 2},
                                index=rows.index)

    table = pd.DataFrame({"id": range(7), "x": range(7), "Churn": ["Yes"] * 7},
                         index=range(10, 17))
    answer = predict_in_batches(ColumnsSeen(), table, batch_rows=3, drop=("Churn", "absent"))
    assert answer.index.equals(table.index)
    assert set(answer["seen"]) == {"id,x"}
    assert answer["x2"].tolist() == [2 * v for v in range(7)]
    assert list(table.columns) == ["id", "x", "Churn"]  # the caller's table keeps its target
