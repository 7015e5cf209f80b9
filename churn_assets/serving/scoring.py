"""Answer a request with the current ``ModelSet``: each row goes to its arm's model, the
answer keeps the rows' order, and the log rows are made later on the writer's thread."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from churn_assets.model.reason_codes import REASON_COLUMNS
from churn_assets.names import PREDICTION, PROBABILITY
from churn_assets.serving.model_set import (
    CHAMPION_ARM,
    SHADOW_ARM,
    LoadedModel,
    ModelSet,
    arms_for,
)


class NoModel(RuntimeError):
    """No @champion is loaded yet."""


ANSWER_COLUMNS = (PROBABILITY, PREDICTION, *REASON_COLUMNS, "model_version", "arm")


@dataclass
class Answered:
    """One request's answer: per-row scores with the arm and version that gave them."""

    request_id: str
    rows: pd.DataFrame  # as received
    # ANSWER_COLUMNS -> one value per row, in the rows' order, as Python values: the answer
    # is built from these lists, not from a frame (a one-row frame's inserts and
    # ``to_dict`` cost more than the rest of the answer around the model).
    columns: dict[str, list[Any]]
    models: dict[str, LoadedModel]  # arm -> model
    received_at: datetime
    latency_ms: float = 0.0

    def payload(self) -> list[dict[str, Any]]:
        """One dict per row, keys in ``ANSWER_COLUMNS`` order (``to_dict("records")``)."""
        names = list(self.columns)
        return [dict(zip(names, values, strict=True))
                for values in zip(*self.columns.values(), strict=True)]


def _ids(rows: pd.DataFrame, id_column: str | None) -> pd.Series | None:
    return rows[id_column] if id_column and id_column in rows else None


def _scored_columns(scored: pd.DataFrame, model: LoadedModel, arm: str) -> dict[str, list]:
    """The model's answer (its own columns, in its own frame) as Python lists, with the
    version and arm that gave it."""
    columns = {name: scored[name].tolist() for name in ANSWER_COLUMNS[:-2]}
    columns["model_version"] = [model.version] * len(scored)
    columns["arm"] = [arm] * len(scored)
    return columns


def answer(models: ModelSet, rows: pd.DataFrame, id_column: str | None) -> Answered:
    if models.champion is None:
        raise NoModel("no @champion model is loaded yet")
    received, start = datetime.now(UTC), time.perf_counter()
    if not rows.index.equals(pd.RangeIndex(len(rows))):
        rows = rows.reset_index(drop=True)
    arms = arms_for(_ids(rows, id_column), models, len(rows))
    used = {arm: models.champion if arm == CHAMPION_ARM else models.challenger
            for arm in dict.fromkeys(arms)}
    if len(used) == 1:
        [(arm, model)] = used.items()
        columns = _scored_columns(model.score(rows), model, arm)
    else:  # each arm scores its own rows; the answer keeps the rows' order
        columns = {name: [None] * len(rows) for name in ANSWER_COLUMNS}
        chosen = np.asarray(arms, dtype=object)
        for arm, model in used.items():
            positions = np.flatnonzero(chosen == arm)
            part = _scored_columns(model.score(rows.iloc[positions]), model, arm)
            for name, values in part.items():
                target = columns[name]
                for position, value in zip(positions.tolist(), values, strict=True):
                    target[position] = value
    result = Answered(uuid.uuid4().hex, rows, columns, used, received)
    result.latency_ms = (time.perf_counter() - start) * 1000
    return result


def shadow(models: ModelSet, answered: Answered) -> Answered | None:
    """The challenger's answer to the same rows, for the log only (share 0: shadow)."""
    if models.challenger is None or models.serving.challenger_share > 0:
        return None
    start = time.perf_counter()
    columns = _scored_columns(models.challenger.score(answered.rows), models.challenger,
                              SHADOW_ARM)
    result = Answered(answered.request_id, answered.rows, columns,
                      {SHADOW_ARM: models.challenger}, answered.received_at)
    result.latency_ms = (time.perf_counter() - start) * 1000
    return result


def log_rows(answered: Answered, id_column: str | None) -> Callable[[], Iterable[dict]]:
    """The ``prediction_log`` rows, made when called (on the log writer's thread)."""

    def make() -> Iterable[dict]:
        ids = _ids(answered.rows, id_column)
        ids = None if ids is None else ids.tolist()
        inputs = input_rows_json(answered.rows)
        columns = answered.columns
        reasons = zip(*(columns[column] for column in REASON_COLUMNS), strict=True)
        for position, (probability, prediction, arm, reason) in enumerate(zip(
                columns[PROBABILITY], columns[PREDICTION], columns["arm"], reasons,
                strict=True)):
            model = answered.models[arm]
            yield {"log_id": f"{answered.request_id}:{position}:{arm}",
                   "request_id": answered.request_id, "logged_at": answered.received_at,
                   "customer_id": None if ids is None else str(ids[position]),
                   "model_name": model.name, "model_version": model.version, "arm": arm,
                   "churn_probability": float(probability),
                   "churn_prediction": int(prediction), "threshold": model.threshold,
                   "reasons": json.dumps(list(reason)), "latency_ms": answered.latency_ms,
                   "input_row": inputs[position]}

    return make


def input_rows_json(rows: pd.DataFrame) -> list[str]:
    """Each row as the log's ``input_row`` JSON text: pandas' JSON of the row (its dates ISO,
    missing values null), one object per line, taken as is (no parse and dump per row)."""
    if not len(rows):
        return []
    # JSON escapes every control character inside strings: "\n" only ends a row.
    return rows.to_json(orient="records", date_format="iso", lines=True).rstrip("\n").split("\n")
