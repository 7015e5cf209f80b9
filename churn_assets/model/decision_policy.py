"""The retention decision that travels inside the served model: whom to contact.

Shipped inside every logged model (MLflow ``code_paths``), so it imports only numpy, pandas
and its sibling ``economics``. Everything here was fixed on the validation split by training
(``model.retention``); applying it reads no label.

Policies (dataset YAML ``decision.policy``):

- ``f1``: contact whoever ``churn_prediction`` flags (raw probability >= the F1-optimal
  validation threshold) — today's behaviour, the default without economics.
- ``expected_profit``: contact every customer whose expected profit is positive.
- ``capacity``: the best ``capacity`` customers by expected profit (a count, or a share of the
  list when below 1), never one whose expected profit is not positive (a budget does not make a
  losing contact pay). It ranks the rows it is given: score the whole list in one call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

try:  # inside a logged model, code_paths puts the sibling module on sys.path
    from economics import Economics, customer_values, expected_value
except ImportError:  # imported from the installed package
    from churn_assets.model.economics import Economics, customer_values, expected_value

POLICIES = ("f1", "expected_profit", "capacity")
_CLIP = 1e-6


def apply_calibration(state: Mapping[str, Any], probabilities: np.ndarray) -> np.ndarray:
    """The calibrator's map (``model.calibration.Calibrator`` semantics:
    isotonic knots interpolated and clipped, platt a sigmoid of the logit, identity)."""
    p = np.asarray(probabilities, dtype=float)
    method = state.get("method", "identity")
    if method == "identity":
        return p
    if method == "isotonic":
        return np.interp(p, state["x"], state["y"])
    if method == "platt":
        clipped = np.clip(p, _CLIP, 1 - _CLIP)
        logit = np.log(clipped / (1 - clipped))
        return 1 / (1 + np.exp(-(state["slope"] * logit + state["intercept"])))
    raise ValueError(f"unknown calibration method '{method}'")


def capacity_count(capacity: float | None, rows: int) -> int:
    """A count stays a count (at most ``rows``); a share below 1 becomes ceil(share * rows)."""
    if capacity is None:
        return rows
    if capacity < 1:
        return min(rows, math.ceil(capacity * rows))
    return min(rows, int(capacity))


@dataclass(frozen=True)
class RetentionDecision:
    """Plain JSON-able: ``decision.json`` in the served model holds ``to_dict()``."""

    threshold: float  # F1-optimal on the validation rows, on the raw probability
    policy: str = "f1"
    capacity: float | None = None
    calibration: dict[str, Any] = field(default_factory=lambda: {"method": "identity"})
    economics: Economics | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "policy": self.policy, "capacity": self.capacity,
                "calibration": dict(self.calibration),
                "economics": self.economics.to_dict() if self.economics else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetentionDecision:
        """Also reads the ``{"threshold"}`` of models logged before this module."""
        economics = data.get("economics")
        return cls(float(data["threshold"]), data.get("policy", "f1"), data.get("capacity"),
                   dict(data.get("calibration") or {"method": "identity"}),
                   Economics.from_dict(economics) if economics else None)

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        return apply_calibration(self.calibration, probabilities)

    def expected_values(self, rows: pd.DataFrame, probabilities: np.ndarray) -> np.ndarray:
        """EV of contacting each row, from the calibrated probability and its value."""
        if self.economics is None:
            raise ValueError("expected values need the dataset YAML's 'economics' section")
        values = customer_values(self.economics.customer_value, rows)
        return expected_value(self.calibrated(probabilities), values, self.economics)

    def contact(self, predictions: np.ndarray, values: np.ndarray | None) -> np.ndarray:
        """The policy's 0/1 answer per row; ``values``: expected values (None for f1)."""
        flagged = np.asarray(predictions).astype(bool)
        if self.policy == "f1":
            return flagged.astype(np.int64)
        if values is None:
            raise ValueError(f"policy '{self.policy}' needs expected values")
        values = np.asarray(values, dtype=float)
        positive = values > 0
        if self.policy == "expected_profit":
            return positive.astype(np.int64)
        chosen = np.zeros(values.size, dtype=bool)
        chosen[ranks(values) <= capacity_count(self.capacity, values.size)] = True
        return (chosen & positive).astype(np.int64)


def ranks(values: np.ndarray) -> np.ndarray:
    """1 = the largest value; ties keep the rows' order (a stable, total order)."""
    order = np.argsort(-np.asarray(values, dtype=float), kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(1, order.size + 1)
    return rank
