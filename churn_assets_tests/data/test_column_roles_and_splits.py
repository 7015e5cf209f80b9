"""Unit tests for column-role inference, numeric coercion and hash-based splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_assets.data.column_roles import coerce_numeric, infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target, split_summary
from churn_assets.dataset_config import DatasetConfig, SplitConfig
from churn_assets.generator import generate_customers
from churn_assets.names import SPLITS

N = 120


def dataset(**overrides) -> DatasetConfig:
    return DatasetConfig(source="x.csv", target="Churn", positive_label="Yes",
                         id_column="customerID", model_name="m", **overrides)


@pytest.fixture()
def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    charges = rng.uniform(20, 100, N).round(2).astype(str).astype(object)
    charges[[3, 40, 77]] = " "
    return pd.DataFrame({
        "customerID": [f"C{i:04d}" for i in range(N)],
        "notes": [f"called about bill #{i}" for i in range(N)],          # near-unique text
        "country": "NL",                                                 # constant
        "charges_text": charges,                                         # numbers as text
        "row_number": np.arange(1000, 1000 + N),                         # id-like integers
        "plan": rng.choice(["basic", "plus", "pro"], N),                 # categorical
        "zip_area": [f"Z{i % 55}" for i in range(N)],                    # 55 levels, repeated
        "monthly": rng.uniform(10, 90, N),                               # numeric
        "SeniorCitizen": rng.integers(0, 2, N),                          # 0/1 numeric
        "Churn": rng.choice(["Yes", "No"], N),
    })


# --- infer_column_roles -----------------------------------------------------------------------

def test_roles_inferred_with_reasons(mixed: pd.DataFrame) -> None:
    roles = infer_column_roles(mixed, dataset())
    assert set(roles.numeric) == {"charges_text", "monthly", "SeniorCitizen"}
    assert roles.categorical == ("plan", "zip_area")  # 55 levels: kept, judged on train later
    assert set(roles.dropped) == {"notes", "country", "row_number"}
    assert "near-unique" in roles.dropped["notes"] and f"{N} distinct" in roles.dropped["notes"]
    assert "constant" in roles.dropped["country"]
    assert "id-like" in roles.dropped["row_number"]
    # id and target are neither features nor "dropped"
    for column in ("customerID", "Churn"):
        assert column not in roles.features and column not in roles.dropped
    assert roles.features == roles.numeric + roles.categorical
    assert set(roles.features) | set(roles.dropped) | {"customerID", "Churn"} == set(mixed)


def test_config_overrides_win_over_inference(mixed: pd.DataFrame) -> None:
    config = dataset(drop=("plan",), numeric=("country",), categorical=("SeniorCitizen", "notes"))
    roles = infer_column_roles(mixed, config)
    assert roles.dropped["plan"] == "dropped by config"
    assert "country" in roles.numeric and "country" not in roles.dropped
    assert {"SeniorCitizen", "notes"} <= set(roles.categorical)
    assert "SeniorCitizen" not in roles.numeric and "notes" not in roles.dropped


def test_drop_override_beats_numeric_override(mixed: pd.DataFrame) -> None:
    roles = infer_column_roles(mixed, dataset(drop=("monthly",), numeric=("monthly",)))
    assert roles.dropped["monthly"] == "dropped by config"
    assert "monthly" not in roles.features


def test_shuffled_or_short_integer_columns_are_not_id_like(mixed: pd.DataFrame) -> None:
    shuffled = mixed.assign(row_number=np.random.default_rng(1).permutation(mixed["row_number"]))
    assert "row_number" in infer_column_roles(shuffled, dataset()).numeric
    short = mixed.head(20)  # 20 rows: too few to call an increasing column an id
    assert "row_number" in infer_column_roles(short, dataset()).numeric


def test_mostly_text_column_is_not_numeric(mixed: pd.DataFrame) -> None:
    junk = mixed["charges_text"].copy()
    junk[:10] = "n/a"  # > 2% unparsable: text, not numbers
    roles = infer_column_roles(mixed.assign(charges_text=junk), dataset())
    assert "charges_text" not in roles.numeric


def test_generated_telco_frame_roles() -> None:
    roles = infer_column_roles(generate_customers(300, seed=2), dataset())
    assert {"tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen"} == set(roles.numeric)
    assert {"Contract", "InternetService", "PaymentMethod", "gender"} <= set(roles.categorical)
    assert roles.dropped == {}


# --- coerce_numeric ---------------------------------------------------------------------------

def blanks_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "TotalCharges": ["10.5", " ", "", "30"],
        "junk": ["1", "oops", " ", "2"],
        "monthly": [1.0, 2.0, np.nan, 4.0],
        "clean": ["1", "2", "3", "4"],
    })


def test_coerce_turns_blanks_into_nan_and_counts_them() -> None:
    frame = blanks_frame()
    coerced, report = coerce_numeric(frame, ("TotalCharges", "monthly", "clean", "absent"))
    assert coerced["TotalCharges"].dtype == "float64"
    assert coerced["TotalCharges"].isna().tolist() == [False, True, True, False]
    assert coerced["TotalCharges"].tolist()[::3] == [10.5, 30.0]
    assert report["TotalCharges"] == 2
    assert coerced["clean"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert "clean" not in report and "monthly" not in report and "absent" not in report
    assert "absent" not in coerced


def test_coerce_leaves_unparsable_column_untouched_and_input_unmodified() -> None:
    frame = blanks_frame()
    before = frame.copy(deep=True)
    coerced, _ = coerce_numeric(frame, ("TotalCharges", "junk"))
    pd.testing.assert_frame_equal(frame, before)
    assert coerced["junk"].dtype == object
    assert coerced["junk"].tolist() == ["1", "oops", " ", "2"]


def test_coerce_shares_untouched_columns_and_never_writes_into_the_input() -> None:
    # The result is a shallow copy: converted columns are new arrays, the others are shared;
    # the input (float columns in one block beside the converted one) keeps its values.
    frame = blanks_frame()
    frame["other"] = [5.0, 6.0, 7.0, 8.0]
    before = frame.copy(deep=True)
    coerced, _ = coerce_numeric(frame, ("TotalCharges", "clean", "monthly"))
    pd.testing.assert_frame_equal(frame, before)
    assert np.shares_memory(coerced["other"].to_numpy(), frame["other"].to_numpy())
    assert not np.shares_memory(coerced["TotalCharges"].to_numpy(),
                                frame["TotalCharges"].to_numpy())
    assert coerced["clean"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert frame["clean"].tolist() == ["1", "2", "3", "4"]


def test_coerce_report_names_only_columns_that_changed() -> None:
    coerced, report = coerce_numeric(blanks_frame(), ("junk",))
    assert coerced["junk"].tolist() == ["1", "oops", " ", "2"]  # nothing was coerced ...
    assert "junk" not in report  # ... so nothing should be reported as coerced


# --- assign_splits ----------------------------------------------------------------------------

def ids(n: int, start: int = 0) -> pd.Series:
    return pd.Series([f"{i:05d}-CUST" for i in range(start, start + n)], name="customerID")


def test_splits_are_deterministic_and_order_free() -> None:
    customers = ids(2000)
    first = assign_splits(customers, SplitConfig())
    pd.testing.assert_series_equal(first, assign_splits(customers, SplitConfig()))
    shuffled = customers.sample(frac=1, random_state=3)
    again = assign_splits(shuffled, SplitConfig())
    assert (again.index == shuffled.index).all()
    assert dict(zip(shuffled, again, strict=True)) == dict(zip(customers, first, strict=True))


def test_existing_customers_keep_their_split_when_new_ones_arrive() -> None:
    old = assign_splits(ids(1000), SplitConfig())
    grown = pd.concat([ids(300, start=5000), ids(1000)], ignore_index=True)
    new = assign_splits(grown, SplitConfig())
    assert new.iloc[300:].tolist() == old.tolist()


@pytest.mark.parametrize("valid,test", [(0.15, 0.15), (0.2, 0.1)])
def test_split_fractions_on_20k_ids(valid: float, test: float) -> None:
    splits = assign_splits(ids(20_000), SplitConfig(valid_fraction=valid, test_fraction=test))
    shares = splits.value_counts(normalize=True)
    assert set(shares.index) == set(SPLITS)
    assert shares["valid"] == pytest.approx(valid, abs=0.02)
    assert shares["test"] == pytest.approx(test, abs=0.02)
    assert shares["train"] == pytest.approx(1 - valid - test, abs=0.02)


def test_different_salt_gives_different_assignment() -> None:
    customers = ids(5000)
    a = assign_splits(customers, SplitConfig(salt="one"))
    b = assign_splits(customers, SplitConfig(salt="two"))
    # independent assignments agree on about 0.7^2 + 2 * 0.15^2 = 53.5% of ids
    assert (a == b).mean() < 0.7


def test_split_keeps_index_and_name() -> None:
    customers = pd.Series(["a", "b", "c"], index=[10, 20, 30])
    splits = assign_splits(customers, SplitConfig())
    assert splits.name == "split" and splits.index.tolist() == [10, 20, 30]
    assert set(splits) <= set(SPLITS)


# --- binary_target ----------------------------------------------------------------------------

def test_binary_target_text_labels() -> None:
    label = binary_target(pd.Series(["Yes", "No", " Yes ", "yes", None]), "Yes")
    assert label.tolist() == [1, 0, 1, 0, 0]  # case-sensitive; surrounding spaces ignored
    assert label.dtype == "int8"


@pytest.mark.parametrize("positive", [1, "1", " 1"])
def test_binary_target_ints_and_their_text_compare_equal(positive) -> None:
    assert binary_target(pd.Series([1, 0, 0, 1]), positive).tolist() == [1, 0, 0, 1]
    assert binary_target(pd.Series(["1", "0", "0", "1"]), positive).tolist() == [1, 0, 0, 1]


def test_binary_target_wrong_label_gives_no_positives() -> None:
    assert binary_target(pd.Series(["Yes", "No"]), "Churned").sum() == 0
    assert binary_target(pd.Series([1, 0]), 2).sum() == 0


def test_binary_target_float_coded_labels() -> None:
    assert binary_target(pd.Series([1.0, 0.0, 1.0]), 1).tolist() == [1, 0, 1]


# --- split_summary ----------------------------------------------------------------------------

def test_split_summary_matches_pandas_groupby() -> None:
    rng = np.random.default_rng(5)
    splits = assign_splits(ids(3000), SplitConfig())
    label = pd.Series(rng.integers(0, 2, 3000), dtype="int8")
    summary = split_summary(splits, label).set_index("split")
    assert summary.index.tolist() == list(SPLITS)
    for name in SPLITS:
        rows = label[splits == name]
        assert summary.loc[name, "rows"] == len(rows)
        assert summary.loc[name, "churn_rate"] == pytest.approx(rows.mean())
    assert summary["rows"].sum() == 3000


def test_split_summary_reports_empty_split_as_zero() -> None:
    splits = pd.Series(["train", "train", "test"])
    summary = split_summary(splits, pd.Series([1, 0, 1])).set_index("split")
    assert summary.loc["valid", "rows"] == 0
    assert summary.loc["train", "churn_rate"] == pytest.approx(0.5)
    assert summary.loc["test", "churn_rate"] == pytest.approx(1.0)


def test_split_labels_follow_the_hash_cuts_and_share_three_objects() -> None:
    # One str object per label, not per row (10M rows: ~600 MB of equal strings otherwise).
    from churn_assets.data.splits import hash_unit_interval

    ids = pd.Series([f"C{i:05d}" for i in range(3_000)], index=range(10, 3_010))
    config = SplitConfig(test_fraction=0.2, valid_fraction=0.15)
    splits = assign_splits(ids, config)
    position = hash_unit_interval(ids, config.salt)
    valid_cut = config.test_fraction + config.valid_fraction
    expected = np.where(position < config.test_fraction, "test",
                        np.where(position < valid_cut, "valid", "train"))
    assert splits.dtype == object and splits.index.equals(ids.index)
    assert splits.tolist() == expected.tolist()
    assert len({id(label) for label in splits}) == 3
