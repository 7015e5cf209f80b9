"""Tests for the Great Expectations suite derived from the dataset config."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_assets.data.expectations import (
    CHECK_DESCRIPTIONS,
    CHECK_NAMES,
    ExpectationOutcome,
    run_expectations,
    summarize_failures,
)
from churn_assets.dataset_config import DatasetConfig, parse_dataset_config

CONTRACTS = ["Month-to-month", "One year", "Two year"]
NUMERIC = ("tenure", "MonthlyCharges")
CATEGORICAL = ("Contract",)


def make_config(tmp_path: Path, **overrides: object) -> DatasetConfig:
    raw = {
        "source": "data/churn.csv",
        "target": "Churn",
        "positive_label": "Yes",
        "id_column": "customerID",
        "model_name": "churn-model",
        "numeric": list(NUMERIC),
        "categorical": list(CATEGORICAL),
        "expectations": {
            "min_rows": 5,
            "ranges": {"tenure": [0, None]},
            "value_sets": {"Contract": CONTRACTS},
        },
    }
    raw.update(overrides)
    return parse_dataset_config(raw, base_dir=tmp_path)


def make_frame(rows: int = 20) -> pd.DataFrame:
    index = np.arange(rows)
    return pd.DataFrame({
        "customerID": [f"{i:04d}-ABCDE" for i in index],
        "tenure": (index * 3) % 72,
        "MonthlyCharges": 20.0 + index * 2.5,
        "Contract": [CONTRACTS[i % 3] for i in index],
        "Churn": ["Yes" if i % 4 == 0 else "No" for i in index],
    })


def run(frame: pd.DataFrame, config: DatasetConfig) -> dict[str, list[ExpectationOutcome]]:
    return run_expectations(frame, config, NUMERIC, CATEGORICAL)


def failed(outcomes: list[ExpectationOutcome]) -> list[ExpectationOutcome]:
    return [outcome for outcome in outcomes if not outcome.success]


def assert_only_failing(results: dict[str, list[ExpectationOutcome]], check: str) -> None:
    failing = {name for name, outcomes in results.items() if failed(outcomes)}
    assert failing == {check}


def test_clean_frame_passes_every_check(tmp_path: Path) -> None:
    results = run(make_frame(), make_config(tmp_path))
    assert set(results) == set(CHECK_NAMES) == set(CHECK_DESCRIPTIONS)
    for name in CHECK_NAMES:
        assert results[name], f"{name} ran no expectation"
        assert not failed(results[name]), summarize_failures(results[name])
    existence = {o.column for o in results["required_columns"]}
    assert existence == {"customerID", "Churn", "tenure", "MonthlyCharges", "Contract"}
    assert summarize_failures(results["unique_ids"]) == ""


def test_validation_keeps_nothing_of_the_table(tmp_path: Path) -> None:
    # GX's last context (kept module-wide) held its metric cache: per-row Series of the whole
    # table, alive under every later step of a run (10M rows: 2.5 GB).
    rows = 4_321
    results = run(make_frame(rows), make_config(tmp_path))
    assert not failed(results["unique_ids"])
    gc.collect()
    alive = [o for o in gc.get_objects()
             if isinstance(o, pd.Series | pd.DataFrame) and len(o) == rows]
    assert alive == []


def test_duplicate_ids_fail_unique_ids(tmp_path: Path) -> None:
    frame = make_frame()
    frame.loc[5, "customerID"] = frame.loc[2, "customerID"]
    results = run(frame, make_config(tmp_path))
    assert_only_failing(results, "unique_ids")
    [outcome] = failed(results["unique_ids"])
    assert outcome.expectation == "expect_column_values_to_be_unique"
    assert outcome.column == "customerID"
    assert outcome.examples == ("0002-ABCDE",)
    summary = summarize_failures(results["unique_ids"])
    assert summary.startswith("expect_column_values_to_be_unique(customerID): 2 non-unique")
    assert "0002-ABCDE" in summary and summary.endswith("(rows 3, 6)")


def test_missing_target_fails_required_columns(tmp_path: Path) -> None:
    results = run(make_frame().drop(columns="Churn"), make_config(tmp_path))
    assert_only_failing(results, "required_columns")
    [outcome] = failed(results["required_columns"])
    assert (outcome.column, outcome.observed) == ("Churn", "column missing")
    assert results["target_labels"] == []
    assert "expect_column_to_exist(Churn): column missing" in summarize_failures(
        results["required_columns"])


def test_single_class_fails_target_labels(tmp_path: Path) -> None:
    frame = make_frame().assign(Churn="No")
    results = run(frame, make_config(tmp_path))
    assert_only_failing(results, "target_labels")
    by_type = {o.expectation: o for o in failed(results["target_labels"])}
    assert set(by_type) == {"expect_column_unique_value_count_to_be_between",
                            "expect_column_distinct_values_to_contain_set"}
    assert by_type["expect_column_unique_value_count_to_be_between"].observed.startswith("1 ")
    assert "Yes" in by_type["expect_column_distinct_values_to_contain_set"].observed


def test_integer_target_with_integer_label_passes(tmp_path: Path) -> None:
    frame = make_frame()
    frame["Churn"] = (frame["Churn"] == "Yes").astype(int)
    assert not failed(run(frame, make_config(tmp_path, positive_label=1))["target_labels"])
    # A label that is not among the integer classes must still be caught.
    assert failed(run(frame, make_config(tmp_path, positive_label=2))["target_labels"])


def test_string_integer_label_matches_integer_column(tmp_path: Path) -> None:
    frame = make_frame()
    frame["Churn"] = (frame["Churn"] == "Yes").astype(int)
    assert not failed(run(frame, make_config(tmp_path, positive_label="1"))["target_labels"])


def test_non_numeric_text_fails_numeric_columns(tmp_path: Path) -> None:
    frame = make_frame()
    frame["MonthlyCharges"] = frame["MonthlyCharges"].astype(object)
    frame.loc[3, "MonthlyCharges"] = "n/a"
    frame.loc[4, "MonthlyCharges"] = np.nan
    results = run(frame, make_config(tmp_path))
    assert_only_failing(results, "numeric_columns")
    [outcome] = failed(results["numeric_columns"])
    assert outcome.column == "MonthlyCharges"
    assert outcome.observed == "dtype object: 1 value(s) are not numbers"
    assert outcome.examples == ("n/a",)
    assert outcome.rows == (4,)  # frame position 3 is the 4th data row


def test_negative_tenure_fails_value_ranges(tmp_path: Path) -> None:
    frame = make_frame()
    frame.loc[7, "tenure"] = -4
    results = run(frame, make_config(tmp_path))
    assert_only_failing(results, "value_ranges")
    [outcome] = failed(results["value_ranges"])
    assert (outcome.column, outcome.examples, outcome.rows) == ("tenure", ("-4",), (8,))
    assert outcome.observed == "1 values below 0"
    assert summarize_failures([outcome]).endswith("e.g. -4 (rows 8)")


def test_unknown_contract_fails_value_sets(tmp_path: Path) -> None:
    frame = make_frame()
    frame.loc[[1, 9], "Contract"] = "Lifetime"
    results = run(frame, make_config(tmp_path))
    assert_only_failing(results, "value_sets")
    [outcome] = failed(results["value_sets"])
    assert (outcome.column, outcome.examples) == ("Contract", ("Lifetime",))
    assert outcome.observed.startswith("2 values outside")


def test_too_few_rows_fails_min_rows(tmp_path: Path) -> None:
    results = run(make_frame(rows=4), make_config(tmp_path))
    assert_only_failing(results, "min_rows")
    [outcome] = results["min_rows"]
    assert not outcome.success
    assert outcome.observed == "4 rows (minimum 5)"
    assert summarize_failures([outcome]) == (
        "expect_table_row_count_to_be_between(table): 4 rows (minimum 5)")


@pytest.mark.parametrize("column", ["tenure", "Contract"])
def test_missing_configured_column_is_reported_not_crashing(tmp_path: Path, column: str) -> None:
    results = run(make_frame().drop(columns=column), make_config(tmp_path))
    assert [o.column for o in failed(results["required_columns"])] == [column]
    assert all(o.column != column for name in CHECK_NAMES if name != "required_columns"
               for o in results[name])


def test_range_on_text_column_fails_numeric_columns(tmp_path: Path) -> None:
    config = make_config(tmp_path, expectations={"min_rows": 5, "ranges": {"Contract": [0, 1]}})
    results = run(make_frame(), config)
    assert_only_failing(results, "numeric_columns")
    [outcome] = failed(results["numeric_columns"])
    assert outcome.column == "Contract"
    assert set(outcome.examples) == set(CONTRACTS)
    assert all(o.column != "Contract" for o in results["value_ranges"])


def test_unexpected_labels_are_named_with_counts_rows_and_case_hint(tmp_path: Path) -> None:
    frame = make_frame()
    frame.loc[[2, 6], "Churn"] = "Maybe"
    frame.loc[3, "Churn"] = "yes"  # not coerced here: validation must still explain it
    results = run(frame, make_config(tmp_path))
    [outcome] = [o for o in failed(results["target_labels"])
                 if o.expectation == "expect_column_unique_value_count_to_be_between"]
    assert outcome.observed == (
        "4 distinct values (expected 2): unexpected 'Maybe' (2 rows), 'yes' (1 row); "
        "known labels 'Yes' (5 rows), 'No' (12 rows); "
        "'yes' looks like 'Yes' in another case or with spaces")
    assert outcome.examples == ("Maybe", "yes") and outcome.rows == (3, 4, 7)


def test_one_column_frame_names_the_likely_delimiter(tmp_path: Path) -> None:
    frame = make_frame()
    header = ";".join(frame.columns)
    one_column = pd.DataFrame({header: frame.astype(str).agg(";".join, axis=1)})
    results = run(one_column, make_config(tmp_path))
    summary = summarize_failures(results["required_columns"])
    assert "expect_column_to_exist(customerID): column missing; the table was read as 1 " \
           "column(s), one named 'customerID;tenure;MonthlyCharges;Contract;Churn': the " \
           "file's delimiter is probably ';'" in summary
