"""Give string columns read from a CSV their types, the way pandas would, with two guards.

- A column whose values carry leading zeros (``00123``) stays text: as numbers they would
  lose the zeros and collide (an id column, a postcode). Columns the caller names as text
  (the dataset's id column) are never converted.
- Numbers written with thousands separators (``1,234.5``) or decimal commas (``29,85``, as
  ``;``-delimited European exports write them) are converted, and the conversion is noted.
  Which convention applies follows the delimiter: decimal commas in ``;`` files, thousands
  commas otherwise (falling back to decimal commas where thousands groups cannot match).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

LEADING_ZERO = re.compile(r"^\s*[+-]?0\d")
THOUSANDS_COMMA = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
BOOL_TEXT = {"true": True, "false": False}


def distinct_texts(values: pd.Series) -> pd.Series:
    """The distinct non-missing values. Every check looks at each distinct text once: a
    category column of a million rows holds a handful, and per-value Python over every row
    was most of the time it took to read a large file."""
    return pd.Series(values.dropna().unique(), dtype=object)


def _factorized(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct): each row's position in the distinct non-missing values (-1 where
    missing), those values in order of first appearance (``distinct_texts``'s order). The
    column is hashed once; every check then looks at the distinct values only, and a result
    goes back to the rows through the codes."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return codes, pd.Series(uniques, dtype=object)


def _to_rows(distinct: np.ndarray, codes: np.ndarray, values: pd.Series) -> pd.Series:
    """Per-distinct results back on the rows; a missing row becomes NaN (so float64), as
    ``pd.to_numeric`` of the whole column gives."""
    missing = codes < 0
    if missing.any():
        if distinct.dtype.kind not in "if":  # pandas keeps uint64-range numbers with gaps as text
            return pd.to_numeric(values)
        distinct = distinct.astype("float64")
    rows = distinct.take(np.where(missing, 0, codes))
    if missing.any():
        rows[missing] = np.nan
    return pd.Series(rows, index=values.index, name=values.name)


def _as_numbers(present: pd.Series) -> np.ndarray | None:
    try:
        return pd.to_numeric(present).to_numpy()
    except (ValueError, TypeError):
        return None


def _formatted_numbers(values: pd.Series, distinct: pd.Series, delimiter: str
                       ) -> tuple[pd.Series, str] | None:
    """Parse numbers with separators; None unless every non-blank value fits one convention."""
    present = distinct.str.strip()
    present = present[present != ""]
    if present.empty or not present.str.contains(",", regex=False).any():
        return None
    conventions = [("decimal commas", DECIMAL_COMMA), ("thousands separators", THOUSANDS_COMMA)]
    if delimiter != ";":
        conventions.reverse()
    for label, pattern in conventions:
        if present.map(lambda v, p=pattern: bool(p.match(v))).all():
            if label == "decimal commas":
                cleaned = values.str.replace(".", "", regex=False).str.replace(",", ".")
            else:
                cleaned = values.str.replace(",", "", regex=False)
            numbers = pd.to_numeric(cleaned.str.strip().replace("", None), errors="coerce")
            return numbers, label
    return None


def type_columns(frame: pd.DataFrame, delimiter: str = ",",
                 text_columns: Iterable[str] = (), in_place: bool = False
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Convert string columns to numbers or booleans where every value parses; notes say
    which columns were kept as text or converted from a formatted notation. ``in_place``:
    the caller owns ``frame`` (just parsed) and gives it up: no copy of the whole table."""
    typed = frame if in_place else frame.copy()
    keep_text = set(text_columns)
    notes: list[str] = []
    for column in typed.columns:
        values = typed[column]
        if column in keep_text or values.dtype != object:
            continue
        codes, present = _factorized(values)
        if present.empty:
            typed[column] = values.astype("float64")  # as pandas reads an all-empty column
            continue
        numbers = _as_numbers(present)
        if numbers is not None:
            zeros = present[present.map(lambda v: bool(LEADING_ZERO.match(v)))]
            if zeros.empty:
                typed[column] = _to_rows(numbers, codes, values)
            else:
                with_zeros = values[values.isin(set(zeros))]
                notes.append(f"column '{column}' kept as text: {len(with_zeros)} value(s) with "
                             f"leading zeros, e.g. '{with_zeros.iloc[0]}'")
            continue
        lowered = present.str.strip().str.lower()
        if (codes >= 0).all() and lowered.isin(list(BOOL_TEXT)).all():
            typed[column] = _to_rows(lowered.map(BOOL_TEXT).to_numpy(dtype=bool), codes, values)
            continue
        formatted = _formatted_numbers(values, present, delimiter)
        if formatted is not None:
            numbers, label = formatted
            first = values.index[values.str.contains(",", regex=False, na=False)][0]
            notes.append(f"column '{column}': numbers with {label} converted, e.g. "
                         f"'{values[first]}' -> {numbers[first]:g}")
            typed[column] = numbers
    return typed, notes
