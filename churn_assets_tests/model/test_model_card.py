"""The model card renders every section from plain facts, with rounded figures."""

from __future__ import annotations

from churn_assets.model.intervals import Interval
from churn_assets.model.model_card import NOT_RECORDED, render_model_card

FACTS = {
    "model_name": "churn-classifier", "version": "7", "run_id": "abc123",
    "run_url": "http://mlflow/#/experiments/1/runs/abc123",
    "data": {"source": "data/customers.csv", "sha256": "f" * 64, "rows": 7043},
    "splits": {"train": {"rows": 4930, "churn_rate": 0.265432},
               "valid": {"rows": 1056, "churn_rate": 0.2651515},
               "test": {"rows": 1057, "churn_rate": 0.2658467}},
    "features": {"kept": ["tenure", "Contract"],
                 "dropped": {"customerID": "id column", "Notes": "free text | near unique"}},
    "parameters": {"max_depth": 4, "learning_rate": 0.0512345678},
    "threshold": 0.3333333333,
    "metrics": {"valid": {"f1": 0.6666666666666666, "roc_auc": 0.84},
                "test": {"f1": Interval(0.6123456, 0.58, 0.64, 0.95, 1000),
                         "roc_auc": {"estimate": 0.8412345, "low": 0.82, "high": 0.86}}},
    "promotion": {"promote": False, "rule": "floors F1 >= 0.55 ...",
                  "reason": "not promoted: segment 'Contract=One year' (250 rows) loses ...",
                  "f1_delta": "+0.0100 [-0.0100, +0.0300] (95%, 1000 resamples)",
                  "roc_auc_delta": "+0.0010 [-0.0050, +0.0070] (95%, 1000 resamples)",
                  "previous_champion": "6", "load_check": "passed",
                  "segments": [
                      {"segment": "Contract=One year", "rows": 250, "champion_f1": 0.41234567,
                       "candidate_f1": 0.3, "metric": "roc_auc", "delta": -0.11234567,
                       "delta_interval": "-0.1123 [-0.1800, -0.0400] (99.6%, 1000 resamples)",
                       "blocked": True},
                      {"segment": "Contract=Two year", "rows": 300, "champion_f1": None,
                       "candidate_f1": 0.1, "delta": None, "blocked": False}]},
    "top_features": [("cat__Contract=Month-to-month", 0.31234567), ("num__tenure", 0.2)],
    "known_limits": ["Trained on synthetic data.", "F1 on segments under 100 rows is noise."],
    "retention": {"policy": "expected_profit", "capacity": None, "calibration": "isotonic",
                  "economics": {"contact_cost": 5.0, "incentive_cost": 20.0,
                                "retention_rate": 0.3, "customer_value": "MonthlyCharges * 12"},
                  "metrics": {"valid_expected_profit_f1": 1.0,
                              "test_expected_profit_policy": 12345.678,
                              "test_top_decile_lift": 2.91234}},
}


def test_every_section_renders_from_facts() -> None:
    card = render_model_card(FACTS)

    assert card.startswith("# Model card: churn-classifier v7")
    assert "[abc123](http://mlflow/#/experiments/1/runs/abc123)" in card
    for title in ("Data", "Features", "Parameters", "Metrics", "Promotion decision",
                  "Top features", "Retention campaign", "Known limits"):
        assert f"\n## {title}\n" in card
    assert NOT_RECORDED not in card
    assert "- Policy: `expected_profit`" in card and "customer_value `MonthlyCharges * 12`" in card
    assert "| expected_profit_policy | 12345.6780 |" in card and "valid_expected" not in card
    assert "![expected profit curve](evaluation/expected_profit_curve.png)" in card
    assert "`data/customers.csv`" in card and "f" * 64 in card
    assert "| test | 1057 | 0.2658 |" in card
    assert "`tenure`, `Contract`" in card and "| customerID | id column |" in card
    assert "free text \\| near unique" in card  # a pipe cannot break the table
    assert "| learning_rate | 0.0512 |" in card and "**0.3333**" in card
    assert "| f1 | 0.6667 | 0.6123 [0.5800, 0.6400] |" in card
    assert "| roc_auc | 0.8400 | 0.8412 [0.8200, 0.8600] |" in card
    assert "**not promoted**" in card and "Contract=One year" in card
    assert "+0.0100 [-0.0100, +0.0300]" in card and "v6" in card
    assert ("| Contract=One year | 250 | 0.4123 | 0.3000 | -0.1123 roc_auc | -0.1123 "
            "[-0.1800, -0.0400] (99.6%, 1000 resamples) | **yes** |") in card
    assert "| Contract=Two year | 300 | — | 0.1000 | — | — | no |" in card
    assert "| cat__Contract=Month-to-month | 0.3123 |" in card
    assert "- F1 on segments under 100 rows is noise." in card
    assert "0.6666666" not in card  # every figure rounded


def test_missing_sections_say_so() -> None:
    card = render_model_card({"model_name": "m"})
    assert card.count(NOT_RECORDED) == 7  # all but Data, which names what is unknown
    assert "Source: `unknown`" in card
