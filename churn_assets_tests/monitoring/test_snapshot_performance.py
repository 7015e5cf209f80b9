"""Which snapshot rows the champion never saw, and realized vs estimated performance on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from churn_assets.data.splits import assign_splits
from churn_assets.dataset_config import SplitConfig
from churn_assets.model.calibration import fit_calibrator
from churn_assets.monitoring.performance import DecayRule
from churn_assets.monitoring.snapshot_performance import (
    ChampionFigures,
    snapshot_performance,
    unseen_rows,
)
from churn_assets_tests.monitoring.small_model import SmallChampion, labels, snapshot

FAST = DecayRule(resamples=200)


def figures(champion: SmallChampion, calibrated: bool = True) -> ChampionFigures:
    calibrator = None
    if calibrated:
        calibrator = fit_calibrator(labels(champion.valid),
                                    champion.probabilities(champion.valid))
    return ChampionFigures(champion.threshold, champion.reference, calibrator)


def test_a_complete_reference_decides_by_id_a_sample_by_the_hash_split():
    ids = pd.Series(["a", "b", "c", "new-1", "new-2"])
    splits = assign_splits(ids, SplitConfig())
    complete = unseen_rows(ids, splits, ["a", "b", "c"], reference_complete=True)
    assert complete.tolist() == [False, False, False, True, True]
    # A sample of the train rows proves nothing about absent ids: valid/test rows only.
    sampled = unseen_rows(ids, splits, ["a"], reference_complete=False)
    assert sampled.tolist() == splits.isin(["valid", "test"]).tolist()


def test_labeled_rows_give_realized_figures_equal_to_a_direct_computation(
        small_champion: SmallChampion):
    rows = snapshot(seed=40, rows=1500)
    p = small_champion.probabilities(rows)

    result = snapshot_performance(rows, "Churn", "Yes", p, figures(small_champion), FAST)

    assert result.report is not None and result.report.kind == "realized"
    direct = f1_score(labels(rows), (p >= small_champion.threshold).astype(int))
    assert result.report.check("f1").interval.estimate == pytest.approx(direct)
    assert result.evaluated_rows == 1500 and result.decay is False


def test_unlabeled_rows_give_estimates_and_need_a_calibrator(small_champion: SmallChampion):
    rows = snapshot(seed=41, rows=1500)
    p = small_champion.probabilities(rows)
    unlabeled = rows.drop(columns=["Churn"])

    estimated = snapshot_performance(unlabeled, "Churn", "Yes", p, figures(small_champion),
                                     FAST)
    realized = snapshot_performance(rows, "Churn", "Yes", p, figures(small_champion), FAST)
    without = snapshot_performance(unlabeled, "Churn", "Yes", p,
                                   figures(small_champion, calibrated=False), FAST)

    assert estimated.report is not None and estimated.report.kind == "estimated"
    interval = realized.report.check("f1").interval
    assert interval.low <= estimated.report.check("f1").interval.estimate <= interval.high
    assert without.report is None and "no calibrator" in without.note


def test_too_few_unseen_rows_give_no_verdict_and_say_why(small_champion: SmallChampion):
    rows = snapshot(seed=42, rows=50)
    p = small_champion.probabilities(rows)
    result = snapshot_performance(rows, "Churn", "Yes", p, figures(small_champion), FAST)
    assert result.report is None and result.decay is None
    assert "only 50 unseen labeled rows" in result.summary


def test_champion_figures_come_from_the_run_metrics():
    metrics = {"decision_threshold": 0.31, "test_f1": 0.6, "test_roc_auc": 0.8,
               "valid_f1": 0.7}
    champion = ChampionFigures.from_run_metrics(metrics, None)
    assert champion.threshold == 0.31 and champion.reference == {"f1": 0.6, "roc_auc": 0.8}
    with pytest.raises(ValueError, match="decision_threshold"):
        ChampionFigures.from_run_metrics({"test_f1": 0.6}, None)
    assert np.isclose(champion.threshold, 0.31)
