"""The per-value path for a few rows (an online request) gives exactly what the per-column
pandas path gives for the same rows in a large frame: the model matrix, the reasons' shown
values and XGBoost's probabilities, on generated customers and on awkward values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.dataset_config import DEFAULT_CONFIG_PATH, load_dataset_config
from churn_assets.generator import generate_customers
from churn_assets.model.families.xgboost_family import XGBoostModel
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.reason_codes import _shown, by_raw_column, raw_sources, reason_texts
from churn_assets.model.small_frames import SMALL_FRAME_ROWS, columns_of
from churn_assets_tests.helpers.small_candidate import CONFIG


@pytest.fixture(scope="module")
def fitted() -> ChurnPreprocessor:
    customers = generate_customers(1500, seed=5)
    roles = infer_column_roles(customers, CONFIG)
    telco = tuple(load_dataset_config(DEFAULT_CONFIG_PATH).engineered_declarations())
    return ChurnPreprocessor(roles.numeric, roles.categorical, engineered=telco).fit(customers)


def awkward(rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Values clients send: blanks, padded and odd number strings, unseen and missing levels,
    numbers where text is expected; each column keeps its dtype where pandas would."""
    rng = np.random.default_rng(seed)
    rows = rows.copy()
    n = len(rows)
    odd_numbers = np.array([" ", "", " 12.5", "12.5 ", "1_000", "1e3", ".5", "5.", "+1", "inf",
                            "nan", "0x10", "abc", None, np.nan, 0.1 + 0.2, 7, "-0",
                            "3.14159265358979311600", "1889.50"], dtype=object)
    pick = rng.random(n) < 0.5
    rows.loc[pick, "TotalCharges"] = rng.choice(odd_numbers, pick.sum())
    text = np.array([None, np.nan, "  Yes ", "unseen level", "", 1, 2.5, True, "No"],
                    dtype=object)
    for column in ("Partner", "Contract", "PaymentMethod", "InternetService"):
        pick = rng.random(n) < 0.3
        values = rows[column].astype(object).to_numpy()
        values[pick] = rng.choice(text, pick.sum())
        rows[column] = values
    contract = rows["Contract"].to_numpy(object)
    contract[rng.random(n) < 0.2] = " MONTH-to-month "
    rows["Contract"] = contract
    monthly = rows["MonthlyCharges"].to_numpy(float)
    monthly[rng.random(n) < 0.1] = np.nan
    rows["MonthlyCharges"] = monthly
    tenure = rows["tenure"].to_numpy(float)
    tenure[rng.random(n) < 0.1] = rng.choice([-1.0, 0.0, 6.0, 48.0, np.inf, np.nan])
    rows["tenure"] = tenure
    return rows


@pytest.mark.parametrize("make", [lambda: generate_customers(300, seed=9),
                                  lambda: awkward(generate_customers(600, seed=10), 3)],
                         ids=["generated", "awkward"])
def test_a_few_rows_get_the_matrix_many_rows_get(fitted, make) -> None:
    rows = make()
    assert len(rows) > SMALL_FRAME_ROWS  # the whole frame takes the pandas path
    many = fitted.transform(rows)
    for start in range(0, len(rows), 7):  # one to seven rows at a time: the per-value path
        few = rows.iloc[start:start + 1 + start % 7]
        assert fitted._transform_few(few) is not None
        np.testing.assert_array_equal(fitted.transform(few).to_numpy(),
                                      many.loc[few.index].to_numpy())


def _shown_values(rows: pd.DataFrame, features: pd.DataFrame, sources: list[str],
                  fitted: ChurnPreprocessor) -> pd.DataFrame:
    shown = _shown(rows, features, list(dict.fromkeys(sources)), fitted)
    return pd.DataFrame(shown, index=rows.index)


def test_the_reasons_show_the_same_values(fitted) -> None:
    rows = awkward(generate_customers(300, seed=11), 4)
    features = fitted.transform(rows)
    sources = raw_sources(fitted)
    many = _shown_values(rows, features, sources, fitted)
    for start in range(0, len(rows), 3):
        few = rows.iloc[start:start + 3]
        pd.testing.assert_frame_equal(
            _shown_values(few, features.loc[few.index], sources, fitted), many.loc[few.index])


def test_reason_sums_of_a_few_rows_are_pandas_sums(fitted) -> None:
    sources = raw_sources(fitted)
    rng = np.random.default_rng(6)
    for draw in range(50):  # magnitudes apart, so the compensation matters
        values = rng.normal(0, 1, (5, len(sources))) * 10.0 ** rng.integers(-8, 8, len(sources))
        contribution = pd.DataFrame(values, columns=fitted.feature_names_)
        expected = contribution.T.groupby(np.asarray(sources), sort=False).sum().T[
            list(dict.fromkeys(sources))]
        pd.testing.assert_frame_equal(by_raw_column(contribution, sources), expected,
                                      check_exact=True, obj=f"draw {draw}")


def test_values_of_other_types_take_the_pandas_path(fitted) -> None:
    rows = generate_customers(5, seed=12)
    rows["tenure"] = rows["tenure"].astype("Int64")  # nullable: not handled value by value
    assert fitted._transform_few(rows) is None
    rows["tenure"] = rows["tenure"].astype("int64")
    timestamps = rows["Contract"].astype(object)
    timestamps.iloc[0] = pd.Timestamp("2024-01-01")
    rows["Contract"] = timestamps
    assert fitted._transform_few(rows) is None
    np.testing.assert_array_equal(  # still answered, by pandas
        fitted.transform(rows).to_numpy(),
        fitted.transform(pd.concat([rows] * 20, ignore_index=True)).to_numpy()[:5])


def test_a_loaded_booster_scores_as_a_dmatrix_does(fitted) -> None:
    rows = awkward(generate_customers(800, seed=13), 5)
    matrix = fitted.transform(rows)
    infinite = np.isinf(matrix.to_numpy()).any(axis=1)
    assert infinite.any()  # a DMatrix refuses them: so must the in-place path
    with pytest.raises(ValueError, match="inf"):
        XGBoostModel(xgb.Booster()).predict_proba(matrix[infinite])
    matrix = matrix[~infinite]
    labels = (np.arange(len(matrix)) % 3 == 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4}, xgb.DMatrix(
        matrix, label=labels), num_boost_round=30)
    loaded = XGBoostModel(booster)
    expected = booster.predict(xgb.DMatrix(matrix)).astype("float64")
    np.testing.assert_array_equal(loaded.predict_proba(matrix), expected)
    np.testing.assert_array_equal(loaded.predict_proba(matrix.iloc[:1]), expected[:1])
    with pytest.raises(ValueError, match="expects the columns"):
        loaded.predict_proba(matrix.iloc[:, ::-1])


def test_columns_taken_out_once_give_what_indexing_gives(fitted) -> None:
    """``columns_of`` (the served model's one pass over a few rows' columns, shared by the
    preprocessor and the reasons) answers what each reader's own ``frame[name]`` answered."""
    rows = awkward(generate_customers(200, seed=14), 6)
    sources = raw_sources(fitted)
    names = list(dict.fromkeys(sources))
    for start in range(0, len(rows), 5):
        few = rows.iloc[start:start + 1 + start % 5]
        columns = columns_of(few)
        assert columns is not None
        shared = fitted.transform(few, columns)
        np.testing.assert_array_equal(shared.to_numpy(), fitted.transform(few).to_numpy())
        contribution = np.random.default_rng(start).normal(size=shared.shape)
        assert reason_texts(few, shared, contribution, fitted, columns=columns) == \
            reason_texts(few, shared, contribution, fitted)
        assert _shown(few, shared, names, fitted, columns).keys() == set(names)
    assert columns_of(rows) is None  # many rows: the pandas path indexes the frame itself
    twice = rows.head(3).copy()
    twice.columns = [*twice.columns[:-1], twice.columns[0]]
    assert columns_of(twice) is None  # repeated names: indexing decides, as before
