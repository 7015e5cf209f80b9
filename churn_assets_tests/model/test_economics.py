"""The expected-profit formula against hand computations, and the customer_value expression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_assets.dataset_config import ConfigError, parse_dataset_config
from churn_assets.model.economics import (
    Economics,
    ValueExpressionError,
    customer_values,
    expected_profit,
    expected_value,
    realized_value,
)

SCENARIO = Economics(contact_cost=5, incentive_cost=20, retention_rate=0.3,
                     customer_value="MonthlyCharges * 12")


def test_expected_value_of_a_contact_matches_a_hand_computation():
    # p * gamma * CLV - d * (1 - p * (1 - gamma)) - f, CLV = 12 * 70 = 840:
    # p=0.5: 126 - 20 * 0.65 - 5 = 108;  p=0.1: 25.2 - 20 * 0.93 - 5 = 1.6;  p=0: -25.
    values = customer_values(SCENARIO.customer_value, pd.DataFrame({"MonthlyCharges": [70] * 3}))
    ev = expected_value(np.array([0.5, 0.1, 0.0]), values, SCENARIO)
    np.testing.assert_allclose(ev, [108.0, 1.6, -25.0])


def test_expected_value_is_the_probability_weighted_realized_value():
    values = np.array([840.0, 120.0])
    p = np.array([0.37, 0.81])
    churner = realized_value(np.array([1, 1]), values, SCENARIO)
    stayer = realized_value(np.array([0, 0]), values, SCENARIO)
    np.testing.assert_allclose(expected_value(p, values, SCENARIO), p * churner + (1 - p) * stayer)


def test_expected_profit_of_a_contact_list_by_hand():
    labels = np.array([1, 0, 1, 0])
    values = np.array([840.0, 600.0, 100.0, 1000.0])
    probabilities = np.array([0.9, 0.6, 0.7, 0.2])
    # Contacted: churner 0.3 * (840 - 20) - 5 = 241; stayer -25; churner 0.3 * 80 - 5 = 19.
    by_mask = expected_profit(labels, probabilities, np.array([1, 1, 1, 0]), values, SCENARIO)
    by_threshold = expected_profit(labels, probabilities, 0.5, values, SCENARIO)
    assert by_mask == pytest.approx(235.0)
    assert by_threshold == pytest.approx(235.0)
    assert expected_profit(labels, probabilities, 0.95, values, SCENARIO) == 0.0


def test_customer_value_reads_text_columns_and_treats_blanks_as_no_value():
    rows = pd.DataFrame({"a": ["10", " ", "4"], "b": [2.0, 3.0, 0.0]})
    np.testing.assert_allclose(customer_values("(a + b) / 2 - -1", rows), [7.0, 0.0, 3.0])
    np.testing.assert_allclose(customer_values("a / b", rows), [5.0, 0.0, 0.0])  # 4/0 -> 0
    np.testing.assert_allclose(customer_values(250, rows), [250.0] * 3)
    assert rows["a"].tolist() == ["10", " ", "4"]  # input untouched


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "open('x')", "a.real", "a[0]", "a ** 2", "a % 2",
    "a if b else 1", "lambda: 1", "a < b", "'text'", "True", "a and b", "[a]", "a; b",
])
def test_customer_value_rejects_anything_but_arithmetic_on_columns(expression):
    rows = pd.DataFrame({"a": [1.0], "b": [2.0]})
    with pytest.raises(ValueExpressionError, match="customer_value"):
        customer_values(expression, rows)


def test_the_dataset_yaml_refuses_a_bad_expression_and_a_policy_without_economics():
    base = dict(source="x.csv", target="Churn", positive_label="Yes", id_column="id",
                model_name="m")
    economics = {"contact_cost": 5, "incentive_cost": 20, "retention_rate": 0.3}
    with pytest.raises(ConfigError, match="Call is not allowed"):
        parse_dataset_config(base | {"economics": economics | {"customer_value": "exit()"}},
                             Path("."))
    with pytest.raises(ConfigError, match="needs an 'economics' section"):
        parse_dataset_config(base | {"decision": {"policy": "expected_profit"}}, Path("."))
    with pytest.raises(ConfigError, match="'decision.capacity' is required"):
        parse_dataset_config(base | {"economics": economics | {"customer_value": 1},
                                     "decision": {"policy": "capacity"}}, Path("."))
    config = parse_dataset_config(base, Path("."))
    assert config.economics is None and config.decision.policy == "f1"


def test_a_missing_value_column_is_named():
    with pytest.raises(ValueExpressionError, match="missing column.*MonthlyCharges"):
        customer_values("MonthlyCharges * 12", pd.DataFrame({"tenure": [1]}))
