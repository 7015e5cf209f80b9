"""Small gains go on trial; only a gain whose lower bound clears the at-once margin moves
@champion at once (re-seeded retrains differ by a few thousandths on fresh rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_assets.dataset_config import PromotionConfig
from churn_assets.registry.promotion_rule import ScoredModel, decide_promotion, trial_rule

RULES = PromotionConfig(resamples=300, seed=1)
ROWS = 20_000


def _pair(lift: float):
    """A champion and a candidate that ranks churners better by ``lift`` (in logit units)."""
    rng = np.random.default_rng(0)
    labels = (rng.random(ROWS) < 0.25).astype(int)
    base = 1.2 * labels + rng.normal(0, 1, ROWS)
    better = base + lift * labels + rng.normal(0, 0.05, ROWS)
    sigmoid = lambda z: 1 / (1 + np.exp(-(z - 1.5)))  # noqa: E731
    return (ScoredModel(sigmoid(better), 0.5), ScoredModel(sigmoid(base), 0.5), labels,
            pd.DataFrame({"x": np.arange(ROWS)}))


def _decide(lift: float, rules: PromotionConfig = RULES):
    candidate, champion, labels, rows = _pair(lift)
    return decide_promotion(candidate, champion, labels, rows, rules)


def test_the_default_margin_is_half_the_metrics_typical_gain():
    assert RULES.at_once_bar() == pytest.approx(0.005)
    assert RULES.model_copy(update={"metric": "f1"}).at_once_bar() == pytest.approx(0.015)
    assert RULES.model_copy(update={"min_delta": 0.02}).at_once_bar() == pytest.approx(0.025)
    assert RULES.model_copy(update={"at_once_margin": 0.0}).at_once_bar() == 0.0


def test_a_small_conclusive_gain_goes_on_trial_not_to_champion():
    decision = _decide(0.02)  # about +0.0035 ROC-AUC: real, but below the margin
    assert 0 < decision.gain.low <= 0.005
    assert not decision.promote and decision.outcome == "challenger"
    assert "not above min_delta 0 and the at-once margin 0.005" in decision.reason
    assert "on trial as @challenger" in decision.reason
    assert trial_rule(RULES).margin == 0.0  # the trial still promotes any real gain
    # Without the margin, as before: promoted at once.
    assert _decide(0.02, RULES.model_copy(update={"at_once_margin": 0.0})).promote


def test_a_clear_gain_is_still_promoted_at_once():
    decision = _decide(0.1)  # about +0.019 ROC-AUC
    assert decision.gain.low > 0.005
    assert decision.promote and "lower bound above min_delta 0 and the at-once margin" \
        in decision.reason
