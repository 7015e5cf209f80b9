"""Request bodies: MLflow's scoring JSON (``dataframe_records`` or ``dataframe_split``), so
a client of ``mlflow models serve`` switches by URL alone; and late labels for
``POST /outcomes``. Problems answer 422 naming the field, like FastAPI's own checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator


class SplitFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[str] = Field(min_length=1)
    data: list[list[Any]]
    index: list[Any] | None = None

    @model_validator(mode="after")
    def _rows_match_columns(self) -> SplitFrame:
        for number, row in enumerate(self.data):
            if len(row) != len(self.columns):
                raise ValueError(f"data[{number}] has {len(row)} values for "
                                 f"{len(self.columns)} columns")
        return self


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataframe_records: list[dict[str, Any]] | None = None
    dataframe_split: SplitFrame | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.dataframe_records is None) == (self.dataframe_split is None):
            raise ValueError("give exactly one of dataframe_records or dataframe_split")
        return self

    @property
    def field(self) -> str:
        return "dataframe_records" if self.dataframe_records is not None else "dataframe_split"

    @property
    def row_count(self) -> int:
        if self.dataframe_records is not None:
            return len(self.dataframe_records)
        return len(self.dataframe_split.data)

    def frame(self) -> pd.DataFrame:
        if self.dataframe_records is not None:
            return pd.DataFrame.from_records(self.dataframe_records)
        split = self.dataframe_split
        return pd.DataFrame(split.data, columns=split.columns)


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=128)
    churned: bool
    observed_at: datetime | None = None


class OutcomesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: list[Outcome] = Field(min_length=1, max_length=100_000)

    def rows(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [{"outcome_id": f"{o.customer_id}:{(o.observed_at or now).isoformat()}",
                 "customer_id": o.customer_id, "churned": int(o.churned),
                 "observed_at": o.observed_at or now, "received_at": now}
                for o in self.outcomes]


def problem(field: str, message: str, kind: str = "value_error") -> dict[str, Any]:
    """One entry of a 422 answer in FastAPI's own shape."""
    return {"detail": [{"loc": ["body", field], "msg": message, "type": kind}]}
