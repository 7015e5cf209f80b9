"""Per-value conversions for a few rows (an online request), equal to the per-column pandas
ones the preprocessor and the reason codes use for many rows.

A pandas call costs tens of microseconds whatever the length, and one row of 20 columns
went through ~70 of them (one-row predict with reasons: ~90 % preprocessing and reason text,
profiled). Here each value is converted in Python. Only values whose conversion is known
equal are handled: ``None``/NaN/``pd.NA``, ``str``, ``bool``, integers and floats of a
column whose dtype is ``object`` or numpy's bool/int/float. Anything else (a ``Timestamp``,
nullable ``Int64``, pandas' ``string`` or a category column) returns ``None`` and the caller takes
the pandas path for that column. Strings meant as numbers are parsed by ``pd.to_numeric`` in
one call for the whole frame: its parser is not Python's ``float`` (they disagree in the last
bit for ~10 % of decimal strings), and online and batch answers must be identical.

Shipped inside every logged model (MLflow ``code_paths``); imports no package module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SMALL_FRAME_ROWS = 64  # at most this many rows: the per-value path
NAN = float("nan")
_NUMBERS = int | float | np.integer | np.floating


def columns_of(frame: pd.DataFrame) -> dict[Any, pd.Series] | None:
    """A few rows' columns taken out once, for the preprocessor and the reasons to share:
    ``frame[name]`` costs ~15 us each (key lookup, cache, boxing) and both read ~20 columns.
    None (each caller indexes the frame itself, as before) for many rows or repeated names."""
    if len(frame) > SMALL_FRAME_ROWS or not frame.columns.is_unique:
        return None
    return dict(frame.items())


def plain_values(values: pd.Series) -> list | None:
    """The column's values as objects with a known text/number conversion, or None."""
    dtype = values.dtype
    if not isinstance(dtype, np.dtype):  # pandas' own dtypes: string, Int64, category, ...
        return None
    if dtype.kind == "O":
        return values.tolist()
    if dtype.kind in "biuf":
        return list(values.to_numpy())  # numpy scalars: str(float32) prints as pandas does
    return None


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float | np.floating)
                                                and value != value)


def texts(values: list, missing: str) -> list[str] | None:
    """``values.astype("string").str.strip().fillna(missing)`` per value; None: unsure."""
    out = []
    for value in values:
        if _missing(value):
            out.append(missing)
        elif isinstance(value, str | bool | np.bool_ | _NUMBERS):
            out.append(str(value).strip())
        else:
            return None
    return out


def plain_texts(values: list) -> list[str] | None:
    """``values.astype(str).str.strip().str.casefold()`` per value; None: unsure."""
    out = []
    for value in values:
        if value is None or isinstance(value, str | bool | np.bool_ | _NUMBERS):
            out.append(str(value).strip().casefold())
        else:
            return None
    return out


def numbers(columns: dict[str, list], dtypes: dict[str, Any]) -> dict[str, list[float]] | None:
    """``pd.to_numeric(blank -> NaN, errors="coerce")`` of each column, every non-blank string
    of all columns parsed by pandas in one call; None: a value of unknown conversion."""
    out: dict[str, list[float]] = {}
    pending: list[tuple[list[float], int, str]] = []
    for name, values in columns.items():
        bool_column = getattr(dtypes[name], "kind", "") == "b"
        floats: list[float] = []
        for value in values:
            if _missing(value):
                floats.append(NAN)
            elif isinstance(value, str):
                floats.append(NAN)
                if value and not value.isspace():
                    pending.append((floats, len(floats) - 1, value))
            elif isinstance(value, bool | np.bool_) and not bool_column:
                return None  # a bool among other objects: pandas' rule not reproduced here
            elif isinstance(value, _NUMBERS | bool | np.bool_):
                floats.append(float(value))
            else:
                return None
        out[name] = floats
    if pending:
        parsed = pd.to_numeric(np.array([text for *_, text in pending], dtype=object),
                               errors="coerce")
        for (floats, position, _), value in zip(pending, np.asarray(parsed, float), strict=True):
            floats[position] = float(value)
    return out


def _negative_zero(numbers: np.ndarray) -> bool:
    return bool(np.any((numbers == 0) & np.signbit(numbers)))


def column_texts(values: pd.Series, missing: str) -> np.ndarray:
    """``values.astype("string").str.strip().fillna(missing)`` as an object array, each
    distinct value converted once. Columns whose equal values always print alike are
    factorized as they are, skipping ``astype("string")`` over every row (most of the time
    for many rows): text (and missing values), integers, and float64 without a negative zero
    (equal to ``0.0``, printed ``-0.0``). Anything else is factorized after
    ``astype("string")``: ``1``, ``1.0`` and ``True`` are equal keys that print differently."""
    dtype = values.dtype
    kind = dtype.kind if isinstance(dtype, np.dtype) else ""
    if kind == "O" and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
        shown = [text.strip() for text in distinct]
    elif kind in ("i", "u") or (dtype == np.float64 and not _negative_zero(values.to_numpy())):
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
        shown = [str(number) for number in np.asarray(distinct).tolist()]  # as pandas prints
    else:
        codes, distinct = pd.factorize(values.astype("string"), use_na_sentinel=True)
        shown = pd.Series(distinct, dtype="string").str.strip().fillna(missing).astype(str)
        shown = shown.tolist()
    return np.array([*shown, missing], dtype=object)[codes]
