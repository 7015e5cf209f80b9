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

if __package__:  # the installed package; inside a logged model these files are top-level
    from . import small_frames
else:
    import small_frames

RARE = "__rare__"
MISSING = "__missing__"
MAX_NAMED_COLUMNS = 10
# Above this many levels (each with min_frequency train rows) a categorical is target-encoded
# instead of one-hot encoded, and kept only when the encoding carries signal (see fit).
MAX_ONE_HOT_LEVELS = 30
SIGNAL_Z = 2.0  # out-of-fold ROC-AUC must exceed 0.5 by this many null standard errors
CROSS_FIT_FOLDS = 5
# Rows transformed at a time: the per-column float64 blocks and one-hot masks of a chunk are
# temporary, only the float32 matrix is kept (1M rows at once peaked 1.4 GB above the input).
TRANSFORM_CHUNK_ROWS = 200_000


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
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuf":
        return values  # already numbers: the blank-text replace and the parse change nothing
    if values.dtype == object:  # blank text -> NaN, as the regex r"^\s*$" (one test a value)
        blank = np.fromiter((isinstance(v, str) and (not v or v.isspace()) for v in values),
                            dtype=bool, count=len(values))
        return pd.to_numeric(values.mask(blank, np.nan) if blank.any() else values,
                             errors="coerce")
    return pd.to_numeric(values.replace(r"^\s*$", np.nan, regex=True), errors="coerce")


def _band(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.Series:
    # Band index by the declared lower edges; the last band is open-ended.
    edges = [*map(float, spec["edges"]), np.inf]
    return pd.cut(_as_number(frame[spec["inputs"][0]]), edges, right=False, labels=False)


def _ratio(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.Series:
    # numerator / denominator where the denominator is positive; an optional third input
    # fills the rest (Telco: a new customer has no bill yet, so the tariff stands in).
    numerator, denominator, *fallback = spec["inputs"]
    below = _as_number(frame[denominator])
    ratio = _as_number(frame[numerator]) / below.where(below > 0)
    return ratio.fillna(_as_number(frame[fallback[0]])) if fallback else ratio


def _mapping(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.Series:
    # Matched on trimmed, case-folded text; an unlisted value is missing.
    table = {str(k).strip().casefold(): float(v) for k, v in spec["mapping"].items()}
    text = frame[spec["inputs"][0]].astype(str).str.strip().str.casefold()
    return text.map(table).astype(float)


_COMPUTE = {"tenure_band": _band, "ratio": _ratio, "mapping": _mapping}


def _few_engineered(spec: dict[str, Any], parsed: dict[str, list[float]],
                    values: dict[str, list]) -> Any:
    """One engineered feature of a few rows, as ``_COMPUTE`` gives it (None: unsure)."""
    inputs = spec["inputs"]
    if spec["kind"] not in _COMPUTE:
        return None
    if spec["kind"] == "mapping":
        text = small_frames.plain_texts(values[inputs[0]])
        table = {str(k).strip().casefold(): float(v) for k, v in spec["mapping"].items()}
        return None if text is None else [table.get(t, np.nan) for t in text]
    x = np.asarray(parsed[inputs[0]], dtype=float)
    if spec["kind"] == "tenure_band":  # pd.cut(right=False, labels=False)
        edges = np.asarray([*map(float, spec["edges"]), np.inf])
        band = np.searchsorted(edges, x, side="right") - 1
        inside = (band >= 0) & (band < len(edges) - 1) & ~np.isnan(x)
        return np.where(inside, band, np.nan)
    below = np.asarray(parsed[inputs[1]], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = x / np.where(below > 0, below, np.nan)
    if len(inputs) > 2:
        ratio = np.where(np.isnan(ratio), np.asarray(parsed[inputs[2]], dtype=float), ratio)
    return ratio


def churn_features(frame: pd.DataFrame, declarations: list[dict[str, Any]]) -> pd.DataFrame:
    """The declared engineered features (dataset YAML ``engineered``), one column each.

    A declaration is plain data: ``{"name", "kind", "inputs", ...}`` with ``edges`` for
    ``tenure_band`` and ``mapping`` for ``mapping``; every input column must be in ``frame``.
    """
    features = pd.DataFrame(index=frame.index)
    for spec in declarations:
        features[spec["name"]] = _COMPUTE[spec["kind"]](frame, spec)
    return features


def _null_auc_margin(y: np.ndarray) -> float:
    # Standard error of ROC-AUC for a feature unrelated to y (Mann-Whitney under the null).
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    return SIGNAL_Z * float(np.sqrt((positives + negatives + 1) / (12 * positives * negatives)))


def _cross_fitted(text: pd.Series, y: np.ndarray, levels: list[str], seed: int):
    """scikit-learn's TargetEncoder (empirical-Bayes smoothing) fitted on the rows, and each
    row's out-of-fold encoding (from the folds that do not hold it). Levels below
    min_frequency are pooled before encoding."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    pooled = text.where(text.isin(levels), RARE).to_numpy().reshape(-1, 1)
    folds = StratifiedKFold(CROSS_FIT_FOLDS, shuffle=True, random_state=seed)
    encoder = TargetEncoder(target_type="binary", cv=folds)
    return encoder, encoder.fit_transform(pooled, y)[:, 0]


def _target_encoding(text: pd.Series, y: np.ndarray, levels: list[str], seed: int
                     ) -> tuple[dict[str, float], float, float]:
    """(level -> encoding, default for rare/unseen levels, out-of-fold ROC-AUC on train).

    The out-of-fold values say whether the column predicts churn at all; the full-train
    encodings are what the model sees on rows it did not train on (valid, test, served)."""
    from sklearn.metrics import roc_auc_score

    encoder, out_of_fold = _cross_fitted(text, y, levels, seed)
    table = dict(zip(encoder.categories_[0].tolist(), encoder.encodings_[0].tolist(),
                     strict=True))
    default = float(table.pop(RARE, encoder.target_mean_))
    return ({str(k): float(v) for k, v in table.items()}, default,
            float(roc_auc_score(y, out_of_fold)))


class ChurnPreprocessor(TransformerMixin, BaseEstimator):
    """Numeric columns pass through (XGBoost handles missing values); categoricals are
    one-hot encoded with the levels seen in training, rare and unseen levels pooled. A wide
    categorical (more than MAX_ONE_HOT_LEVELS supported levels) is target-encoded when labels
    are given to ``fit``: kept if its cross-fitted encoding beats chance on train by
    SIGNAL_Z null standard errors, dropped otherwise with the figures in ``dropped_``."""

    def __init__(self, numeric: tuple[str, ...] = (), categorical: tuple[str, ...] = (),
                 min_frequency: int = 10, engineered: tuple[dict[str, Any], ...] = ()):
        self.numeric = tuple(numeric)
        self.categorical = tuple(categorical)
        self.min_frequency = min_frequency
        self.engineered = tuple(engineered)  # declarations, as in the dataset YAML

    def fit(self, frame: pd.DataFrame, y: Any = None) -> ChurnPreprocessor:
        self.levels_: dict[str, list[str]] = {}
        self.encodings_: dict[str, dict[str, Any]] = {}
        self.dropped_: dict[str, str] = {}
        labels = None if y is None else np.asarray(y, dtype=int)
        for column in self.categorical:
            text = self._categorical_text(frame[column])
            counts = text.value_counts()
            levels = sorted(counts[counts >= self.min_frequency].index)
            if len(levels) <= MAX_ONE_HOT_LEVELS or labels is None or len(set(labels)) < 2:
                self.levels_[column] = levels
                continue
            table, default, auc = _target_encoding(text, labels, levels, seed=0)
            needed = 0.5 + _null_auc_margin(labels)
            if auc > needed:
                self.encodings_[column] = {"levels": table, "default": default,
                                           "out_of_fold_auc": round(auc, 4)}
            else:
                self.dropped_[column] = (f"{len(levels)} levels, no signal on train: "
                                         f"cross-fitted target encoding ROC-AUC {auc:.3f} "
                                         f"<= {needed:.3f} (chance + {SIGNAL_Z} s.e.)")
        # Only features whose inputs are all kept feature columns: a column dropped by the
        # config or by inference must not reach the model through an engineered feature.
        kept = set(self.numeric) | set(self.categorical)
        self.engineered_ = [dict(spec) for spec in self.engineered
                            if set(spec["inputs"]) <= kept]
        self.feature_names_ = self._feature_names()
        return self

    def _feature_names(self) -> list[str]:
        names = [f"num__{_safe_name(c)}" for c in self.numeric]
        names += [f"eng__{_safe_name(spec['name'])}" for spec in self.engineered_]
        names += [f"te__{_safe_name(column)}" for column in self.encodings_]
        for column, levels in self.levels_.items():
            names += [f"cat__{_safe_name(column)}={_safe_name(level)}" for level in levels]
            names.append(f"cat__{_safe_name(column)}={RARE}")
        return _deduplicated(names)

    @staticmethod
    def _categorical_text(values: pd.Series) -> pd.Series:
        # Each distinct value converted once (a category column of 1M rows holds a handful),
        # then spread back to the rows; missing values become MISSING as before.
        return pd.Series(small_frames.column_texts(values, MISSING), index=values.index,
                         dtype=object)

    def required_columns(self) -> list[str]:
        """Raw columns the fitted preprocessor reads; any other column may be absent."""
        engineered = (c for spec in self.engineered_ for c in spec["inputs"])
        categorical = [c for c in self.categorical if c not in self.dropped_]
        return list(dict.fromkeys([*self.numeric, *categorical, *engineered]))

    def engineered_inputs(self) -> dict[str, list[str]]:
        """Each engineered feature the model uses, with the raw columns it reads."""
        return {spec["name"]: list(spec["inputs"]) for spec in self.engineered_}

    def transform(self, frame: pd.DataFrame,
                  columns: dict[Any, pd.Series] | None = None) -> pd.DataFrame:
        """The model matrix of ``frame``; ``columns``: ``small_frames.columns_of(frame)``,
        its columns already taken out (a few rows), or None."""
        missing = [c for c in self.required_columns() if c not in frame]
        if missing:
            raise MissingColumnsError(missing)
        matrix = np.empty((len(frame), len(self.feature_names_)), dtype="float32")
        for start in range(0, len(frame), TRANSFORM_CHUNK_ROWS):
            rows = frame.iloc[start:start + TRANSFORM_CHUNK_ROWS]
            matrix[start:start + len(rows)] = self._transform_rows(
                rows, columns if len(rows) == len(frame) else None)
        return pd.DataFrame(matrix, columns=self.feature_names_, index=frame.index, copy=False)

    def _transform_rows(self, frame: pd.DataFrame,
                        columns: dict[Any, pd.Series] | None = None) -> np.ndarray:
        small = (self._transform_few(frame, columns)
                 if len(frame) <= small_frames.SMALL_FRAME_ROWS else None)
        if small is not None:
            return small
        blocks: list[np.ndarray] = [
            np.column_stack([_as_number(frame[c]).to_numpy(float) for c in self.numeric])
            if self.numeric else np.empty((len(frame), 0)),
            churn_features(frame, self.engineered_).to_numpy(float)
            if self.engineered_ else np.empty((len(frame), 0)),
        ]
        for column, encoding in self.encodings_.items():  # rare and unseen -> the default
            text = self._categorical_text(frame[column])
            blocks.append(text.map(encoding["levels"]).fillna(encoding["default"])
                          .to_numpy(float).reshape(-1, 1))
        for column, levels in self.levels_.items():
            text = self._categorical_text(frame[column]).to_numpy()
            known = np.column_stack([text == level for level in levels]) if levels else \
                np.empty((len(frame), 0), dtype=bool)
            rare = ~known.any(axis=1)
            blocks.append(np.column_stack([known, rare]).astype(float))
        return np.hstack(blocks)

    def _transform_few(self, frame: pd.DataFrame,
                       columns: dict[Any, pd.Series] | None = None) -> np.ndarray | None:
        """``_transform_rows`` value by value (``small_frames``: equal results, no per-column
        pandas calls); None when a column holds values it does not handle."""
        if columns is None:
            columns = {c: frame[c] for c in self.required_columns()}
        values = {c: small_frames.plain_values(columns[c]) for c in self.required_columns()}
        if any(v is None for v in values.values()):
            return None
        as_numbers = set(self.numeric) | {c for spec in self.engineered_
                                          if spec["kind"] != "mapping" for c in spec["inputs"]}
        parsed = small_frames.numbers({c: values[c] for c in as_numbers},
                                      {c: columns[c].dtype for c in as_numbers})
        if parsed is None:
            return None
        columns: list[Any] = [parsed[c] for c in self.numeric]
        for spec in self.engineered_:
            column = _few_engineered(spec, parsed, values)
            if column is None:
                return None
            columns.append(column)
        for column, encoding in self.encodings_.items():
            text = small_frames.texts(values[column], MISSING)
            if text is None:
                return None
            table, default = encoding["levels"], encoding["default"]
            columns.append([default if (v := table.get(t)) is None or v != v else v
                            for t in text])
        for column, levels in self.levels_.items():
            text = small_frames.texts(values[column], MISSING)
            if text is None:
                return None
            columns += [[float(t == level) for t in text] for level in levels]
            known = set(levels)
            columns.append([float(t not in known) for t in text])
        return np.array(columns, dtype=float).reshape(len(columns), len(frame)).T

    def out_of_fold_encodings(self, frame: pd.DataFrame, y: Any) -> pd.DataFrame:
        """For the rows ``fit`` was given (same rows, order and labels): each target-encoded
        column's out-of-fold encoding, under its feature name. Use these instead of
        ``transform``'s on the train rows: a row's full-train encoding includes its own
        label, which the model would learn to trust more than it deserves on unseen rows."""
        labels = np.asarray(y, dtype=int)
        first = len(self.numeric) + len(self.engineered_)
        columns = {}
        for offset, (column, encoding) in enumerate(self.encodings_.items()):
            text = self._categorical_text(frame[column])
            _, out_of_fold = _cross_fitted(text, labels, list(encoding["levels"]), seed=0)
            columns[self.feature_names_[first + offset]] = out_of_fold.astype("float32")
        return pd.DataFrame(columns, index=frame.index)

    def state(self) -> dict[str, Any]:
        """The fitted state as plain JSON-able data."""
        return {
            "numeric": list(self.numeric), "categorical": list(self.categorical),
            "min_frequency": self.min_frequency, "levels": self.levels_,
            "engineered": self.engineered_, "target_encodings": self.encodings_,
            "dropped": self.dropped_,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ChurnPreprocessor:
        fitted = cls(tuple(state["numeric"]), tuple(state["categorical"]), state["min_frequency"],
                     tuple(state["engineered"]))
        fitted.levels_ = {k: list(v) for k, v in state["levels"].items()}
        fitted.engineered_ = [dict(spec) for spec in state["engineered"]]
        # Absent in states written before wide categoricals were target-encoded.
        fitted.encodings_ = {k: dict(v) for k, v in state.get("target_encodings", {}).items()}
        fitted.dropped_ = dict(state.get("dropped", {}))
        fitted.feature_names_ = fitted._feature_names()
        return fitted

    def to_json(self) -> str:
        return json.dumps(self.state())

    @classmethod
    def from_json(cls, text: str) -> ChurnPreprocessor:
        return cls.from_state(json.loads(text))
