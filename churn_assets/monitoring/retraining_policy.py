"""Whether a new snapshot must retrain the model: the policy in one pure function."""

from __future__ import annotations

from dataclasses import dataclass

from churn_assets.monitoring.drift import DriftReport


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    reason: str


def decide_retraining(report: DriftReport | None, policy: str) -> RetrainDecision:
    """``report`` is None when there is no champion to compare against."""
    if report is None:
        return RetrainDecision(True, "no champion yet: train the first one")
    share = f"{report.drifted_share:.0%} of features drifted"
    if policy == "always":
        return RetrainDecision(True, f"policy 'always' retrains on every snapshot ({share})")
    if report.drift_detected:
        return RetrainDecision(True, f"drift detected: {share}")
    return RetrainDecision(False, f"no drift: {share}, below the dataset-level threshold")
