"""The prediction log's newest window of the champion's answers as one more monitored
snapshot for the retraining policy (``retraining_policy.decide``, the one `feature_drift`
uses): drift against the champion's training rows (the existing drift code), its performance
on the logged rows it never trained on (realized where outcomes arrived, else the CBPE
estimate from the logged probabilities), and the facts the policy reads.

The log is never trained on (its rows are requests, not labeled snapshots): the window is
``labeled=False`` for the policy, so drift alone only counts toward the streak of drifted
snapshots (a labeled snapshot completes it), and decay retrains on the latest labeled one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from churn_assets.dataset_config import DriftConfig
from churn_assets.monitoring.drift import DriftReport
from churn_assets.monitoring.history import SnapshotRecord, feature_statistics
from churn_assets.monitoring.online_performance import CHURNED, logged_rows
from churn_assets.monitoring.performance import DecayRule
from churn_assets.monitoring.retraining_policy import (
    RetrainDecision,
    RetrainingPolicy,
    SnapshotFacts,
    decide,
)
from churn_assets.monitoring.snapshot_performance import (
    ChampionFigures,
    SnapshotPerformance,
    snapshot_performance,
)


@dataclass(frozen=True)
class LogWindow:
    version: str
    answered: pd.DataFrame  # the champion's log rows, oldest first
    until: datetime  # the newest answer's time: the window's "snapshot" name

    @property
    def rows(self) -> pd.DataFrame:
        """The raw rows the champion answered (the current data for drift)."""
        return logged_rows(self.answered)

    @property
    def snapshot_key(self) -> str:
        return f"prediction_log until {self.until.isoformat()}"


def champion_window(log: pd.DataFrame, version: str | None, window_rows: int
                    ) -> LogWindow | None:
    """The last ``window_rows`` rows the champion ``version`` answered (None: none)."""
    answered = log[(log["arm"] == "champion") & (log["model_version"] == version)]
    answered = answered.sort_values("logged_at").tail(window_rows)
    if version is None or answered.empty:
        return None
    return LogWindow(version, answered.reset_index(drop=True),
                     pd.Timestamp(answered["logged_at"].iloc[-1]).to_pydatetime())


def window_performance(window: LogWindow, outcomes: pd.Series, unseen: np.ndarray,
                       figures: ChampionFigures, rule: DecayRule) -> SnapshotPerformance:
    """The champion on the window's rows it never trained on, scored by what it answered:
    realized on those with an outcome when there are ``rule.min_rows`` of them, else the
    estimate (no labels needed)."""
    rows = window.answered[unseen]
    labels = rows["customer_id"].astype(str).map(outcomes)
    known = labels.notna().to_numpy()
    if known.sum() >= rule.min_rows:
        labeled = pd.DataFrame({CHURNED: labels[known].astype(int).to_numpy()})
        return snapshot_performance(labeled, CHURNED, 1,
                                    rows.loc[known, "churn_probability"], figures, rule)
    return snapshot_performance(pd.DataFrame(index=range(len(rows))), CHURNED, 1,
                                rows["churn_probability"], figures, rule)


def window_facts(drift: DriftReport, performance: SnapshotPerformance | None) -> SnapshotFacts:
    return SnapshotFacts(
        labeled=False, drift_detected=drift.drift_detected, drifted_share=drift.drifted_share,
        decay=performance.decay if performance else None,
        decay_summary=performance.summary if performance else "", has_champion=True)


def decide_on_window(facts: SnapshotFacts, history: list[SnapshotRecord],
                     last_scheduled: datetime | None, now: datetime, knobs: DriftConfig
                     ) -> RetrainDecision:
    """The retraining policy with the YAML's knobs, as for a snapshot; never forced (the
    YAML's ``retrain_policy: always`` retrains on every snapshot, not on every log window)."""
    policy = RetrainingPolicy(knobs.consecutive_drifted, timedelta(hours=knobs.cooldown_hours),
                              knobs.retrain_on_decay)
    return decide(facts, [r.as_past_snapshot() for r in history], last_scheduled, now, policy)


def window_record(window: LogWindow, drift: DriftReport, performance: SnapshotPerformance | None,
                  decision: RetrainDecision, now: datetime) -> SnapshotRecord:
    """The window's line of the monitoring history (beside the snapshots')."""
    figures = performance.report.figures() if performance and performance.report else {}
    return SnapshotRecord(window.snapshot_key, now, len(window.answered), False,
                          drift.drifted_share, drift.drift_detected, decision.rule,
                          decision.reason, decision.retrain, window.version, figures,
                          feature_statistics(drift))
