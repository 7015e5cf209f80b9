"""Which columns are features, of what kind, and which are dropped (with the reason).

A churn table from elsewhere may carry ids, free text or constant columns; one-hot encoding
those would blow up into thousands of meaningless features, so they are dropped and the
reason is reported. A categorical with many levels is not dropped here: the preprocessor,
fitted on train, target-encodes it and keeps it only when it carries signal there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_assets.dataset_config import DatasetConfig

MAX_CATEGORIES = 50  # below this many levels a column is never "near-unique"
NEAR_UNIQUE_SHARE = 0.5
NUMERIC_PARSE_SHARE = 0.98


@dataclass(frozen=True)
class ColumnRoles:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    def as_dict(self) -> dict:
        return {"numeric": list(self.numeric), "categorical": list(self.categorical),
                "dropped": dict(self.dropped)}

    @classmethod
    def from_dict(cls, data: dict) -> ColumnRoles:
        return cls(tuple(data["numeric"]), tuple(data["categorical"]), dict(data["dropped"]))


def _blank_to_nan(values: pd.Series) -> pd.Series:
    return values.replace(r"^\s*$", np.nan, regex=True)


PARSE_PROBE_ROWS = 2_000


def _parse_share(values: pd.Series) -> float | None:
    """Share of the non-blank values that parse as numbers; None when all are blank."""
    present = _blank_to_nan(values).dropna()
    if present.empty:
        return None
    return float(pd.to_numeric(present, errors="coerce").notna().mean())


def _parses_as_numeric(values: pd.Series) -> bool:
    # Text columns are mostly plainly text: a seeded probe of a few thousand values rules
    # them out without a regex pass over every row (1M rows: 18 -> ~1 CPU s per call).
    # Below half parsing in the probe, 98% over all rows is out of reach for any real column.
    if len(values) > PARSE_PROBE_ROWS:
        probe = _parse_share(values.sample(PARSE_PROBE_ROWS, random_state=0))
        if probe is not None and probe < 0.5:
            return False
    share = _parse_share(values)
    return share is not None and share >= NUMERIC_PARSE_SHARE


def _is_integer_id(values: pd.Series) -> bool:
    present = values.dropna()
    return (
        pd.api.types.is_integer_dtype(present)
        and len(present) > 20
        and present.is_unique
        and present.is_monotonic_increasing
    )


def infer_column_roles(frame: pd.DataFrame, config: DatasetConfig) -> ColumnRoles:
    """Classify every column of ``frame``; config overrides win over inference."""
    numeric: list[str] = []
    categorical: list[str] = []
    dropped: dict[str, str] = {}
    for column in frame.columns:
        values = frame[column]
        n_distinct = values.nunique(dropna=True)
        if column in (config.id_column, config.target):
            continue
        if column in config.drop:
            dropped[column] = "dropped by config"
        elif column in config.numeric:
            numeric.append(column)
        elif column in config.categorical:
            categorical.append(column)
        elif n_distinct == 0:
            dropped[column] = "every value is missing"
        elif n_distinct <= 1:
            dropped[column] = "constant column"
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            if _is_integer_id(values):
                dropped[column] = "id-like: unique, increasing integers"
            else:
                numeric.append(column)
        elif _parses_as_numeric(values):
            numeric.append(column)
        elif n_distinct > max(MAX_CATEGORIES, NEAR_UNIQUE_SHARE * values.notna().sum()):
            dropped[column] = f"near-unique text: {n_distinct} distinct in {len(values)} rows"
        else:
            categorical.append(column)
    return ColumnRoles(tuple(numeric), tuple(categorical), dropped)


def coerce_numeric(frame: pd.DataFrame, numeric: tuple[str, ...]) -> tuple[pd.DataFrame, dict]:
    """Turn blank strings in numeric columns into missing values; report what changed.

    Non-blank values that still do not parse are left as they are, so the validation
    checks can name them instead of this step silently hiding bad data.
    """
    # Shallow: converted columns are replaced in this frame only (the input keeps its own),
    # the rest is shared; a deep copy of 10M rows held 1.8 GB more for nothing.
    coerced = frame.copy(deep=False)
    report: dict[str, int] = {}
    for column in numeric:
        if column not in coerced or pd.api.types.is_numeric_dtype(coerced[column]):
            continue
        blanked = _blank_to_nan(coerced[column].astype("object"))
        parsed = pd.to_numeric(blanked, errors="coerce")
        if (parsed.isna() & blanked.notna()).any():
            continue
        report[column] = int(blanked.isna().sum() - coerced[column].isna().sum())
        coerced[column] = parsed.astype("float64")
    return coerced, {column: n for column, n in report.items() if n}


def _label_key(value: object) -> str:
    return str(value).strip().casefold()


def coerce_target_labels(frame: pd.DataFrame, target: str, positive_label: object,
                         known_labels: Iterable[object] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Spell each target label one way: 'yes', 'YES' and ' Yes' become the configured 'Yes'.

    Values that differ only in case or surrounding spaces are one label to any reader, and
    without this the positive label would match no row (all customers "not churned") or the
    target would hold four classes. A label takes the configured spelling (the positive label
    or one of ``known_labels``, e.g. the target's value set), else its most frequent one.
    Every rewrite is noted; genuinely different values (a third label) are left for validation.
    """
    if target not in frame or frame[target].dtype != object:
        return frame, []
    values = frame[target]
    present = values.dropna().astype(str)
    configured = {_label_key(v): str(v) for v in [*known_labels, positive_label]}
    canonical: dict[str, str] = {}
    for key, spellings in present.groupby(present.map(_label_key)):
        counts = spellings.value_counts()
        wanted = configured.get(key, counts.index[0])
        canonical |= {s: wanted for s in counts.index if s != wanted}
    if not canonical:
        return frame, []
    coerced = frame.copy()
    mask = values.notna() & values.astype(str).isin(list(canonical))
    coerced.loc[mask, target] = values[mask].astype(str).map(canonical)
    notes = [f"target '{target}': {int((values == spelling).sum())} value(s) '{spelling}' read as "
             f"'{wanted}' (same label, other case or spaces)"
             for spelling, wanted in canonical.items()]
    return coerced, notes
