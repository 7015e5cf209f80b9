"""Realized performance of the champion on labeled rows it never trained on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import SplitConfig
from churn_assets.model.intervals import Interval
from churn_assets.monitoring.performance import (
    DecayRule,
    MetricCheck,
    realized_performance,
    rows_unseen_by_champion,
    why_not_evaluable,
)
from churn_assets_tests.monitoring.small_model import SmallChampion, labels, snapshot

FAST = DecayRule(resamples=50)  # the intervals module is tested on its own; keep these fast


def test_unseen_rows_are_those_not_in_the_training_ids():
    ids = pd.Series(["a", "b", "c", "d"])
    assert rows_unseen_by_champion(ids, training_ids=["b", "d", "zz"]).tolist() == [
        True, False, True, False]


def test_ids_compare_as_text():
    assert rows_unseen_by_champion(pd.Series([1, 2, 3]), training_ids=["1", "3"]).tolist() == [
        False, True, False]


def test_without_training_ids_the_hash_split_decides():
    ids = pd.Series([f"id-{i}" for i in range(400)])
    splits = assign_splits(ids, SplitConfig())
    mask = rows_unseen_by_champion(ids, splits=splits)
    assert mask.tolist() == splits.isin(["valid", "test"]).tolist()
    assert 0.2 < mask.mean() < 0.4  # about valid + test = 30%


def test_unseen_rows_need_ids_or_splits():
    with pytest.raises(ValueError, match="training ids or the rows' splits"):
        rows_unseen_by_champion(pd.Series(["a"]))


def test_snapshot_rows_seen_in_training_are_left_out(small_champion: SmallChampion):
    new = snapshot(seed=31, rows=300)
    seen = snapshot(seed=11, rows=4000).head(200)  # the training population's first rows
    mask = rows_unseen_by_champion(pd.concat([new, seen])["customerID"],
                                   small_champion.train_ids)
    assert mask.sum() == 300 - np.isin(new["customerID"], small_champion.train_ids).sum()
    assert not mask[300:].any()


def test_realized_metrics_equal_a_direct_computation(small_champion: SmallChampion):
    frame = snapshot(seed=32, rows=1500)
    rows = frame[rows_unseen_by_champion(frame["customerID"], small_champion.train_ids)]
    y, p = labels(rows), small_champion.probabilities(rows)
    report = realized_performance(y, p, small_champion.threshold, small_champion.reference, FAST)
    predicted = (p >= small_champion.threshold).astype(int)
    assert report.check("f1").interval.estimate == pytest.approx(f1_score(y, predicted))
    assert report.check("roc_auc").interval.estimate == pytest.approx(roc_auc_score(y, p))
    assert report.check("pr_auc").interval.estimate == pytest.approx(
        average_precision_score(y, p))
    assert report.rows == len(rows) and report.positives == y.sum()
    for check in report.checks:
        assert check.interval.low <= check.interval.estimate <= check.interval.high
        assert check.drop == pytest.approx(small_champion.reference[check.metric]
                                           - check.interval.estimate)


def test_intervals_are_seeded(small_champion: SmallChampion):
    frame = snapshot(seed=33, rows=800)
    y, p = labels(frame), small_champion.probabilities(frame)

    def run(seed: int):
        rule = DecayRule(resamples=50, seed=seed)
        return realized_performance(y, p, small_champion.threshold, {}, rule)

    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert first.check("roc_auc").interval != other.check("roc_auc").interval
    assert first.check("roc_auc").interval.estimate == other.check("roc_auc").interval.estimate


def test_unshifted_snapshot_shows_no_decay(small_champion: SmallChampion):
    frame = snapshot(seed=34)
    report = realized_performance(labels(frame), small_champion.probabilities(frame),
                                  small_champion.threshold, small_champion.reference, FAST)
    assert not report.decayed, report.summary()
    assert report.summary().startswith("no performance decay (realized) on 2500")


def test_concept_shift_is_performance_decay(small_champion: SmallChampion):
    frame = snapshot(seed=35, concept_shift=0.5)
    report = realized_performance(labels(frame), small_champion.probabilities(frame),
                                  small_champion.threshold, small_champion.reference, FAST)
    assert report.decayed
    assert set(report.decayed_metrics) == {"f1", "roc_auc"}
    assert report.summary().startswith("performance decay (realized)")
    figures = report.figures()
    assert figures["realized_decay"] == 1.0
    assert figures["realized_f1_high"] < figures["reference_f1"] - 0.02
    assert {"realized_f1", "realized_roc_auc_low", "realized_pr_auc_drop",
            "realized_rows"} <= set(figures)


def interval(estimate: float, low: float, high: float) -> Interval:
    return Interval(estimate, low, high, 0.95, 100)


@pytest.mark.parametrize(("high", "decayed"), [(0.779, True), (0.78, False), (0.9, False)])
def test_decay_means_the_whole_interval_below_reference_minus_margin(high: float, decayed: bool):
    check = MetricCheck("f1", interval(0.7, 0.65, high), reference=0.8, margin=0.02)
    assert check.decayed is decayed
    assert ("not below" not in check.text()) is decayed


def test_metric_without_reference_has_no_verdict():
    check = MetricCheck("pr_auc", interval(0.1, 0.05, 0.15), reference=None, margin=0.0)
    assert not check.decayed and check.drop is None
    assert "no reference" in check.text()


def test_pr_auc_alone_does_not_decide_by_default(small_champion: SmallChampion):
    frame = snapshot(seed=36, rows=800)
    y, p = labels(frame), small_champion.probabilities(frame)
    reference = {"f1": 0.0, "roc_auc": 0.0, "pr_auc": 1.0}
    report = realized_performance(y, p, small_champion.threshold, reference, FAST)
    assert report.check("pr_auc").decayed and not report.decayed
    strict = DecayRule(resamples=50, deciding=("f1", "roc_auc", "pr_auc"))
    assert realized_performance(y, p, small_champion.threshold, reference, strict).decayed


@pytest.mark.parametrize(("y", "reason"), [
    (np.array([0, 1] * 40), "only 80 unseen labeled rows"),
    (np.array([1] * 5 + [0] * 195), "5 churned and 195 retained"),
])
def test_too_few_rows_or_one_class_gives_no_verdict(y: np.ndarray, reason: str):
    assert reason in why_not_evaluable(y)
    with pytest.raises(ValueError, match=reason):
        realized_performance(y, np.linspace(0, 1, y.size), 0.5, {})


def test_unknown_deciding_metric_is_rejected():
    y = np.array([0, 1] * 100)
    with pytest.raises(ValueError, match="accuracy"):
        realized_performance(y, np.linspace(0, 1, y.size), 0.5, {},
                             DecayRule(deciding=("accuracy",)))
