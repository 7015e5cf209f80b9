"""Snapshot history: records round-trip through dicts, JSON and DataFrames, and fold into the
retraining policy's inputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from churn_assets.dataset_config import DriftConfig
from churn_assets.monitoring.drift import detect_drift
from churn_assets.monitoring.history import (
    SnapshotRecord,
    feature_statistics,
    feature_statistics_frame,
    frame_to_records,
    policy_inputs,
    records_to_frame,
)
from churn_assets.monitoring.retraining_policy import SnapshotFacts, decide
from churn_assets_tests.monitoring.small_model import snapshot

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def record(day: int, drifted: bool, retrained: bool = False, labeled: bool = True,
           **metrics: float) -> SnapshotRecord:
    return SnapshotRecord(
        snapshot_key=f"landing/day{day}.csv", time=T0 + day * DAY, rows=1000 + day,
        labeled=labeled, drifted_share=0.6 if drifted else 0.1, drift_detected=drifted,
        rule="persistent_drift" if retrained else "healthy", reason=f"day {day}",
        retrained=retrained, champion_version="3" if day else None, metrics=metrics,
        feature_statistics={"tenure": {"method": "ks", "statistic": 0.01, "threshold": 0.05,
                                       "drifted": drifted, "psi": 0.2}},
    )


HISTORY = [
    record(0, False, realized_f1=0.66, realized_f1_low=0.64, realized_f1_high=0.69),
    record(1, True, labeled=False, estimated_f1=0.65),
    record(2, True, retrained=True, realized_f1=0.41),
    record(3, True),
]


def test_record_survives_json():
    for original in HISTORY:
        text = json.dumps(original.to_dict())
        assert SnapshotRecord.from_dict(json.loads(text)) == original


def test_unknown_fields_are_refused():
    data = HISTORY[0].to_dict() | {"colour": "red"}
    with pytest.raises(ValueError, match="colour"):
        SnapshotRecord.from_dict(data)


def test_frame_has_one_row_per_snapshot_and_a_column_per_metric():
    frame = records_to_frame(reversed(HISTORY))
    assert frame["snapshot_key"].tolist() == [r.snapshot_key for r in HISTORY]  # oldest first
    assert {"realized_f1", "realized_f1_low", "estimated_f1", "drifted_share"} <= set(frame)
    assert frame["realized_f1"].tolist()[0] == 0.66
    assert pd.isna(frame["realized_f1"].tolist()[1])
    assert frame["estimated_f1"].tolist()[1] == 0.65


def test_frame_round_trips_to_records():
    assert frame_to_records(records_to_frame(HISTORY)) == HISTORY


def test_frame_round_trips_through_parquet(tmp_path):
    path = tmp_path / "history.parquet"
    records_to_frame(HISTORY).to_parquet(path)
    assert frame_to_records(pd.read_parquet(path)) == HISTORY


def test_empty_history_gives_an_empty_frame():
    frame = records_to_frame([])
    assert frame.empty and "snapshot_key" in frame
    assert frame_to_records(frame) == []


def test_feature_statistics_come_from_a_drift_report():
    reference, current = snapshot(seed=51, rows=600), snapshot(seed=52, rows=600,
                                                               tenure_multiplier=0.5)
    report = detect_drift(reference, current, ["tenure", "MonthlyCharges"], ["Contract"],
                          DriftConfig())
    stats = feature_statistics(report)
    assert set(stats) == {"tenure", "MonthlyCharges", "Contract"}
    assert stats["tenure"]["drifted"] is True and stats["tenure"]["method"] == "ks"
    json.dumps(stats)  # plain types only
    long = feature_statistics_frame([record(0, False)])
    assert long.columns.tolist() == ["snapshot_key", "time", "feature", "method", "statistic",
                                     "threshold", "drifted", "psi"]


def test_policy_inputs_fold_streak_and_last_retrain():
    inputs = policy_inputs(HISTORY)
    assert inputs.last_retrain == T0 + 2 * DAY
    assert inputs.drifted_in_a_row == 1  # day 3 only: day 2 retrained
    assert policy_inputs(HISTORY[:2]).drifted_in_a_row == 1
    assert policy_inputs(HISTORY[:3]).drifted_in_a_row == 0
    assert policy_inputs([]).last_retrain is None


def test_history_drives_the_policy():
    """Day 3 drifted after a retraining on day 2; day 4 drifts again: k=2 is reached, and
    the cooldown since day 2 is over."""
    inputs = policy_inputs(HISTORY)
    facts = SnapshotFacts(labeled=True, drift_detected=True, drifted_share=0.55)
    decision = decide(facts, inputs.history, inputs.last_retrain, T0 + 4 * DAY)
    assert (decision.retrain, decision.rule, decision.drifted_in_a_row) == (
        True, "persistent_drift", 2)
    soon = decide(facts, inputs.history, inputs.last_retrain, T0 + 2 * DAY + timedelta(hours=5))
    assert soon.rule == "cooldown"
