"""Data-quality expectations for a churn table, run with Great Expectations.

The suite is derived from the dataset config and validated in one GX run; each outcome
is mapped back to one of ``CHECK_NAMES`` so every check can block the pipeline on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from churn_assets.dataset_config import DatasetConfig

CHECK_NAMES = ("required_columns", "unique_ids", "target_labels", "numeric_columns",
               "value_ranges", "value_sets", "min_rows")
CHECK_DESCRIPTIONS = {
    "required_columns": "The id, target and every column named in the dataset config exist.",
    "unique_ids": "The id column has no duplicate and no missing values.",
    "target_labels": "The target has no missing values, exactly two classes, and the positive "
    "label is one of them.",
    "numeric_columns": "Numeric feature columns and columns with a configured range have a "
    "numeric dtype (no unparsable text left).",
    "value_ranges": "Columns with a configured range stay within it.",
    "value_sets": "Columns with a configured value set hold only those values.",
    "min_rows": "The table has at least the configured minimum number of rows.",
}
MAX_EXAMPLES = 5
# bool counts as numeric because column inference feeds bool columns to the model as numbers.
# Nullable pandas dtypes go by their class name, which is what GX resolves them with.
_NUMERIC_DTYPES = [
    *(f"{kind}{bits}" for kind in ("int", "uint") for bits in (8, 16, 32, 64)),
    *(f"{kind}{bits}Dtype" for kind in ("Int", "UInt") for bits in (8, 16, 32, 64)),
    "float16", "float32", "float64", "Float32Dtype", "Float64Dtype", "bool", "BooleanDtype",
]


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one GX expectation, reduced to what a check report needs."""

    check_name: str
    expectation: str
    column: str | None
    success: bool
    observed: str
    examples: tuple[str, ...] = ()


def _is_number_column(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _as_column_values(values: Sequence[Any], series: pd.Series) -> list[Any]:
    """Express config values the way the column stores them (``1`` vs ``"1"`` vs ``"Yes"``)."""
    if pd.api.types.is_bool_dtype(series):
        return list(values)
    if not _is_number_column(series):
        return [str(value) for value in values]
    converted: list[Any] = []
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            converted.append(value)  # cannot match a number column, so the check reports it
            continue
        converted.append(int(number) if number.is_integer() else number)
    return converted


def _unparsable(series: pd.Series) -> tuple[str, ...]:
    present = series.dropna()
    bad = present[pd.to_numeric(present, errors="coerce").isna()]
    return tuple(str(value) for value in pd.unique(bad)[:MAX_EXAMPLES])


def _plan(frame: pd.DataFrame, config: DatasetConfig, numeric_columns: Sequence[str],
          categorical_columns: Sequence[str]) -> list[tuple[str, Any]]:
    """List (check name, GX expectation) pairs; per-column ones only for existing columns."""
    import great_expectations.expectations as gxe

    exp = config.expectations
    plan: list[tuple[str, Any]] = []
    required = [config.id_column, config.target, *config.categorical, *config.numeric,
                *exp.ranges, *exp.value_sets, *numeric_columns, *categorical_columns]
    for column in dict.fromkeys(required):
        plan.append(("required_columns", gxe.ExpectColumnToExist(column=column)))

    if config.id_column in frame:
        plan.append(("unique_ids", gxe.ExpectColumnValuesToBeUnique(column=config.id_column)))
        plan.append(("unique_ids", gxe.ExpectColumnValuesToNotBeNull(column=config.id_column)))

    if config.target in frame:
        target = config.target
        label = _as_column_values([config.positive_label], frame[target])
        plan += [
            ("target_labels", gxe.ExpectColumnValuesToNotBeNull(column=target)),
            ("target_labels",
             gxe.ExpectColumnUniqueValueCountToBeBetween(column=target, min_value=2, max_value=2)),
            ("target_labels",
             gxe.ExpectColumnDistinctValuesToContainSet(column=target, value_set=label)),
        ]

    # A range on a text column is a config or data error that must not pass silently.
    for column in dict.fromkeys([*numeric_columns, *exp.ranges]):
        if column in frame:
            plan.append(("numeric_columns", gxe.ExpectColumnValuesToBeInTypeList(
                column=column, type_list=_NUMERIC_DTYPES)))

    for column, (low, high) in exp.ranges.items():
        # GX rejects a range with no bound; a non-numeric column is numeric_columns' failure.
        if column in frame and _is_number_column(frame[column]) and (low, high) != (None, None):
            plan.append(("value_ranges", gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=low, max_value=high)))

    for column, allowed in exp.value_sets.items():
        if column in frame:
            plan.append(("value_sets", gxe.ExpectColumnValuesToBeInSet(
                column=column, value_set=_as_column_values(allowed, frame[column]), mostly=1.0)))

    plan.append(("min_rows", gxe.ExpectTableRowCountToBeBetween(min_value=exp.min_rows)))
    return plan


_PHRASES = {
    "expect_column_values_to_be_unique": "{count} non-unique values",
    "expect_column_values_to_not_be_null": "{count} missing values",
    "expect_column_unique_value_count_to_be_between": "{observed} distinct values (expected 2)",
    "expect_column_values_to_be_in_set": "{count} values outside the allowed set",
    "expect_table_row_count_to_be_between": "{observed} rows (minimum {min_value})",
}


def _describe(kind: str, kwargs: dict[str, Any], result: dict[str, Any], frame: pd.DataFrame,
              raised: str | None) -> str:
    """Say in a few words what GX saw."""
    column, count = kwargs.get("column"), result.get("unexpected_count")
    if raised:  # e.g. a value type GX cannot compare; the message is the useful part
        return f"error: {raised[:200]}"
    if kind == "expect_column_to_exist":
        return "present" if column in frame else "column missing"
    if kind == "expect_column_distinct_values_to_contain_set":
        missing = result.get("partial_missing_list") or []
        return f"missing label(s) {missing}" if missing else "label present"
    if kind == "expect_column_values_to_be_in_type_list":
        return f"dtype {frame[column].dtype}"
    if kind == "expect_column_values_to_be_between":
        # GX stores bounds as floats; show 0 rather than 0.0 to match the config.
        low, high = (f"{b:g}" if isinstance(b, float) else b
                     for b in (kwargs.get("min_value"), kwargs.get("max_value")))
        if high is None or low is None:
            return f"{count} values below {low}" if high is None else f"{count} values above {high}"
        return f"{count} values outside [{low}, {high}]"
    values = {**kwargs, "count": count, "observed": result.get("observed_value")}
    return _PHRASES.get(kind, "{observed}").format_map(values)


def _raised(info: dict[str, Any]) -> str | None:
    """The exception message GX caught, if any; it nests them per metric when several ran."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = (_raised(v) for v in info.values() if isinstance(v, dict))
    return next((message for message in nested if message), None)


def _examples(result: dict[str, Any]) -> tuple[str, ...]:
    values = [v for v in result.get("partial_unexpected_list") or [] if not pd.isna(v)]
    return tuple(str(v) for v in dict.fromkeys(values))[:MAX_EXAMPLES]


def run_expectations(frame: pd.DataFrame, config: DatasetConfig, numeric_columns: Sequence[str],
                     categorical_columns: Sequence[str]) -> dict[str, list[ExpectationOutcome]]:
    """Validate ``frame`` against the config-derived suite; outcomes grouped by check name."""
    import great_expectations as gx  # slow import: only pay for it when validating
    from great_expectations.data_context.types.base import ProgressBarsConfig

    plan = _plan(frame, config, numeric_columns, categorical_columns)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("churn_frame").add_dataframe_asset("frame")
    batch = asset.add_batch_definition_whole_dataframe("whole_frame")
    suite = context.suites.add(gx.ExpectationSuite(name="churn_expectations"))
    for index, (check_name, expectation) in enumerate(plan):
        # GX does not keep suite order in results, so carry the plan position in meta.
        expectation.meta = {"check": check_name, "index": index}
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="churn_validation", data=batch, suite=suite))
    # SUMMARY keeps a bounded sample of offending values; COMPLETE would list every row.
    run = validation.run(batch_parameters={"dataframe": frame}, result_format={
        "result_format": "SUMMARY", "partial_unexpected_count": 20})

    outcomes: dict[str, list[ExpectationOutcome]] = {name: [] for name in CHECK_NAMES}
    for item in sorted(run.results, key=lambda r: r.expectation_config.meta["index"]):
        spec, result = item.expectation_config, dict(item.result or {})
        kwargs, check_name = dict(spec.kwargs), spec.meta["check"]
        column = kwargs.get("column")
        examples = _examples(result)
        if spec.type == "expect_column_values_to_be_in_type_list" and not item.success:
            # GX flags every value of an object column; only the unparsable ones help a human.
            examples = _unparsable(frame[column])
        observed = _describe(spec.type, kwargs, result, frame, _raised(item.exception_info or {}))
        outcomes[check_name].append(ExpectationOutcome(
            check_name, spec.type, column, bool(item.success), observed, examples))
    return outcomes


def summarize_failures(outcomes: list[ExpectationOutcome]) -> str:
    """One line per failed outcome, naming the expectation, column, problem and examples."""
    return "\n".join(
        f"{o.expectation}({o.column or 'table'}): {o.observed}"
        + (f", e.g. {', '.join(o.examples)}" if o.examples else "")
        for o in outcomes if not o.success
    )
