"""Bootstrap intervals: seeded, centred on the estimate, paired differences cancel shared noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from churn_assets.model import intervals
from churn_assets.model.intervals import (
    METRICS,
    _Block,
    _Scored,
    metric_interval,
    metric_intervals,
    paired_delta_interval,
    stratified_counts,
)


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = (rng.random(800) < 0.3).astype(int)
    probabilities = np.clip(0.3 + 0.35 * (labels - 0.3) + rng.normal(0, 0.2, 800), 0, 1)
    return labels, probabilities


def test_resamples_keep_class_counts_in_every_block(scored, monkeypatch):
    labels, _ = scored
    monkeypatch.setattr(intervals, "BLOCK_CELLS", 7 * labels.size)  # blocks of 7 resamples
    blocks = list(stratified_counts(labels, resamples=20, seed=1))
    assert [len(b) for b in blocks] == [7, 7, 6]
    counts = np.concatenate(blocks)
    assert (counts @ labels == labels.sum()).all()
    assert (counts @ (1 - labels) == (1 - labels).sum()).all()
    assert len({c.tobytes() for c in counts}) == 20  # the blocks continue one random stream


def test_metric_interval_is_seeded_and_contains_the_estimate(scored):
    labels, probabilities = scored
    first = metric_interval("roc_auc", labels, probabilities, 0.5, resamples=200, seed=3)
    again = metric_interval("roc_auc", labels, probabilities, 0.5, resamples=200, seed=3)
    assert first == again
    assert first.estimate == pytest.approx(roc_auc_score(labels, probabilities))
    assert first.low < first.estimate < first.high
    f1 = metric_interval("f1", labels, probabilities, 0.5, resamples=200, seed=3)
    assert f1.estimate == pytest.approx(f1_score(labels, probabilities >= 0.5))


def test_same_model_gives_a_zero_width_paired_interval(scored):
    labels, probabilities = scored
    delta = paired_delta_interval("f1", labels, probabilities, 0.5, probabilities, 0.5,
                                  resamples=100, seed=0)
    assert (delta.estimate, delta.low, delta.high) == (0.0, 0.0, 0.0)
    assert not delta.excludes_zero()


def test_clearly_better_model_has_an_interval_above_zero(scored):
    labels, probabilities = scored
    noisy = np.clip(probabilities + np.random.default_rng(5).normal(0, 0.3, labels.size), 0, 1)
    delta = paired_delta_interval("roc_auc", labels, probabilities, 0.5, noisy, 0.5,
                                  resamples=200, seed=0)
    assert delta.low > 0 and delta.excludes_zero()


def test_one_class_and_unknown_metric_are_refused(scored):
    labels, probabilities = scored
    with pytest.raises(ValueError, match="both classes"):
        metric_interval("f1", np.zeros(10, int), np.zeros(10), 0.5)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        metric_interval("auc", labels, probabilities, 0.5)


def test_vectorised_draws_equal_sklearn_on_each_resample(scored):
    labels, probabilities = scored
    probabilities = np.round(probabilities, 2)  # ties, which ROC-AUC must count as half
    predictions = (probabilities >= 0.4).astype(int)
    [counts] = stratified_counts(labels, resamples=5, seed=2)
    model = _Scored.of(labels, probabilities, predictions)
    block = _Block(model, counts)
    draws = {metric: METRICS[metric].draws(block) for metric in ("f1", "roc_auc", "pr_auc")}
    for row, drawn in enumerate(counts.astype(int)):
        i = np.repeat(np.arange(labels.size), drawn)  # the resample as rows
        assert draws["f1"][row] == pytest.approx(f1_score(labels[i], predictions[i]), abs=1e-12)
        assert draws["roc_auc"][row] == pytest.approx(
            roc_auc_score(labels[i], probabilities[i]), abs=1e-12)
        assert draws["pr_auc"][row] == pytest.approx(
            average_precision_score(labels[i], probabilities[i]), abs=1e-12)
    nobody = _Scored.of(labels, probabilities, np.zeros_like(predictions))
    assert (METRICS["f1"].draws(_Block(nobody, counts)) == 0).all()  # as sklearn's zero_division=0


@pytest.mark.parametrize("metric", ["roc_auc", "f1"])
def test_subsampled_interval_matches_the_full_bootstrap(metric):
    """Above max_rows the draws come from a subsample, rescaled by sqrt(m / n): the interval
    is about as wide as the full bootstrap's, around the same all-rows estimate."""
    rng = np.random.default_rng(5)
    labels = (rng.random(40_000) < 0.27).astype(int)
    scores = np.clip(0.27 + 0.25 * (labels - 0.27) + rng.normal(0, 0.2, labels.size), 0, 1)
    full = metric_interval(metric, labels, scores, 0.4, resamples=300, max_rows=None)
    sub = metric_interval(metric, labels, scores, 0.4, resamples=300, max_rows=8_000)
    assert sub.estimate == full.estimate
    assert sub.low < sub.estimate < sub.high
    width_full, width_sub = full.high - full.low, sub.high - sub.low
    assert width_sub == pytest.approx(width_full, rel=0.2)
    assert abs((sub.low + sub.high) / 2 - (full.low + full.high) / 2) < 0.25 * width_full


@pytest.mark.parametrize("max_rows", [None, 300])
def test_intervals_from_shared_resamples_equal_one_bootstrap_per_metric(scored, max_rows):
    """One set of draw counts for all metrics (the training step's f1 + roc_auc, monitoring's
    four) gives exactly the intervals of separate calls, with or without the subsample."""
    labels, probabilities = scored
    names = tuple(METRICS)  # every bootstrapped metric
    shared = metric_intervals(names, labels, probabilities, 0.4, resamples=150, seed=9,
                              max_rows=max_rows)
    assert list(shared) == list(names)
    for name in names:
        assert shared[name] == metric_interval(name, labels, probabilities, 0.4, resamples=150,
                                               seed=9, max_rows=max_rows)
