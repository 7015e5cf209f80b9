"""The retraining policy: what a snapshot's drift result asks for."""

from __future__ import annotations

import pytest

from churn_assets.monitoring.drift import DriftReport
from churn_assets.monitoring.retraining_policy import decide_retraining


def report(share: float, detected: bool) -> DriftReport:
    return DriftReport(features=(), drifted_share=share, drift_detected=detected)


def test_no_champion_always_trains():
    decision = decide_retraining(None, "on_drift")
    assert decision.retrain and "no champion" in decision.reason


@pytest.mark.parametrize(("detected", "expected"), [(True, True), (False, False)])
def test_on_drift_policy_follows_the_drift_verdict(detected: bool, expected: bool):
    decision = decide_retraining(report(0.6 if detected else 0.1, detected), "on_drift")
    assert decision.retrain is expected
    assert ("60%" if detected else "10%") in decision.reason


def test_always_policy_retrains_without_drift():
    decision = decide_retraining(report(0.0, False), "always")
    assert decision.retrain and "always" in decision.reason
