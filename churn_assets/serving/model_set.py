"""The models a request is answered with: @champion and, when set, @challenger, as one
immutable snapshot. A request reads ``ModelHolder.current`` once, so every row of it is
answered by the same versions even while the follower swaps in new ones."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd

from churn_assets.dataset_sections import ServingConfig
from churn_assets.model.served_model import PARAM_REASONS

CHAMPION_ARM, CHALLENGER_ARM, SHADOW_ARM = "champion", "challenger", "shadow"


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    alias: str
    since: datetime  # when this process started answering with it
    pyfunc: Any  # mlflow.pyfunc.PyFuncModel

    @property
    def threshold(self) -> float:
        return float(self.pyfunc.unwrap_python_model().threshold)

    def score(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The model's own contract with its reasons (``reason_1..3`` from the model)."""
        return self.pyfunc.predict(rows, params={PARAM_REASONS: True})

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "alias": self.alias,
                "since": self.since.isoformat()}


@dataclass(frozen=True)
class ModelSet:
    champion: LoadedModel | None = None
    challenger: LoadedModel | None = None
    serving: ServingConfig = ServingConfig()

    def with_(self, **changes: Any) -> ModelSet:
        return replace(self, **changes)


def customer_share(customer_id: Any) -> float:
    """A customer's fixed place in [0, 1): the same id always lands on the same arm."""
    digest = hashlib.sha256(str(customer_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arms_for(ids: pd.Series | None, models: ModelSet, rows: int) -> list[str]:
    """Which arm answers each row: the challenger for the customers whose share falls under
    ``challenger_share`` (rows without an id stay with the champion)."""
    share = models.serving.challenger_share
    if models.challenger is None or share <= 0 or ids is None:
        return [CHAMPION_ARM] * rows
    return [CHALLENGER_ARM if pd.notna(i) and customer_share(i) < share else CHAMPION_ARM
            for i in ids]


class ModelHolder:
    """The current ``ModelSet``; replaced whole (one reference assignment) on a swap."""

    def __init__(self, models: ModelSet | None = None):
        self.current = models or ModelSet()
        self._lock = threading.Lock()  # serialises writers only; readers never wait

    def update(self, **changes: Any) -> ModelSet:
        with self._lock:
            self.current = self.current.with_(**changes)
            return self.current
