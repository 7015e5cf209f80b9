"""promotion.metric expected_profit: the paired bootstrap of the campaign-profit difference of
two contact lists on the same labeled rows (``registry.promotion_metrics``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_assets.dataset_config import ConfigError, PromotionConfig, parse_dataset_config
from churn_assets.model.economics import Economics, customer_values, expected_profit
from churn_assets.registry.promotion_metrics import GainContext, promotion_metric
from churn_assets.registry.promotion_rule import (
    PROMOTED,
    ScoredModel,
    decide_promotion,
    snapshot_look,
)

SCENARIO = Economics(contact_cost=5, incentive_cost=20, retention_rate=0.3,
                     customer_value="MonthlyCharges * 12")
RULES = PromotionConfig(metric="expected_profit", min_f1=0.0, min_roc_auc=0.0, resamples=200,
                        seed=3, segments=())


def test_the_gain_is_the_profit_difference_per_row_by_hand():
    rows = pd.DataFrame({"MonthlyCharges": [70, 50, 10, 80]})  # CLV 840, 600, 120, 960
    labels = np.array([1, 0, 1, 0])
    candidate = np.array([0.9, 0.2, 0.8, 0.1])  # contacts rows 0, 2 at 0.5
    champion = np.array([0.3, 0.7, 0.9, 0.6])  # contacts rows 1, 2, 3 at 0.5
    # Churner: 0.3 * (CLV - 20) - 5; non-churner: -25.
    # Candidate: 241 + 25 = 266; champion: -25 + 25 - 25 = -25; per row (266 + 25) / 4.
    gain = promotion_metric("expected_profit").gain(
        labels, candidate, 0.5, champion, 0.5, resamples=500, seed=1,
        context=GainContext(rows, SCENARIO))
    assert gain.estimate == pytest.approx(291 / 4)
    values = customer_values(SCENARIO.customer_value, rows)
    by_formula = (expected_profit(labels, candidate, 0.5, values, SCENARIO)
                  - expected_profit(labels, champion, 0.5, values, SCENARIO)) / len(rows)
    assert gain.estimate == pytest.approx(by_formula)
    assert gain.draws.shape == (500,) and 0 < gain.standard_error < np.inf
    assert gain.draws.mean() == pytest.approx(gain.estimate, rel=0.1)
    same = promotion_metric("expected_profit").gain(
        labels, candidate, 0.5, candidate, 0.5, resamples=50, seed=1,
        context=GainContext(rows, SCENARIO))
    assert same.estimate == 0.0 and not same.draws.any()  # paired: identical lists never differ


def _two_lists(n: int = 400) -> tuple[pd.DataFrame, np.ndarray, ScoredModel, ScoredModel]:
    """Two models equally good on F1 and ROC-AUC: one contacts the valuable churners, the
    other the cheap ones."""
    rng = np.random.default_rng(0)
    labels = (rng.random(n) < 0.25).astype(int)
    valuable = rng.random(n) < 0.5
    rows = pd.DataFrame({"MonthlyCharges": np.where(valuable, 100.0, 20.0)})
    stayers = rng.uniform(0.05, 0.3, n)
    rich = np.where(labels == 1, np.where(valuable, 0.9, 0.4), stayers)
    cheap = np.where(labels == 1, np.where(valuable, 0.4, 0.9), stayers)
    return rows, labels, ScoredModel(rich, 0.5), ScoredModel(cheap, 0.5)


def test_the_candidate_contacting_the_profitable_churners_is_promoted():
    rows, labels, rich, cheap = _two_lists()
    decision = decide_promotion(rich, cheap, labels, rows, RULES, economics=SCENARIO)
    assert decision.outcome == PROMOTED, decision.reason
    assert decision.metric == "expected_profit" and "expected profit gain" in decision.reason
    assert decision.gain.low > 0
    assert not decide_promotion(cheap, rich, labels, rows, RULES, economics=SCENARIO).promote
    # On F1 the two lists are about equally right: no reason to promote at once.
    f1_rules = RULES.model_copy(update={"metric": "f1"})
    assert not decide_promotion(rich, cheap, labels, rows, f1_rules).promote
    look = snapshot_look(rich, cheap, labels, RULES, "snapshot", rows=rows, economics=SCENARIO)
    assert look.gain == pytest.approx(decision.gain.estimate) and look.standard_error > 0


def test_expected_profit_without_economics_fails_clearly():
    rows, labels, rich, cheap = _two_lists(40)
    with pytest.raises(ValueError, match="expected_profit needs .*'economics'"):
        decide_promotion(rich, cheap, labels, rows, RULES)
    base = dict(source="x.csv", target="Churn", positive_label="Yes", id_column="id",
                model_name="m")
    with pytest.raises(ConfigError,
                       match="'promotion.metric' expected_profit needs an 'economics' section"):
        parse_dataset_config(base | {"promotion": {"metric": "expected_profit"}}, Path("."))
    economics = {"contact_cost": 5, "incentive_cost": 20, "retention_rate": 0.3,
                 "customer_value": "MonthlyCharges * 12"}
    config = parse_dataset_config(base | {"promotion": {"metric": "expected_profit"},
                                          "economics": economics}, Path("."))
    assert config.campaign_economics() == SCENARIO
