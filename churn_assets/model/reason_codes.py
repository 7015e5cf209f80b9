"""Reason codes: why the model scores a customer as it does, in the raw columns' terms.

Shipped inside every logged model (MLflow ``code_paths``); imports no package module.

Per-row contributions come from ``contributions(model, features)``: TreeSHAP values in
log-odds, which XGBoost computes exactly and natively (``pred_contribs=True``; no ``shap``
package). A model family with another way to explain itself replaces that one function.
The model matrix's one-hot pieces are summed back into their raw column, so every level of
``Contract`` adds up to one reason ``Contract=Month-to-month (+0.21)``: the customer's own
value and the column's summed contribution. A reason is the column's push towards churn;
the three largest pushes per customer are kept (largest first), so a reason may be negative
when fewer than three columns push towards churn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

if __package__:  # the installed package; inside a logged model these files are top-level
    from .small_frames import SMALL_FRAME_ROWS, column_texts, plain_values, texts
else:
    from small_frames import SMALL_FRAME_ROWS, column_texts, plain_values, texts

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
_INF, _LARGEST = float("inf"), float(np.finfo(float).max)


def contributions(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """Per-row, per-feature contributions to the log-odds (bias dropped). ``model``: a fitted
    model family's model (``families.base.FittedModel``), whose ``contributions`` are rows x
    (features + 1) in log-odds with the bias last, whatever the family."""
    values = np.asarray(model.contributions(features))
    return pd.DataFrame(values[:, :-1], columns=features.columns, index=features.index)


def raw_sources(preprocessor: Any) -> list[str]:
    """The raw column behind each model-matrix column, in the preprocessor's column order:
    numeric, engineered, target-encoded, then each categorical's levels + rare. An engineered
    feature of one input counts for that input (``contract_risk`` is ``Contract``); one of
    several inputs (a ratio) is its own reason."""
    sources = list(preprocessor.numeric)
    sources += [spec["inputs"][0] if len(spec["inputs"]) == 1 else spec["name"]
                for spec in preprocessor.engineered_]
    sources += list(getattr(preprocessor, "encodings_", {}))  # target-encoded wide columns
    for column, levels in preprocessor.levels_.items():
        sources += [column] * (len(levels) + 1)
    if len(sources) != len(preprocessor.feature_names_):
        raise ValueError("the preprocessor's columns do not match its raw sources")
    return sources


def by_raw_column(contribution: pd.DataFrame, sources: list[str]) -> pd.DataFrame:
    """Contributions summed per raw column (one-hot pieces add up), columns in first-seen order."""
    names = list(dict.fromkeys(sources))
    return pd.DataFrame(_summed(contribution.to_numpy(float), sources, names), columns=names,
                        index=contribution.index)


def _summed(values: np.ndarray, sources: list[str], names: list[str]) -> np.ndarray:
    """``by_raw_column`` on arrays, for any number of rows, without pandas' transpose and
    groupby: the same sums as the groupby, which adds in order with Kahan compensation, so a
    row's reasons are the same online and in batch."""
    column = {name: k for k, name in enumerate(names)}
    place = [column[source] for source in sources]
    if len(values) <= SMALL_FRAME_ROWS:  # a few rows: Python floats (the same IEEE doubles)
        return np.array([_kahan_row(row, place, len(names)) for row in values.tolist()],
                        dtype=float).reshape(len(values), len(names))
    total = np.zeros((len(values), len(names)))
    compensation = np.zeros_like(total)
    for j, k in enumerate(place):
        y = values[:, j] - compensation[:, k]
        t = total[:, k] + y
        compensation[:, k] = np.nan_to_num(t - total[:, k] - y, nan=0.0)  # inf: as pandas
        total[:, k] = t
    return total


def _kahan_row(row: list[float], place: list[int], size: int) -> list[float]:
    total, compensation = [0.0] * size, [0.0] * size
    for value, k in zip(row, place, strict=True):
        y = value - compensation[k]
        t = total[k] + y
        c = t - total[k] - y
        if c != c:  # np.nan_to_num(c, nan=0.0): NaN -> 0, +-inf -> the largest finite double
            c = 0.0
        elif c in (_INF, -_INF):
            c = _LARGEST if c > 0 else -_LARGEST
        compensation[k], total[k] = c, t
    return total


def _shown(rows: pd.DataFrame, features: pd.DataFrame, names: list[str],
           preprocessor: Any, columns: dict[Any, pd.Series] | None = None
           ) -> dict[str, np.ndarray]:
    """Each raw column's values as the reasons show them (an object array per column);
    ``columns``: ``small_frames.columns_of(rows)`` or None."""
    engineered = {spec["name"]: f"eng__{spec['name']}" for spec in preprocessor.engineered_}
    shown = {}
    for source in names:
        if source not in rows and engineered.get(source) in features:  # a ratio: its value
            values = features[engineered[source]]
        else:
            values = rows[source] if columns is None else columns[source]
        if len(values) <= SMALL_FRAME_ROWS:  # a few rows: value by value, same text
            plain = plain_values(values)
            text = None if plain is None else texts(plain, "missing")
            if text is not None:
                shown[source] = np.asarray(text, dtype=object)
                continue
        shown[source] = column_texts(values, "missing")  # each distinct value once
    return shown


def top_reasons(rows: pd.DataFrame, features: pd.DataFrame, contribution: pd.DataFrame,
                preprocessor: Any, top: int = len(REASON_COLUMNS)) -> pd.DataFrame:
    """``reason_1..top`` per row, like ``Contract=Month-to-month (+0.21)``. ``rows``: the raw
    rows, ``features``: their model matrix, ``contribution``: ``contributions(...)`` of it."""
    return pd.DataFrame(reason_texts(rows, features, contribution, preprocessor, top),
                        index=rows.index)


def reason_texts(rows: pd.DataFrame, features: pd.DataFrame, contribution: Any,
                 preprocessor: Any, top: int = len(REASON_COLUMNS),
                 columns: dict[Any, pd.Series] | None = None) -> dict[str, list[str]]:
    """``top_reasons`` as lists, ``reason_1..top``; ``contribution``: rows x features (a
    frame or an array, bias dropped); ``columns``: ``small_frames.columns_of(rows)``."""
    sources = raw_sources(preprocessor)
    names = list(dict.fromkeys(sources))
    values = _summed(np.asarray(contribution, dtype=float), sources, names)
    shown = _shown(rows, features, names, preprocessor, columns)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    amounts = np.take_along_axis(values, order, axis=1)
    columns = [shown[name] for name in names]
    result = {}
    for k in range(order.shape[1]):
        picked = order[:, k].tolist()
        result[f"reason_{k + 1}"] = [
            f"{names[j]}={columns[j][i]} ({a:+.2f})"
            for i, (j, a) in enumerate(zip(picked, amounts[:, k].tolist(), strict=True))]
    return result
