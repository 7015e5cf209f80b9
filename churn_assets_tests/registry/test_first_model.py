"""A first model is judged against its table's own baselines; absolute floors are opt-in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_assets.data.baselines import flag_everyone_f1
from churn_assets.dataset_config import PromotionConfig
from churn_assets.registry.first_model import logistic_comparison
from churn_assets.registry.promotion_rule import ScoredModel, decide_promotion

DEFAULTS = PromotionConfig(resamples=200)


def _table(rows: int, rate: float, signal: float, seed: int = 0):
    """Labels at ``rate`` and scores that rank them with strength ``signal`` (0: chance)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < rate).astype(int)
    scores = 1 / (1 + np.exp(-(signal * labels + rng.normal(0, 1, rows) - 2)))
    return labels, scores, pd.DataFrame({"x": np.arange(rows)})


def _first(labels, scores, rows, threshold=None, rules=DEFAULTS, logistic=None):
    if threshold is None:  # F1-optimal, as tuning picks it on valid
        grid = np.quantile(scores, np.linspace(0.5, 0.99, 50))
        threshold = max(grid, key=lambda t: _f1(labels, scores >= t))
    return decide_promotion(ScoredModel(scores, threshold), None, labels, rows, rules,
                            logistic=logistic)


def _f1(labels, predicted):
    hits = (labels & predicted).sum()
    return 2 * hits / (labels.sum() + predicted.sum())


def test_the_default_floors_are_off_and_the_names_stay():
    assert DEFAULTS.min_f1 is None and DEFAULTS.min_roc_auc is None
    assert DEFAULTS.effective_floors() == {}
    assert PromotionConfig(min_f1=0.5, floors={"recall": 0.2}).effective_floors() == {
        "f1": 0.5, "recall": 0.2}


@pytest.mark.parametrize("rate", [0.05, 0.15, 0.4])
def test_a_good_model_at_any_base_rate_becomes_the_first_champion(rate):
    labels, scores, rows = _table(4000, rate, 1.6)
    decision = _first(labels, scores, rows)
    assert decision.promote, decision.reason
    assert "beats its baselines" in decision.reason and "flagging everyone" in decision.reason
    if rate == 0.05:  # the old Telco-made default floor would have refused it
        assert decision.candidate_f1 < 0.55


def test_a_model_ranking_at_random_is_refused_naming_chance():
    labels, scores, rows = _table(3000, 0.2, 0.0)
    decision = _first(labels, scores, rows)
    assert not decision.promote and decision.outcome == "rejected"
    assert "the baseline of ranking customers at random" in decision.reason


def test_a_threshold_that_flags_nobody_is_refused_naming_flag_everyone():
    labels, scores, rows = _table(3000, 0.3, 1.6)
    decision = _first(labels, scores, rows, threshold=1.01)  # F1 0
    assert not decision.promote
    assert "the baseline of flagging every customer" in decision.reason
    assert f"{flag_everyone_f1(labels.mean()):.4f}" in decision.reason


def test_clearly_worse_than_a_logistic_regression_is_refused_and_a_tie_is_not():
    labels, scores, rows = _table(3000, 0.3, 1.6)
    worse = {"logistic_roc_auc": 0.9, "delta": -0.08, "delta_low": -0.1, "delta_high": -0.05,
             "delta_text": "-0.0800 [-0.1000, -0.0500] (95%, 200 resamples)"}
    decision = _first(labels, scores, rows, logistic=worse)
    assert not decision.promote and "plain logistic regression" in decision.reason
    tie = worse | {"delta": -0.01, "delta_low": -0.03, "delta_high": 0.01}
    assert _first(labels, scores, rows, logistic=tie).promote


def test_opt_in_floors_still_refuse_and_baselines_can_be_switched_off():
    labels, scores, rows = _table(3000, 0.3, 1.6)
    floored = _first(labels, scores, rows, rules=DEFAULTS.model_copy(update={"min_f1": 0.99}))
    assert not floored.promote and "below floor 0.99" in floored.reason
    chance = _table(3000, 0.2, 0.0)
    off = DEFAULTS.model_copy(update={"baselines": False})
    assert _first(*chance, rules=off).promote


def test_logistic_comparison_on_a_model_matrix():
    rng = np.random.default_rng(3)
    rows = 2000
    x = rng.normal(size=(rows, 3))
    y = (rng.random(rows) < 1 / (1 + np.exp(-(2 * x[:, 0] - 1)))).astype(int)
    x[rng.random(rows) < 0.05, 1] = np.nan  # the matrix may hold missing values
    split = np.where(np.arange(rows) < 1200, "train", np.where(np.arange(rows) < 1500,
                                                               "valid", "test"))
    features = pd.DataFrame({"row_id": np.arange(rows).astype(str), "split": split, "label": y,
                             "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})
    test = split == "test"
    noisy = 1 / (1 + np.exp(-(x[test, 0] + rng.normal(0, 2, test.sum()))))
    comparison = logistic_comparison(features, noisy, 0.5, DEFAULTS)
    assert comparison["logistic_roc_auc"] > 0.75
    assert comparison["delta_high"] < -0.02  # the noisy candidate is clearly worse


def test_init_writes_floors_from_the_tables_own_baselines():
    from churn_assets.data.dataset_proposal import propose_dataset
    from churn_assets.generator import generate_customers

    frame = generate_customers(2000, seed=4, churn_rate=0.1)
    proposal = propose_dataset(frame, "x.csv", "Churn", model_name="m")
    rate = (frame["Churn"] == "Yes").mean()
    floors = proposal.config["promotion"]["floors"]
    assert floors["f1"] == pytest.approx(np.ceil(flag_everyone_f1(rate) * 100) / 100)
    assert floors["f1"] < 0.3 and floors["roc_auc"] == 0.6  # not Telco's 0.55
    assert any(r.startswith("promotion.floors f1") for r in proposal.reasons)
