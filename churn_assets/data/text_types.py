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


def _as_numbers(present: pd.Series) -> pd.Series | None:
    try:
        return pd.to_numeric(present)
    except (ValueError, TypeError):
        return None


def _formatted_numbers(values: pd.Series, delimiter: str) -> tuple[pd.Series, str] | None:
    """Parse numbers with separators; None unless every non-blank value fits one convention."""
    present = distinct_texts(values).str.strip()
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
        present = distinct_texts(values)
        if present.empty:
            typed[column] = values.astype("float64")  # as pandas reads an all-empty column
            continue
        numbers = _as_numbers(values)
        if numbers is not None:
            zeros = present[present.map(lambda v: bool(LEADING_ZERO.match(v)))]
            if zeros.empty:
                typed[column] = numbers
            else:
                with_zeros = values[values.isin(set(zeros))]
                notes.append(f"column '{column}' kept as text: {len(with_zeros)} value(s) with "
                             f"leading zeros, e.g. '{with_zeros.iloc[0]}'")
            continue
        lowered = present.str.strip().str.lower()
        if values.notna().all() and lowered.isin(list(BOOL_TEXT)).all():
            typed[column] = values.str.strip().str.lower().map(BOOL_TEXT).astype(bool)
            continue
        formatted = _formatted_numbers(values, delimiter)
        if formatted is not None:
            numbers, label = formatted
            first = values.index[values.str.contains(",", regex=False, na=False)][0]
            notes.append(f"column '{column}': numbers with {label} converted, e.g. "
                         f"'{values[first]}' -> {numbers[first]:g}")
            typed[column] = numbers
    return typed, notes
