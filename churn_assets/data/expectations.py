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
    "required_columns": "The id, target and every column named in the dataset config exist "
    "and are not entirely empty.",
    "unique_ids": "The id column has no duplicate and no missing values.",
    "target_labels": "The target has no missing values, exactly two classes, and the positive "
    "label is one of them.",
    "numeric_columns": "Numeric feature columns and columns with a configured range have a "
    "numeric dtype (no unparsable text left).",
    "value_ranges": "Columns with a configured range stay within it; no numeric feature "
    "exceeds 1e15 in magnitude or is infinite.",
    "value_sets": "Columns with a configured value set hold only those values.",
    "min_rows": "The table has at least the configured minimum number of rows.",
}
MAX_EXAMPLES = 5
MAX_ROWS = 10
# No churn feature is this large; such values are unit or parsing errors (an id or a
# timestamp read as a number), and they overflow float32 in the model matrix near 3.4e38.
MAX_ABS_VALUE = 1e15
DELIMITER_HINTS = {";": "';'", "\t": "tab", "|": "'|'"}
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
    rows: tuple[int, ...] = ()  # 1-based data row numbers (the header is not a row)


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


def _bad_rows(mask: pd.Series) -> tuple[int, ...]:
    positions = mask.to_numpy().nonzero()[0][:MAX_ROWS]
    return tuple(int(p) + 1 for p in positions)


def _unparsable_mask(series: pd.Series) -> pd.Series:
    return series.notna() & pd.to_numeric(series, errors="coerce").isna()


def _out_of_range_mask(series: pd.Series, low: Any, high: Any) -> pd.Series:
    numbers = pd.to_numeric(series, errors="coerce")
    mask = pd.Series(False, index=series.index)
    if low is not None:
        mask |= numbers < low
    if high is not None:
        mask |= numbers > high
    return mask


def _plan(frame: pd.DataFrame, config: DatasetConfig, numeric_columns: Sequence[str],
          categorical_columns: Sequence[str], require_target: bool = True
          ) -> list[tuple[str, Any]]:
    """List (check name, GX expectation) pairs; per-column ones only for existing columns.

    Every column the config names gets its expectations. Inferred columns get one only where
    a pandas pre-screen says it can fail: GX costs about a quarter of a second per
    expectation, which would turn a 1,000-column file into minutes of passing checks.
    """
    import great_expectations.expectations as gxe

    exp = config.expectations
    plan: list[tuple[str, Any]] = []
    # Without require_target an absent target is an unlabeled snapshot, not a missing column.
    target = [config.target] if require_target or config.target in frame else []
    configured = list(dict.fromkeys([config.id_column, *target, *config.categorical,
                                     *config.numeric, *exp.ranges, *exp.value_sets]))
    inferred = [c for c in dict.fromkeys([*numeric_columns, *categorical_columns])
                if c not in configured]
    for column in [*configured, *(c for c in inferred if c not in frame)]:
        plan.append(("required_columns", gxe.ExpectColumnToExist(column=column)))
    for column in configured:
        if column in frame:  # present but entirely empty is as good as missing
            plan.append(("required_columns", gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
                column=column, min_value=0, strict_min=True)))

    # A derived key is not an id: exact duplicate rows share it by design (data/row_key.py).
    if config.id_column in frame and not config.id_column_derived:
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
    typed = [*config.numeric, *exp.ranges]
    for column in dict.fromkeys([*typed, *numeric_columns]):
        if column in frame and (column in typed or frame[column].dtype == object):
            plan.append(("numeric_columns", gxe.ExpectColumnValuesToBeInTypeList(
                column=column, type_list=_NUMERIC_DTYPES)))

    for column in dict.fromkeys([*config.numeric, *numeric_columns]):
        if column in frame and _is_number_column(frame[column]) and (
                column in config.numeric
                or _out_of_range_mask(frame[column], -MAX_ABS_VALUE, MAX_ABS_VALUE).any()):
            plan.append(("value_ranges", gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=-MAX_ABS_VALUE, max_value=MAX_ABS_VALUE)))

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
    if kind == "expect_column_proportion_of_non_null_values_to_be_between":
        return "every value is missing" if not frame[column].notna().any() else "has values"
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


def _counted(counts: pd.Series) -> str:
    return ", ".join(f"'{value}' ({n} row{'s' if n != 1 else ''})" for value, n in counts.items())


def _same_label_hints(unexpected: list[Any], known: list[Any]) -> str:
    """Say when an unexpected label is a known one in another case or with spaces."""
    hints = []
    for value in unexpected:
        twin = next((k for k in known
                     if str(k).strip().casefold() == str(value).strip().casefold()), None)
        if twin is not None:
            hints.append(f"'{value}' looks like '{twin}' in another case or with spaces")
    return "; " + "; ".join(hints) if hints else ""


def _label_outcome(series: pd.Series,
                   positive: Any) -> tuple[str, tuple[str, ...], tuple[int, ...]]:
    """Observed text, unexpected labels and their rows for a target without exactly 2 classes."""
    counts = series.value_counts(dropna=True)
    if counts.empty:
        return "no labels: every value is missing", (), ()
    if len(counts) == 1:
        return f"1 distinct value (expected 2): only {_counted(counts)}", (), ()
    # The known labels: the positive one (if present) and the most frequent other value.
    others = [v for v in counts.index if v != positive]
    known = ([positive] if positive in counts.index else []) + others[:1]
    if len(known) < 2:
        known = list(counts.index[:2])
    unexpected = [v for v in counts.index if v not in known]
    observed = (f"{len(counts)} distinct values (expected 2): unexpected "
                f"{_counted(counts[unexpected])}; known labels {_counted(counts[known])}"
                + _same_label_hints(unexpected, known))
    rows = _bad_rows(series.isin(unexpected))
    return observed, tuple(str(v) for v in unexpected[:MAX_EXAMPLES]), rows


def _delimiter_hint(missing: str, frame: pd.DataFrame) -> str:
    """A column named 'customerID;gender;...' means the file was split on the wrong character."""
    for name in map(str, frame.columns):
        for delimiter, spoken in DELIMITER_HINTS.items():
            if delimiter in name and (missing in name.split(delimiter) or frame.shape[1] == 1):
                shown = name if len(name) <= 60 else name[:57] + "..."
                return (f"; the table was read as {frame.shape[1]} column(s), one named "
                        f"'{shown}': the file's delimiter is probably {spoken}")
    return ""


def _rows_for(kind: str, kwargs: dict[str, Any], frame: pd.DataFrame) -> tuple[int, ...]:
    """Row numbers of the offending values, for the expectations where rows help a human."""
    column = kwargs.get("column")
    if column not in frame:
        return ()
    values = frame[column]
    if kind == "expect_column_values_to_be_unique":
        return _bad_rows(values.duplicated(keep=False) & values.notna())
    if kind == "expect_column_values_to_not_be_null":
        return _bad_rows(values.isna())
    if kind == "expect_column_values_to_be_in_type_list":
        return _bad_rows(_unparsable_mask(values))
    if kind == "expect_column_values_to_be_between":
        return _bad_rows(_out_of_range_mask(values, kwargs.get("min_value"),
                                            kwargs.get("max_value")))
    if kind == "expect_column_values_to_be_in_set":
        return _bad_rows(values.notna() & ~values.isin(kwargs.get("value_set") or []))
    return ()


def run_expectations(frame: pd.DataFrame, config: DatasetConfig, numeric_columns: Sequence[str],
                     categorical_columns: Sequence[str], require_target: bool = True
                     ) -> dict[str, list[ExpectationOutcome]]:
    """Validate ``frame`` against the config-derived suite; outcomes grouped by check name.
    ``require_target=False`` accepts a table without the target column (an unlabeled snapshot
    for monitoring and scoring): the target's checks then do not apply."""
    import great_expectations as gx  # slow import: only pay for it when validating
    from great_expectations.data_context import set_context
    from great_expectations.data_context.types.base import ProgressBarsConfig

    plan = _plan(frame, config, numeric_columns, categorical_columns, require_target)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("churn_frame").add_dataframe_asset("frame")
    batch = asset.add_batch_definition_whole_dataframe("whole_frame")
    for index, (check_name, expectation) in enumerate(plan):
        # GX does not keep suite order in results, so carry the plan position in meta.
        expectation.meta = {"check": check_name, "index": index}
    # The whole suite in one store write: ``suite.add_expectation`` on a stored suite writes
    # (serializes) the suite again after each one, which was half of this function's CPU
    # on Telco (29 expectations: 3.5 of 6.6 s).
    suite = context.suites.add(gx.ExpectationSuite(
        name="churn_expectations", expectations=[expectation for _, expectation in plan]))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="churn_validation", data=batch, suite=suite))
    try:
        # SUMMARY keeps a bounded sample of offending values; COMPLETE would list every row.
        run = validation.run(batch_parameters={"dataframe": frame}, result_format={
            "result_format": "SUMMARY", "partial_unexpected_count": 20})
    finally:
        # GX keeps its last context for good (module-level project), and with it the
        # execution engine's metric cache: per-row Series of the whole table (1M rows:
        # 250 MB; 10M: 2.5 GB under every later step of the run).
        set_context(None)

    outcomes: dict[str, list[ExpectationOutcome]] = {name: [] for name in CHECK_NAMES}
    for item in sorted(run.results, key=lambda r: r.expectation_config.meta["index"]):
        spec, result = item.expectation_config, dict(item.result or {})
        kwargs, check_name = dict(spec.kwargs), spec.meta["check"]
        column = kwargs.get("column")
        examples = _examples(result)
        observed = _describe(spec.type, kwargs, result, frame, _raised(item.exception_info or {}))
        rows = () if item.success else _rows_for(spec.type, kwargs, frame)
        if not item.success and spec.type == "expect_column_values_to_be_in_type_list":
            # GX flags every value of an object column; only the unparsable ones help a human.
            examples = _unparsable(frame[column])
            observed += f": {int(_unparsable_mask(frame[column]).sum())} value(s) are not numbers"
        elif not item.success and spec.type == "expect_column_unique_value_count_to_be_between":
            positive = _as_column_values([config.positive_label], frame[column])[0]
            observed, examples, rows = _label_outcome(frame[column], positive)
        elif not item.success and spec.type == "expect_column_to_exist":
            observed += _delimiter_hint(column, frame)
        outcomes[check_name].append(ExpectationOutcome(
            check_name, spec.type, column, bool(item.success), observed, examples, rows))
    return outcomes


def summarize_failures(outcomes: list[ExpectationOutcome]) -> str:
    """One line per failed outcome, naming the expectation, column, problem and examples."""
    return "\n".join(
        f"{o.expectation}({o.column or 'table'}): {o.observed}"
        + (f", e.g. {', '.join(o.examples)}" if o.examples else "")
        + (f" (rows {', '.join(map(str, o.rows))}{', ...' if len(o.rows) == MAX_ROWS else ''})"
           if o.rows else "")
        for o in outcomes if not o.success
    )
