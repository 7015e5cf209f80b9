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


@dataclass
class Answered:
    """One request's answer: per-row scores with the arm and version that gave them."""

    request_id: str
    rows: pd.DataFrame  # as received
    scores: pd.DataFrame  # probability, prediction, reasons, arm, model_version; rows' index
    models: dict[str, LoadedModel]  # arm -> model
    received_at: datetime
    latency_ms: float = 0.0

    def payload(self) -> list[dict[str, Any]]:
        return self.scores.to_dict(orient="records")


def _ids(rows: pd.DataFrame, id_column: str | None) -> pd.Series | None:
    return rows[id_column] if id_column and id_column in rows else None


def _answer_columns(scored: pd.DataFrame) -> pd.DataFrame:
    """The model's frame (a new one each call: ours to extend) with the answer's columns."""
    wanted = [PROBABILITY, PREDICTION, *REASON_COLUMNS]
    return scored if list(scored.columns) == wanted else scored[wanted].copy()


def answer(models: ModelSet, rows: pd.DataFrame, id_column: str | None) -> Answered:
    if models.champion is None:
        raise NoModel("no @champion model is loaded yet")
    received, start = datetime.now(UTC), time.perf_counter()
    if not rows.index.equals(pd.RangeIndex(len(rows))):
        rows = rows.reset_index(drop=True)
    arms = np.asarray(arms_for(_ids(rows, id_column), models, len(rows)), dtype=object)
    parts, used = [], {}
    for arm in dict.fromkeys(arms):
        model = models.champion if arm == CHAMPION_ARM else models.challenger
        mask = arms == arm
        scored = _answer_columns(model.score(rows[mask] if len(set(arms)) > 1 else rows))
        scored["model_version"], scored["arm"] = model.version, arm
        parts.append(scored)
        used[arm] = model
    scores = pd.concat(parts).loc[rows.index] if len(parts) > 1 else parts[0]
    result = Answered(uuid.uuid4().hex, rows, scores, used, received)
    result.latency_ms = (time.perf_counter() - start) * 1000
    return result


def shadow(models: ModelSet, answered: Answered) -> Answered | None:
    """The challenger's answer to the same rows, for the log only (share 0: shadow)."""
    if models.challenger is None or models.serving.challenger_share > 0:
        return None
    start = time.perf_counter()
    scored = _answer_columns(models.challenger.score(answered.rows))
    scored["model_version"], scored["arm"] = models.challenger.version, SHADOW_ARM
    result = Answered(answered.request_id, answered.rows, scored,
                      {SHADOW_ARM: models.challenger}, answered.received_at)
    result.latency_ms = (time.perf_counter() - start) * 1000
    return result


def log_rows(answered: Answered, id_column: str | None) -> Callable[[], Iterable[dict]]:
    """The ``prediction_log`` rows, made when called (on the log writer's thread)."""

    def make() -> Iterable[dict]:
        ids = _ids(answered.rows, id_column)
        ids = None if ids is None else ids.tolist()
        inputs = json.loads(answered.rows.to_json(orient="records", date_format="iso"))
        scores = answered.scores
        reasons = zip(*(scores[column].tolist() for column in REASON_COLUMNS), strict=True)
        for position, (probability, prediction, arm, reason) in enumerate(zip(
                scores[PROBABILITY].tolist(), scores[PREDICTION].tolist(),
                scores["arm"].tolist(), reasons, strict=True)):
            model = answered.models[arm]
            yield {"log_id": f"{answered.request_id}:{position}:{arm}",
                   "request_id": answered.request_id, "logged_at": answered.received_at,
                   "customer_id": None if ids is None else str(ids[position]),
                   "model_name": model.name, "model_version": model.version, "arm": arm,
                   "churn_probability": float(probability),
                   "churn_prediction": int(prediction), "threshold": model.threshold,
                   "reasons": json.dumps(list(reason)), "latency_ms": answered.latency_ms,
                   "input_row": json.dumps(inputs[position])}

    return make
