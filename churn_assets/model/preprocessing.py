"""Raw customer rows -> model matrix, fitted on the train split only.

This file is shipped inside every logged model (MLflow ``code_paths``), so it imports
nothing from the package: the model must load where only pandas, numpy and scikit-learn
exist. Its fitted state is plain JSON, never a pickle.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

RARE = "__rare__"
MISSING = "__missing__"
TENURE_BANDS = (0, 6, 12, 24, 48, np.inf)
CONTRACT_RISK = {"month-to-month": 2.0, "one year": 1.0, "two year": 0.0}
# Raw columns each engineered feature cannot do without (MonthlyCharges only fills gaps).
ENGINEERED_INPUTS = {"tenure_band": ("tenure",), "avg_monthly_spend": ("tenure", "TotalCharges"),
                     "contract_risk": ("Contract",)}
MAX_NAMED_COLUMNS = 10


class MissingColumnsError(KeyError, ValueError):
    """Input rows lack columns the fitted preprocessor reads; the message is one short line."""

    def __init__(self, missing: list[str]):
        self.missing = list(missing)
        named = ", ".join(missing[:MAX_NAMED_COLUMNS])
        more = len(missing) - MAX_NAMED_COLUMNS
        self.message = f"missing required column(s): {named}" + (
            f" and {more} more" if more > 0 else "")
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return self.message


def _safe_name(text: str) -> str:
    # XGBoost rejects '[', ']' and '<' in feature names; keep names readable otherwise.
    return re.sub(r"[^0-9A-Za-z_=.+-]+", "_", text)


def _deduplicated(names: list[str]) -> list[str]:
    # Sanitising can map distinct levels ('<50K', '>50K') to one name; number the repeats.
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}~{seen[name]}")
    return unique


def _as_number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.replace(r"^\s*$", np.nan, regex=True), errors="coerce")


def churn_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Domain features, computed only where the Telco columns they need exist."""
    features = pd.DataFrame(index=frame.index)
    if "tenure" in frame:
        tenure = _as_number(frame["tenure"])
        features["tenure_band"] = pd.cut(tenure, TENURE_BANDS, right=False, labels=False)
        if "TotalCharges" in frame:
            total = _as_number(frame["TotalCharges"])
            average = total / tenure.where(tenure > 0)
            if "MonthlyCharges" in frame:  # new customers have no bill yet: use the tariff
                average = average.fillna(_as_number(frame["MonthlyCharges"]))
            features["avg_monthly_spend"] = average
    if "Contract" in frame:
        contract = frame["Contract"].astype(str).str.strip().str.lower()
        features["contract_risk"] = contract.map(CONTRACT_RISK)
    return features


class ChurnPreprocessor(TransformerMixin, BaseEstimator):
    """Numeric columns pass through (XGBoost handles missing values); categoricals are
    one-hot encoded with the levels seen in training, rare and unseen levels pooled."""

    def __init__(self, numeric: tuple[str, ...] = (), categorical: tuple[str, ...] = (),
                 min_frequency: int = 10):
        self.numeric = tuple(numeric)
        self.categorical = tuple(categorical)
        self.min_frequency = min_frequency

    def fit(self, frame: pd.DataFrame, y: Any = None) -> ChurnPreprocessor:
        self.levels_: dict[str, list[str]] = {}
        for column in self.categorical:
            counts = self._categorical_text(frame[column]).value_counts()
            self.levels_[column] = sorted(counts[counts >= self.min_frequency].index)
        self.engineered_ = list(churn_features(frame.head(1)).columns)
        self.feature_names_ = self._feature_names()
        return self

    def _feature_names(self) -> list[str]:
        names = [f"num__{_safe_name(c)}" for c in self.numeric]
        names += [f"eng__{c}" for c in self.engineered_]
        for column, levels in self.levels_.items():
            names += [f"cat__{_safe_name(column)}={_safe_name(level)}" for level in levels]
            names.append(f"cat__{_safe_name(column)}={RARE}")
        return _deduplicated(names)

    @staticmethod
    def _categorical_text(values: pd.Series) -> pd.Series:
        return values.astype("string").str.strip().fillna(MISSING).astype(str)

    def required_columns(self) -> list[str]:
        """Raw columns the fitted preprocessor reads; any other column may be absent."""
        engineered = (c for name in self.engineered_ for c in ENGINEERED_INPUTS.get(name, ()))
        return list(dict.fromkeys([*self.numeric, *self.categorical, *engineered]))

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.required_columns() if c not in frame]
        if missing:
            raise MissingColumnsError(missing)
        blocks: list[np.ndarray] = [
            np.column_stack([_as_number(frame[c]).to_numpy(float) for c in self.numeric])
            if self.numeric else np.empty((len(frame), 0)),
            churn_features(frame)[self.engineered_].to_numpy(float),
        ]
        for column, levels in self.levels_.items():
            text = self._categorical_text(frame[column]).to_numpy()
            known = np.column_stack([text == level for level in levels]) if levels else \
                np.empty((len(frame), 0), dtype=bool)
            rare = ~known.any(axis=1)
            blocks.append(np.column_stack([known, rare]).astype(float))
        matrix = np.hstack(blocks).astype("float32")
        return pd.DataFrame(matrix, columns=self.feature_names_, index=frame.index)

    def state(self) -> dict[str, Any]:
        """The fitted state as plain JSON-able data."""
        return {
            "numeric": list(self.numeric), "categorical": list(self.categorical),
            "min_frequency": self.min_frequency, "levels": self.levels_,
            "engineered": self.engineered_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ChurnPreprocessor:
        fitted = cls(tuple(state["numeric"]), tuple(state["categorical"]), state["min_frequency"])
        fitted.levels_ = {k: list(v) for k, v in state["levels"].items()}
        fitted.engineered_ = list(state["engineered"])
        fitted.feature_names_ = fitted._feature_names()
        return fitted

    def to_json(self) -> str:
        return json.dumps(self.state())

    @classmethod
    def from_json(cls, text: str) -> ChurnPreprocessor:
        return cls.from_state(json.loads(text))
