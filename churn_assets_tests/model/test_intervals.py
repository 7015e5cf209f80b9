"""Bootstrap intervals: seeded, centred on the estimate, paired differences cancel shared noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from churn_assets.model.intervals import (
    _draws,
    metric_interval,
    paired_delta_interval,
    stratified_resamples,
)


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = (rng.random(800) < 0.3).astype(int)
    probabilities = np.clip(0.3 + 0.35 * (labels - 0.3) + rng.normal(0, 0.2, 800), 0, 1)
    return labels, probabilities


def test_resamples_keep_class_counts(scored):
    labels, _ = scored
    indices = stratified_resamples(labels, resamples=20, seed=1)
    assert indices.shape == (20, labels.size)
    assert (labels[indices].sum(axis=1) == labels.sum()).all()


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
    indices = stratified_resamples(labels, resamples=5, seed=2)
    f1 = _draws("f1", labels, probabilities, predictions, indices)
    auc = _draws("roc_auc", labels, probabilities, predictions, indices)
    for row, i in enumerate(indices):
        assert f1[row] == pytest.approx(f1_score(labels[i], predictions[i]), abs=1e-12)
        assert auc[row] == pytest.approx(roc_auc_score(labels[i], probabilities[i]), abs=1e-12)
    nobody = np.zeros_like(predictions)  # no predicted positive: F1 is 0, as zero_division=0
    assert (_draws("f1", labels, probabilities, nobody, indices) == 0).all()
