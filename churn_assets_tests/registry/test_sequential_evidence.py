"""The challenger trial's sequential rule on synthetic paired score streams, and the test
split's per-look error budget.

A stream is a run of labeled snapshots on which two models score the same customers; each
snapshot's paired ROC-AUC gain and standard error come from the package's own bootstrap
(``promotion_rule.snapshot_look``), exactly as in the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from churn_assets.dataset_config import PromotionConfig
from churn_assets.registry.promotion_rule import ScoredModel, snapshot_look, trial_rule
from churn_assets.registry.sequential_evidence import (
    CONTINUE,
    PROMOTED,
    RETIRED,
    Look,
    TrialRule,
    accumulate,
    boundary,
    judge_trial,
    log_mixture_ratio,
    look_error,
    looks_from_json,
    looks_to_json,
    split_fingerprint,
)

SETTINGS = PromotionConfig(resamples=200, trial_alpha=0.05, trial_max_snapshots=6)
SNAPSHOT_ROWS = 600


def snapshot(rng: np.random.Generator, champion_signal: float, challenger_signal: float):
    """Labels and two models' scores; the models share the customers, not their noise."""
    labels = (rng.random(SNAPSHOT_ROWS) < 0.27).astype(int)
    base = rng.normal(size=SNAPSHOT_ROWS)  # what both models see of a customer

    def model(signal: float) -> ScoredModel:
        logit = signal * (2 * labels - 1) + 0.7 * base + rng.normal(size=SNAPSHOT_ROWS) - 1
        return ScoredModel(1 / (1 + np.exp(-logit)), 0.5)

    return labels, model(champion_signal), model(challenger_signal)


def run_stream(seed: int, champion_signal: float, challenger_signal: float,
               settings: PromotionConfig = SETTINGS):
    rng, looks = np.random.default_rng(seed), []
    for number in range(1, settings.trial_max_snapshots + 1):
        labels, champion, challenger = snapshot(rng, champion_signal, challenger_signal)
        looks.append(snapshot_look(challenger, champion, labels, settings, f"s{number}"))
        verdict = judge_trial(looks, trial_rule(settings), "ROC-AUC")
        if verdict.decision != CONTINUE:
            return verdict, number
    raise AssertionError("a trial must end by max_snapshots")


def test_equally_good_challenger_is_promoted_at_most_at_the_stated_rate() -> None:
    streams = 200
    verdicts = [run_stream(seed, 1.0, 1.0)[0] for seed in range(streams)]
    rate = sum(v.decision == PROMOTED for v in verdicts) / streams
    print(f"null streams promoted: {rate:.3f} of {streams} (alpha {SETTINGS.trial_alpha})")
    # alpha plus two binomial standard errors at alpha: the guarantee, with sampling slack.
    assert rate <= SETTINGS.trial_alpha + 2 * math.sqrt(0.05 * 0.95 / streams)
    assert all(v.decision == RETIRED for v in verdicts if v.decision != PROMOTED)


def test_really_better_challenger_is_promoted_within_a_few_snapshots() -> None:
    outcomes = [run_stream(seed, 0.8, 1.2) for seed in range(40)]
    promoted = [used for verdict, used in outcomes if verdict.decision == PROMOTED]
    assert len(promoted) >= 36  # >= 90 %
    assert np.median(promoted) <= 2
    verdict, _ = outcomes[0]
    assert verdict.reason.startswith("promoted: ROC-AUC")
    assert verdict.evidence.low > 0 and verdict.evidence.always_valid_p < 0.05


def test_clearly_worse_challenger_is_retired_as_conclusively_not_better() -> None:
    verdict, used = run_stream(3, 1.2, 0.6)
    assert verdict.decision == RETIRED and "conclusively no gain" in verdict.reason
    assert used < SETTINGS.trial_max_snapshots and verdict.evidence.high < 0


def test_undecided_trial_is_retired_after_max_snapshots() -> None:
    rule = TrialRule(alpha=0.05, margin=0.0, scale=0.01, max_looks=2)
    tiny = [Look("a", 500, 0.001, 0.02), Look("b", 500, -0.001, 0.02)]
    assert judge_trial(tiny[:1], rule).decision == CONTINUE
    verdict = judge_trial(tiny, rule)
    assert verdict.decision == RETIRED and "still inconclusive after 2" in verdict.reason


def test_gaussian_streams_keep_the_boundary_valid_under_continuous_peeking() -> None:
    """The boundary's arithmetic: 20,000 streams of 20 exactly normal looks at zero gain,
    each judged after every look; the share ever promoted must stay below alpha."""
    rng = np.random.default_rng(0)
    rule = TrialRule(alpha=0.05, margin=0.0, scale=0.01, max_looks=20)
    errors = rng.uniform(0.005, 0.02, size=20)  # each look's standard error, every stream
    gains = rng.normal(0, errors, size=(20_000, 20))
    information = np.cumsum(1 / errors ** 2)
    pooled = np.cumsum(gains / errors ** 2, axis=1) / information
    radius = np.array([boundary(v, rule.scale, rule.alpha) / v for v in information])
    promoted = (pooled - radius > 0).any(axis=1).mean()
    retired = (pooled + radius < 0).any(axis=1).mean()
    print(f"ever promoted {promoted:.4f}, ever retired {retired:.4f} (alpha {rule.alpha})")
    assert promoted <= rule.alpha and retired <= rule.alpha
    # The vectorised boundary is the module's: one stream checked through accumulate().
    looks = [Look(str(i), 1, float(g), float(e)) for i, (g, e) in
             enumerate(zip(gains[0], errors, strict=True))]
    evidence = accumulate(looks, rule)
    assert evidence.gain == pytest.approx(pooled[0, -1])
    assert evidence.low == pytest.approx((pooled[0] - radius).max())  # the intersection
    assert evidence.high == pytest.approx((pooled[0] + radius).min())
    # Looking at a fixed one-sided 95 % bound after every look would promote far more often.
    assert (pooled > 1.645 / np.sqrt(information)).any(axis=1).mean() > 2 * rule.alpha


def test_one_sided_bound_is_where_the_mixture_ratio_reaches_one_over_alpha() -> None:
    information, scale, alpha = 1 / 0.003 ** 2, 0.01, 0.05
    evidence = boundary(information, scale, alpha)
    assert log_mixture_ratio(evidence, information, scale) == pytest.approx(math.log(20))
    # Narrower than the two-sided mixture boundary at the same alpha, wider than a fixed
    # one-sided 95 % bound (1.645 standard errors) that is valid for one look only.
    spread = information * scale ** 2
    two_sided = math.sqrt((1 + spread) / (information * spread)
                          * (2 * math.log(1 / alpha) + math.log(1 + spread)))
    assert 1.645 * 0.003 < evidence / information < two_sided


def test_evidence_only_tightens_a_weak_look_after_a_strong_one_undoes_nothing() -> None:
    rule = TrialRule(alpha=0.05, margin=0.0, scale=0.01)
    strong = Look("s1", 600, 0.03, 0.008)
    weak = [Look(f"s{n}", 600, -0.01, 0.02) for n in range(2, 5)]
    path = [accumulate([strong, *weak[:n]], rule) for n in range(len(weak) + 1)]
    assert [e.looks for e in path] == [1, 2, 3, 4]
    for before, after in zip(path, path[1:], strict=False):
        assert after.low >= before.low and after.high <= before.high
        assert after.always_valid_p <= before.always_valid_p
    # The pooled gain itself does move back: only the bounds and p keep what was shown.
    assert path[-1].gain < path[0].gain
    assert path[-1].always_valid_p == pytest.approx(
        min(1.0, math.exp(-path[0].log_likelihood_ratio)))


def test_test_split_budget_is_spent_once_over_any_number_of_looks() -> None:
    assert sum(look_error(0.025, k) for k in range(1, 100_000)) == pytest.approx(0.025, rel=1e-4)
    assert look_error(0.025, 1) > look_error(0.025, 2) > look_error(0.025, 10)
    with pytest.raises(ValueError):
        look_error(0.025, 0)
    assert split_fingerprint(["b", "a", 3]) == split_fingerprint([3, "a", "b"])
    assert split_fingerprint(["a"]) != split_fingerprint(["a", "b"])


def test_looks_round_trip_through_a_tag() -> None:
    looks = [Look("s3://b/k.csv", 700, 0.0123, 0.004, "2026-12-01T08:00:00+00:00")]
    assert looks_from_json(looks_to_json(looks)) == looks
    assert looks_from_json(None) == [] and looks_from_json("") == []
