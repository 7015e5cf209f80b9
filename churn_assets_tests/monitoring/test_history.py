"""Snapshot history: records round-trip through dicts and JSON, and flatten into a DataFrame."""

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
    records_to_frame,
)
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


def test_empty_history_gives_an_empty_frame():
    frame = records_to_frame([])
    assert frame.empty and "snapshot_key" in frame


def test_feature_statistics_come_from_a_drift_report():
    reference, current = snapshot(seed=51, rows=600), snapshot(seed=52, rows=600,
                                                               tenure_multiplier=0.5)
    report = detect_drift(reference, current, ["tenure", "MonthlyCharges"], ["Contract"],
                          DriftConfig())
    stats = feature_statistics(report)
    assert set(stats) == {"tenure", "MonthlyCharges", "Contract"}
    assert stats["tenure"]["drifted"] is True and stats["tenure"]["method"] == "ks"
    json.dumps(stats)  # plain types only

