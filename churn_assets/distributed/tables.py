"""Read, type and prepare a customer table partition by partition.

Typing follows ``data.text_types.type_columns`` and preparation ``data.preparation``, with
each whole-column decision (does every value parse as a number, is the column boolean text,
does every non-blank value of a numeric-role column parse) taken once from per-partition
profiles, so every partition gets the same dtype. Not on this path (the pandas path reads
such files): Excel sources, and numbers written with thousands separators or decimal commas,
which stay text here and are then named by the validation checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from churn_assets.data.column_roles import ColumnRoles, coerce_numeric
from churn_assets.data.source_errors import SourceError
from churn_assets.data.text_types import BOOL_TEXT, LEADING_ZERO, distinct_texts
from churn_assets.dataset_config import DatasetConfig, is_sql_url
from churn_assets.distributed.local_views import BLOCKSIZE

ROLE_SAMPLE_ROWS = 50_000  # column roles are decided on the table's first rows


@contextlib.contextmanager
def object_strings() -> Iterator[None]:
    """Text as Python strings, as the pandas path reads it: the shared pure functions test
    ``dtype == object`` (dask would otherwise turn text into Arrow strings)."""
    with dask.config.set({"dataframe.convert-string": False}):
        yield


def storage_options(uri: str, endpoint_url: str | None) -> dict[str, Any] | None:
    """fsspec options: the S3 endpoint (e.g. ``AWS_ENDPOINT_URL_S3``) for s3:// URIs."""
    if uri.startswith("s3://") and endpoint_url:
        return {"client_kwargs": {"endpoint_url": endpoint_url}}
    return None


def read_partitions(uri: str, *, blocksize: str | int = BLOCKSIZE,
                    options: dict[str, Any] | None = None) -> dd.DataFrame:
    """A CSV file (every value as text, as the pandas path reads it) or a Parquet file or
    dataset, in partitions of about ``blocksize`` bytes."""
    if is_sql_url(uri):  # the URL is not repeated: it may hold a password
        raise SourceError("a database source cannot be read as partitions by the Dask data "
                          "path: export the table to CSV or Parquet, or unset "
                          "CHURN_DASK_DATA_PATH to read it in one process")
    name = uri.rstrip("/").lower()
    with object_strings():
        if name.endswith((".csv", ".csv.gz")):
            return dd.read_csv(uri, dtype=str, blocksize=None if name.endswith(".gz")
                               else blocksize, storage_options=options)
        if name.endswith(".parquet") or "." not in name.rsplit("/", 1)[-1]:
            return dd.read_parquet(uri, storage_options=options)
    raise SourceError(f"unsupported source for the Dask data path: {uri} (csv, csv.gz or "
                      "parquet; unset CHURN_DASK_DATA_PATH to read other formats in one "
                      "process)")


def _text_profile(part: pd.DataFrame, columns: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per text column of one partition: what ``type_columns`` would look at."""
    profile = {}
    for column in columns:
        values = part[column]
        present = distinct_texts(values)
        try:
            numbers = pd.to_numeric(values)
        except (ValueError, TypeError):
            numbers = None
        profile[column] = {
            "empty": present.empty,
            "numeric": numbers is not None,
            "float": numbers is not None and (numbers.dtype.kind == "f" or numbers.isna().any()),
            "leading_zero": bool(present.map(lambda v: bool(LEADING_ZERO.match(v))).any()),
            "boolean": bool(values.notna().all()
                            and present.str.strip().str.lower().isin(list(BOOL_TEXT)).all()),
        }
    return profile


def _column_type(profiles: list[dict[str, Any]]) -> str | None:
    """The dtype every partition of a text column gets, or None to keep it as text."""
    if all(p["empty"] for p in profiles):
        return "float64"  # as pandas reads an all-empty column
    if all(p["numeric"] or p["empty"] for p in profiles):
        if any(p["leading_zero"] for p in profiles):
            return None
        # One float or missing value anywhere makes the whole column float, as in one frame.
        return "float64" if any(p["float"] or p["empty"] for p in profiles) else "int64"
    if all(p["boolean"] for p in profiles):
        return "bool"
    return None


def _typed_part(part: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    typed = part.copy()
    for column, dtype in types.items():
        values = typed[column]
        if dtype == "bool":
            typed[column] = values.str.strip().str.lower().map(BOOL_TEXT).astype(bool)
        else:
            typed[column] = pd.to_numeric(values).astype(dtype)
    return typed


def type_and_count_partitions(frame: dd.DataFrame, text_columns: Iterable[str] = ()
                              ) -> tuple[dd.DataFrame, list[str], int]:
    """Text columns as numbers or booleans where every value in every partition parses
    (notes name the columns kept as text for their leading zeros), and the row count, from
    the same one read of each partition."""
    keep = set(text_columns)
    columns = [c for c, t in frame.dtypes.items() if t == np.dtype(object) and c not in keep]
    parts = frame.to_delayed()
    found = dask.compute(*[dask.delayed(_text_profile)(p, columns) for p in parts],
                         *[dask.delayed(len)(p) for p in parts])
    profiles, rows = found[:len(parts)], sum(found[len(parts):])
    types, notes = {}, []
    for column in columns:
        per_part = [p[column] for p in profiles]
        dtype = _column_type(per_part)
        if dtype is not None:
            types[column] = dtype
        elif all(p["numeric"] or p["empty"] for p in per_part):
            notes.append(f"column '{column}' kept as text: values with leading zeros")
    meta = frame._meta.astype(types) if types else frame._meta
    with object_strings():
        return frame.map_partitions(_typed_part, types, meta=meta), notes, rows


def head_rows(frame: dd.DataFrame, sample_rows: int = ROLE_SAMPLE_ROWS) -> pd.DataFrame:
    """The first ``sample_rows`` rows (the whole table when it is smaller), where column roles
    and the leakage check are decided: a role is a schema decision (numeric, category,
    near-unique text, constant), which that many rows settle. Partitions come one at a time
    (``head`` over all partitions would gather each partition's head on one worker first)."""
    parts, rows = [], 0
    for index in range(frame.npartitions):
        parts.append(frame.get_partition(index).compute())
        rows += len(parts[-1])
        if rows >= sample_rows:
            break
    return pd.concat(parts).iloc[:sample_rows]


def _canonical_spellings(counts: pd.Series, positive_label: object,
                         known_labels: Iterable[object]) -> dict[str, str]:
    """``coerce_target_labels``' rule on the whole column's label counts (which one
    partition cannot see): each label's configured spelling, else its most frequent one."""
    key = lambda value: str(value).strip().casefold()  # noqa: E731 - the same key as there
    configured = {key(v): str(v) for v in [*known_labels, positive_label]}
    counts = counts.rename(index=str).groupby(level=0).sum().sort_values(ascending=False,
                                                                         kind="stable")
    canonical: dict[str, str] = {}
    for _, spellings in counts.groupby(counts.index.map(key), sort=False):
        spellings = spellings.sort_values(ascending=False, kind="stable")
        wanted = configured.get(key(spellings.index[0]), spellings.index[0])
        canonical |= {s: wanted for s in spellings.index if s != wanted}
    return canonical


def _prepared_part(part: pd.DataFrame, target: str, canonical: dict[str, str],
                   numeric: tuple[str, ...]) -> pd.DataFrame:
    frame = part
    if canonical and target in part:
        frame = part.copy()
        values = frame[target]
        mask = values.notna() & values.astype(str).isin(list(canonical))
        frame.loc[mask, target] = values[mask].astype(str).map(canonical)
    return coerce_numeric(frame, numeric)[0]


def _unparsable_or_blank(part: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, tuple]:
    """Per numeric-role text column: (has non-blank unparsable text, blanks read as missing)."""
    seen = {}
    for column in columns:
        blanked = part[column].astype("object").replace(r"^\s*$", np.nan, regex=True)
        parsed = pd.to_numeric(blanked, errors="coerce")
        seen[column] = (bool((parsed.isna() & blanked.notna()).any()),
                        int(blanked.isna().sum() - part[column].isna().sum()))
    return seen


@dataclass(frozen=True)
class PreparedPartitions:
    frame: dd.DataFrame
    notes: tuple[str, ...]
    blanks_to_missing: dict[str, int]


def prepare_partitions(frame: dd.DataFrame, config: DatasetConfig,
                       roles: ColumnRoles) -> PreparedPartitions:
    """``prepare_customers`` over partitions: target labels spelled one way, blank numeric
    text -> missing where every non-blank value of the column parses."""
    notes: list[str] = []
    canonical: dict[str, str] = {}
    target = config.target
    text_numeric = tuple(c for c in roles.numeric
                         if c in frame.columns and frame.dtypes[c] == np.dtype(object))
    counts_job = (frame[target].dropna().value_counts(dropna=True)
                  if target in frame.columns and frame.dtypes[target] == np.dtype(object) else None)
    checks_job = [dask.delayed(_unparsable_or_blank)(p, text_numeric)
                  for p in frame.to_delayed()] if text_numeric else []
    counts = counts_job.compute() if counts_job is not None else None
    per_part = dask.compute(*checks_job)
    if counts is not None:
        known = config.expectations.value_sets.get(target, ())
        canonical = _canonical_spellings(counts, config.positive_label, known)
        notes += [f"target '{target}': {int(counts.get(spelling, 0))} value(s) '{spelling}' "
                  f"read as '{wanted}' (same label, other case or spaces)"
                  for spelling, wanted in canonical.items()]
    convertible = tuple(c for c in text_numeric if not any(p[c][0] for p in per_part))
    blanks = {c: sum(p[c][1] for p in per_part) for c in convertible}
    blanks = {c: n for c, n in blanks.items() if n}
    notes += [f"column '{c}': {n} blank value(s) read as missing" for c, n in blanks.items()]
    notes += [f"column '{c}' not used as a feature: {why}" for c, why in roles.dropped.items()
              if why != "dropped by config"]
    meta = frame._meta.astype({c: "float64" for c in convertible}) if convertible \
        else frame._meta
    with object_strings():
        prepared = frame.map_partitions(_prepared_part, target, canonical, convertible,
                                        meta=meta)
    return PreparedPartitions(prepared, tuple(notes), blanks)
