"""The validation checks as per-partition counts, combined into the pandas path's verdicts.

``data.expectations`` runs Great Expectations on one frame; here each partition yields a few
counts (rows, values present, values out of range or outside a value set, label counts) and
duplicate ids are counted on a hash-partitioned ``value_counts`` (``split_out``), so no
worker holds the whole id column. The same checks under the same names with the same
expectations decide, so a table passes or fails the same checks on either path; the
``observed`` texts are shorter (no row numbers: a partition does not know its global rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from churn_assets.data.expectations import (
    _NUMERIC_DTYPES,
    CHECK_NAMES,
    MAX_ABS_VALUE,
    MAX_EXAMPLES,
    ExpectationOutcome,
    _as_column_values,
    _is_number_column,
    _out_of_range_mask,
)
from churn_assets.dataset_config import DatasetConfig

_NUMERIC_KINDS = {"i", "u", "f", "b"}  # what _NUMERIC_DTYPES admits, by numpy kind


def _is_numeric_dtype(dtype: Any) -> bool:
    return getattr(dtype, "kind", None) in _NUMERIC_KINDS or str(dtype) in _NUMERIC_DTYPES \
        or type(dtype).__name__ in _NUMERIC_DTYPES


def _partition_counts(part: pd.DataFrame, ranges: dict[str, list[tuple]],
                      value_sets: dict[str, list], target: str | None,
                      id_column: str | None) -> dict[str, Any]:
    """Everything the checks need from one partition, as small numbers and examples."""
    counts: dict[str, Any] = {"rows": len(part), "present": part.notna().sum().to_dict()}
    counts["out_of_range"] = {(c, low, high): int(_out_of_range_mask(part[c], low, high).sum())
                              for c, bounds in ranges.items() for low, high in bounds}
    outside = {}
    for column, allowed in value_sets.items():
        values = part[column]
        bad = values[values.notna() & ~values.isin(allowed)]
        outside[column] = (len(bad), [str(v) for v in pd.unique(bad)[:MAX_EXAMPLES]])
    counts["outside_set"] = outside
    counts["labels"] = part[target].value_counts(dropna=True) if target else None
    counts["id_missing"] = int(part[id_column].isna().sum()) if id_column else 0
    return counts


def _combine(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"rows": sum(p["rows"] for p in parts),
                             "id_missing": sum(p["id_missing"] for p in parts)}
    total["present"] = pd.DataFrame([p["present"] for p in parts]).sum().to_dict()
    total["out_of_range"] = {k: sum(p["out_of_range"][k] for p in parts)
                             for k in parts[0]["out_of_range"]}
    total["outside_set"] = {
        c: (sum(p["outside_set"][c][0] for p in parts),
            list(dict.fromkeys(v for p in parts for v in p["outside_set"][c][1]))[:MAX_EXAMPLES])
        for c in parts[0]["outside_set"]}
    labels = [p["labels"] for p in parts if p["labels"] is not None]
    total["labels"] = (pd.concat(labels).groupby(level=0).sum() if labels else None)
    return total


def _duplicated_ids(frame: dd.DataFrame, id_column: str) -> Any:
    """Ids seen more than once, counted on hash-partitioned counts (never one big table)."""
    counts = frame[id_column].dropna().value_counts(split_out=max(1, frame.npartitions))
    return counts[counts > 1].sum()


def validate_partitions(frame: dd.DataFrame, config: DatasetConfig,
                        numeric_columns: Sequence[str], categorical_columns: Sequence[str],
                        require_target: bool = True) -> dict[str, list[ExpectationOutcome]]:
    """``run_expectations``' verdicts for a partitioned table, grouped by check name."""
    exp, dtypes = config.expectations, frame.dtypes
    columns = set(frame.columns)
    meta = frame._meta
    outcomes: dict[str, list[ExpectationOutcome]] = {name: [] for name in CHECK_NAMES}

    def add(check: str, expectation: str, column: str | None, success: bool, observed: str,
            examples: Sequence[str] = ()) -> None:
        outcomes[check].append(ExpectationOutcome(check, expectation, column, bool(success),
                                                  observed, tuple(examples)))

    number = {c for c in columns if _is_number_column(meta[c])}
    ranges: dict[str, list[tuple]] = {}
    for column in dict.fromkeys([*config.numeric, *numeric_columns]):
        if column in number:
            ranges.setdefault(column, []).append((-MAX_ABS_VALUE, MAX_ABS_VALUE))
    for column, (low, high) in exp.ranges.items():
        if column in number and (low, high) != (None, None):
            ranges.setdefault(column, []).append((low, high))
    value_sets = {c: _as_column_values(allowed, meta[c])
                  for c, allowed in exp.value_sets.items() if c in columns}
    target = config.target if config.target in columns else None
    id_column = (config.id_column if config.id_column in columns
                 and not config.id_column_derived else None)
    jobs = [dask.delayed(_partition_counts)(p, ranges, value_sets, target, id_column)
            for p in frame.to_delayed()]
    # Separate computes: dask warns on (and materializes) expressions mixed with delayed.
    duplicated = _duplicated_ids(frame, id_column).compute() if id_column else 0
    parts = dask.compute(*jobs)
    total = _combine(parts)

    target_list = [config.target] if require_target or target else []
    configured = list(dict.fromkeys([config.id_column, *target_list, *config.categorical,
                                     *config.numeric, *exp.ranges, *exp.value_sets]))
    inferred = [c for c in dict.fromkeys([*numeric_columns, *categorical_columns])
                if c not in configured]
    for column in [*configured, *(c for c in inferred if c not in columns)]:
        add("required_columns", "expect_column_to_exist", column, column in columns,
            "present" if column in columns else "column missing")
    for column in configured:
        if column in columns:
            present = int(total["present"].get(column, 0))
            add("required_columns", "expect_column_proportion_of_non_null_values_to_be_between",
                column, present > 0, "has values" if present else "every value is missing")

    if id_column:
        add("unique_ids", "expect_column_values_to_be_unique", id_column, not duplicated,
            f"{int(duplicated)} non-unique values")
        add("unique_ids", "expect_column_values_to_not_be_null", id_column,
            not total["id_missing"], f"{total['id_missing']} missing values")

    if target:
        labels: pd.Series = total["labels"]
        missing = total["rows"] - int(total["present"].get(target, 0))
        positive = _as_column_values([config.positive_label], meta[target])[0]
        add("target_labels", "expect_column_values_to_not_be_null", target, not missing,
            f"{missing} missing values")
        shown = ", ".join(f"'{v}' ({n} rows)" for v, n in labels.items())
        add("target_labels", "expect_column_unique_value_count_to_be_between", target,
            len(labels) == 2, f"{len(labels)} distinct values (expected 2): {shown}",
            [str(v) for v in labels.index[2:2 + MAX_EXAMPLES]] if len(labels) > 2 else ())
        add("target_labels", "expect_column_distinct_values_to_contain_set", target,
            positive in set(labels.index),
            "label present" if positive in set(labels.index) else f"missing label(s) "
            f"{[positive]}")

    typed = [*config.numeric, *exp.ranges]
    for column in dict.fromkeys([*typed, *numeric_columns]):
        if column in columns and (column in typed or dtypes[column] == np.dtype(object)):
            add("numeric_columns", "expect_column_values_to_be_in_type_list", column,
                _is_numeric_dtype(dtypes[column]), f"dtype {dtypes[column]}")

    for (column, low, high), count in total["out_of_range"].items():
        if (low, high) == (-MAX_ABS_VALUE, MAX_ABS_VALUE) and column not in config.numeric \
                and not count:
            continue  # the pandas path plans this one only where it can fail
        add("value_ranges", "expect_column_values_to_be_between", column, not count,
            f"{count} values outside [{_bound(low)}, {_bound(high)}]")

    for column, (count, examples) in total["outside_set"].items():
        add("value_sets", "expect_column_values_to_be_in_set", column, not count,
            f"{count} values outside the allowed set", examples)

    add("min_rows", "expect_table_row_count_to_be_between", None,
        total["rows"] >= exp.min_rows, f"{total['rows']} rows (minimum {exp.min_rows})")
    return outcomes


def _bound(value: Any) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float | np.floating) \
        else str(value)
