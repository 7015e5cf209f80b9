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
    from .small_frames import SMALL_FRAME_ROWS, plain_values, texts
else:
    from small_frames import SMALL_FRAME_ROWS, plain_values, texts

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")


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
    if len(contribution) <= SMALL_FRAME_ROWS:
        return _summed_few(contribution, sources)
    summed = contribution.T.groupby(np.asarray(sources), sort=False).sum().T
    return summed[list(dict.fromkeys(sources))]


def _summed_few(contribution: pd.DataFrame, sources: list[str]) -> pd.DataFrame:
    """``by_raw_column`` for a few rows without the transpose and groupby (most of a one-row
    answer's reasons): the same sums as pandas' groupby, which adds in order with Kahan
    compensation, so the reasons of a row are the same online and in batch."""
    values = contribution.to_numpy(float)
    names = list(dict.fromkeys(sources))
    place = {name: k for k, name in enumerate(names)}
    total = np.zeros((len(values), len(names)))
    compensation = np.zeros_like(total)
    for j, source in enumerate(sources):
        k = place[source]
        y = values[:, j] - compensation[:, k]
        t = total[:, k] + y
        compensation[:, k] = np.nan_to_num(t - total[:, k] - y, nan=0.0)  # inf: as pandas
        total[:, k] = t
    return pd.DataFrame(total, columns=names, index=contribution.index)


def _shown_values(rows: pd.DataFrame, features: pd.DataFrame, sources: list[str],
                  preprocessor: Any) -> pd.DataFrame:
    names = {spec["name"]: f"eng__{spec['name']}" for spec in preprocessor.engineered_}
    shown = {}
    for source in dict.fromkeys(sources):
        if source not in rows and names.get(source) in features:  # a ratio: its value
            values = features[names[source]]
        else:
            values = rows[source]
        if len(values) <= SMALL_FRAME_ROWS:  # a few rows: value by value, same text
            plain = plain_values(values)
            text = None if plain is None else texts(plain, "missing")
            if text is not None:
                shown[source] = np.asarray(text, dtype=object)
                continue
        # Each distinct value formatted once, then spread back to the rows.
        codes, distinct = pd.factorize(values.astype("string"), use_na_sentinel=True)
        text = pd.Series(distinct, dtype="string").str.strip().fillna("missing")
        shown[source] = np.append(text.astype(str).to_numpy(object), "missing")[codes]
    return pd.DataFrame(shown, index=rows.index)


def top_reasons(rows: pd.DataFrame, features: pd.DataFrame, contribution: pd.DataFrame,
                preprocessor: Any, top: int = len(REASON_COLUMNS)) -> pd.DataFrame:
    """``reason_1..top`` per row, like ``Contract=Month-to-month (+0.21)``. ``rows``: the raw
    rows, ``features``: their model matrix, ``contribution``: ``contributions(...)`` of it."""
    sources = raw_sources(preprocessor)
    summed = by_raw_column(contribution, sources)
    shown = _shown_values(rows, features, sources, preprocessor)[summed.columns].to_numpy(object)
    values = summed.to_numpy(float)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    names = summed.columns.to_numpy(object)
    result = {}
    for k in range(order.shape[1]):
        picked = order[:, k]
        amount = np.take_along_axis(values, picked[:, None], axis=1)[:, 0]
        value = np.take_along_axis(shown, picked[:, None], axis=1)[:, 0]
        result[f"reason_{k + 1}"] = [f"{n}={v} ({a:+.2f})" for n, v, a in
                                     zip(names[picked], value, amount, strict=True)]
    return pd.DataFrame(result, index=rows.index)
