"""Units behind the bad-input table: typing of text columns, label spelling, S3 errors."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_assets.data.column_roles import coerce_target_labels
from churn_assets.data.csv_text import detect_delimiter
from churn_assets.data.sources import SourceError, parse_table, read_source
from churn_assets.data.text_types import type_columns
from churn_assets_tests.helpers.s3_server import running_s3_server


def test_leading_zeros_keep_a_column_as_text_even_when_not_named() -> None:
    frame, notes = parse_table(b"zip,n\n01234,1\n98765,2\n", "x.csv")
    assert frame["zip"].tolist() == ["01234", "98765"]
    assert frame["n"].dtype == "int64"
    assert notes == ["column 'zip' kept as text: 1 value(s) with leading zeros, e.g. '01234'"]


def test_text_columns_are_never_converted() -> None:
    frame, notes = parse_table(b"id,n\n12,1\n13,2\n", "x.csv", text_columns=["id"])
    assert frame["id"].tolist() == ["12", "13"] and notes == []


def test_types_follow_pandas_for_plain_values() -> None:
    strings = pd.DataFrame({"i": ["1", "2"], "f": ["1.5", None], "b": ["True", "false"],
                            "blank": [" ", "3"], "empty": [None, None], "t": ["a", "b"]})
    typed, notes = type_columns(strings)
    assert [str(t) for t in typed.dtypes] == ["int64", "float64", "bool", "object", "float64",
                                              "object"]
    assert notes == []


@pytest.mark.parametrize("values", [
    ["3", "1", "3"], ["1", None, "2", "1"], ["1.5", "2", "-0.0", "inf", None],
    ["18446744073709551615", "1"],
    ["18446744073709551615", None, "1"],  # pandas keeps uint64-range numbers with gaps as text
])
def test_numbers_are_typed_as_pandas_types_the_whole_column(values) -> None:
    """Typing looks at each distinct value once; the rows get what pandas gives the column."""
    column = pd.Series(values, dtype=object, name="x")
    typed, _ = type_columns(pd.DataFrame({"x": column}))
    pd.testing.assert_series_equal(typed["x"], pd.to_numeric(column))


def test_booleans_with_a_gap_stay_text() -> None:
    typed, _ = type_columns(pd.DataFrame({"b": ["true", None, "False", "true"]}))
    assert typed["b"].tolist() == ["true", None, "False", "true"]


@pytest.mark.parametrize("delimiter,values,expected,label", [
    (";", ["29,85", "1.234,5", "7"], [29.85, 1234.5, 7.0], "decimal commas"),
    (",", ["1,234.5", "12", "1,000,000"], [1234.5, 12.0, 1e6], "thousands separators"),
    ("\t", ["29,85", "3,5", "7"], [29.85, 3.5, 7.0], "decimal commas"),
])
def test_formatted_numbers_follow_the_delimiter(delimiter, values, expected, label) -> None:
    typed, [note] = type_columns(pd.DataFrame({"x": values}), delimiter)
    assert typed["x"].tolist() == expected
    assert label in note


def test_mixed_text_is_not_taken_for_formatted_numbers() -> None:
    typed, notes = type_columns(pd.DataFrame({"x": ["1,5", "n/a"]}), ";")
    assert typed["x"].tolist() == ["1,5", "n/a"] and notes == []


@pytest.mark.parametrize("header,expected", [
    ("a,b,c", ","), ("a;b;c", ";"), ("a\tb", "\t"), ("a|b|c", "|"), ("solo", ","),
    ('"x;y",b,c', ","), ("a;b,c;d", ";"),
])
def test_delimiter_is_the_most_frequent_on_the_header(header: str, expected: str) -> None:
    assert detect_delimiter(header + "\n1\n") == expected


def test_target_spellings_follow_the_configured_labels() -> None:
    frame = pd.DataFrame({"Churn": ["yes", "No", "no ", "NO", None, "Yes", "Maybe"]})
    coerced, notes = coerce_target_labels(frame, "Churn", "Yes", known_labels=["Yes", "No"])
    assert coerced["Churn"].tolist() == ["Yes", "No", "No", "No", None, "Yes", "Maybe"]
    assert len(notes) == 3 and all("read as" in note for note in notes)
    assert frame["Churn"].tolist()[0] == "yes"  # the caller's frame is untouched


def test_numeric_target_is_left_alone() -> None:
    frame = pd.DataFrame({"Churn": [0, 1, 1]})
    assert coerce_target_labels(frame, "Churn", 1) == (frame, [])


def test_missing_s3_object_is_a_source_error_naming_it() -> None:
    with running_s3_server() as server:
        client = server.client()
        client.create_bucket(Bucket="parse-tests")
        with pytest.raises(SourceError, match=r"not found: s3://parse-tests/absent.csv"):
            read_source("s3://parse-tests/absent.csv", client)
