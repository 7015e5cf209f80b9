"""One record per monitored snapshot, and what the retraining policy reads from them.

A record is plain data: it round-trips through a JSON-able dict (for asset metadata or an
MLflow artifact) and a pandas DataFrame (for a table asset or a notebook). ``metrics`` holds
the flat figures of ``PerformanceReport.figures()`` (``realized_f1``, ``realized_f1_low``,
``estimated_roc_auc``, ...); ``feature_statistics`` one small dict per feature.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

import pandas as pd

from churn_assets.monitoring.drift import DriftReport
from churn_assets.monitoring.retraining_policy import PastSnapshot

_FEATURE_KEYS = ("method", "statistic", "threshold", "drifted", "psi")
_JSON_COLUMNS = ("feature_statistics", "metrics")


@dataclass(frozen=True)
class SnapshotRecord:
    snapshot_key: str
    time: datetime
    rows: int
    labeled: bool
    drifted_share: float
    drift_detected: bool
    rule: str
    reason: str
    retrained: bool
    champion_version: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    feature_statistics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        data["metrics"] = {k: float(v) for k, v in self.metrics.items()}
        data["feature_statistics"] = {k: dict(v) for k, v in self.feature_statistics.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SnapshotRecord:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown history field(s): {', '.join(unknown)}")
        values = dict(data)
        values["time"] = datetime.fromisoformat(str(values["time"]))
        return cls(**values)

    def as_past_snapshot(self) -> PastSnapshot:
        return PastSnapshot(self.time, self.drift_detected, self.rule, self.retrained)


def feature_statistics(report: DriftReport) -> dict[str, dict[str, Any]]:
    """Per-feature summary of a drift report: method, statistic, threshold, drifted, psi."""
    return {f.feature: {"method": f.method, "statistic": float(f.statistic),
                        "threshold": float(f.threshold), "drifted": bool(f.drifted),
                        "psi": float(f.psi)}
            for f in report.features}


def records_to_frame(records: Iterable[SnapshotRecord]) -> pd.DataFrame:
    """One row per snapshot, oldest first; each metric is its own column (NaN where a
    snapshot lacks it), feature statistics and metrics are also kept as JSON text."""
    rows = []
    for record in sorted(records, key=lambda r: r.time):
        data = record.to_dict()
        flat = {k: v for k, v in data.items() if k not in _JSON_COLUMNS}
        flat["time"] = record.time
        rows.append(flat | dict(data["metrics"])
                    | {c: json.dumps(data[c], sort_keys=True) for c in _JSON_COLUMNS})
    base = [f.name for f in fields(SnapshotRecord)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=base)
    ordered = [c for c in base if c in frame] + sorted(set(frame) - set(base))
    return frame[ordered]

