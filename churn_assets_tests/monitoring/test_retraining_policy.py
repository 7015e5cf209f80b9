"""The retraining policy, as a table: facts + history + clock -> decision and rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from churn_assets.monitoring.retraining_policy import (
    LATEST_LABELED,
    THIS_SNAPSHOT,
    PastSnapshot,
    RetrainingPolicy,
    SnapshotFacts,
    decide,
    drifted_in_a_row,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=30)
HOUR = timedelta(hours=1)

DECAY = "performance decay (realized) on 900 unseen labeled rows: F1 0.41 [0.38, 0.44] ..."
HEALTHY = SnapshotFacts(labeled=True, drift_detected=False, drifted_share=0.1)
DRIFTED = SnapshotFacts(labeled=True, drift_detected=True, drifted_share=0.6)
DECAYED = SnapshotFacts(labeled=True, drift_detected=False, drifted_share=0.2, decay=True,
                        decay_summary=DECAY)
UNLABELED_DRIFTED = SnapshotFacts(labeled=False, drift_detected=True, drifted_share=0.7,
                                  decay=False, decay_summary="no performance decay (estimated)")
UNLABELED_DECAYED = SnapshotFacts(labeled=False, drift_detected=False, drifted_share=0.1,
                                  decay=True, decay_summary="performance decay (estimated) ...")
NO_CHAMPION = SnapshotFacts(labeled=True, drift_detected=False, drifted_share=0.0,
                            has_champion=False)


def past(hours_ago: float, drifted: bool, retrained: bool = False) -> PastSnapshot:
    return PastSnapshot(NOW - hours_ago * HOUR, drifted, "x", retrained)


DRIFTED_BEFORE = (past(5, True),)
TWO_DRIFTED_BEFORE = (past(9, True), past(5, True))


@pytest.mark.parametrize(
    ("name", "facts", "history", "last_retrain", "forced", "retrain", "rule", "train_on"),
    [
        ("decay retrains", DECAYED, (), LONG_AGO, False, True, "performance_decay",
         THIS_SNAPSHOT),
        ("one drifted snapshot, k=2: wait", DRIFTED, (), LONG_AGO, False, False,
         "transient_drift", None),
        ("second drifted in a row, k=2: retrain", DRIFTED, DRIFTED_BEFORE, LONG_AGO, False,
         True, "persistent_drift", THIS_SNAPSHOT),
        ("drift, calm, drift: not consecutive", DRIFTED, (past(9, True), past(5, False)),
         LONG_AGO, False, False, "transient_drift", None),
        ("decay within cooldown: skip", DECAYED, (), NOW - 3 * HOUR, False, False, "cooldown",
         None),
        ("persistent drift within cooldown: skip", DRIFTED, DRIFTED_BEFORE, NOW - 3 * HOUR,
         False, False, "cooldown", None),
        ("forced bypasses cooldown", HEALTHY, (), NOW - 3 * HOUR, True, True, "forced",
         THIS_SNAPSHOT),
        ("no champion trains", NO_CHAMPION, (), NOW - HOUR, False, True, "no_champion",
         THIS_SNAPSHOT),
        ("healthy", HEALTHY, TWO_DRIFTED_BEFORE, LONG_AGO, False, False, "healthy", None),
        ("unlabeled drift never trains", UNLABELED_DRIFTED, TWO_DRIFTED_BEFORE, LONG_AGO,
         False, False, "unlabeled", None),
        ("estimated decay retrains on labeled data", UNLABELED_DECAYED, (), LONG_AGO, False,
         True, "performance_decay", LATEST_LABELED),
        ("estimated decay within cooldown: skip", UNLABELED_DECAYED, (), NOW - HOUR, False,
         False, "cooldown", None),
    ],
)
def test_policy_table(name, facts, history, last_retrain, forced, retrain, rule, train_on):
    decision = decide(facts, history, last_retrain, NOW, RetrainingPolicy(), forced=forced)
    assert (decision.retrain, decision.rule, decision.train_on) == (retrain, rule, train_on), \
        decision.reason


def test_unlabeled_snapshot_never_trains_on_itself():
    for facts in (UNLABELED_DRIFTED, UNLABELED_DECAYED,
                  SnapshotFacts(False, True, 0.9, has_champion=False)):
        for forced in (False, True):
            decision = decide(facts, TWO_DRIFTED_BEFORE, None, NOW, forced=forced)
            assert decision.train_on != THIS_SNAPSHOT


def test_cooldown_reason_says_why_and_when_it_ends():
    decision = decide(DECAYED, (), NOW - 3 * HOUR, NOW)
    assert decision.cooldown_ends == NOW + 21 * HOUR
    assert decision.reason.startswith("performance_decay (performance decay (realized)")
    assert "last retraining was at 2025-03-10 09:00" in decision.reason
    assert "cooldown until 2025-03-11 09:00" in decision.reason


def test_cooldown_counts_retrains_recorded_in_the_history():
    decision = decide(DECAYED, (past(2, False, retrained=True),), None, NOW)
    assert decision.rule == "cooldown"
    assert decide(DECAYED, (past(25, False, retrained=True),), None, NOW).retrain


def test_cooldown_ends_exactly_at_its_length():
    assert decide(DECAYED, (), NOW - timedelta(days=1), NOW).retrain
    short = RetrainingPolicy(cooldown=timedelta(0))
    assert decide(DECAYED, (), NOW, NOW, short).retrain


def test_drift_streak_restarts_after_a_retraining():
    history = (past(9, True), past(5, True, retrained=True))
    decision = decide(DRIFTED, history, None, NOW, RetrainingPolicy(cooldown=timedelta(0)))
    assert (decision.rule, decision.drifted_in_a_row) == ("transient_drift", 1)
    assert "in 1 of the 2 consecutive snapshots needed" in decision.reason


def test_k_is_configurable():
    assert decide(DRIFTED, (), None, NOW, RetrainingPolicy(consecutive_drifted=1)).retrain
    three = RetrainingPolicy(consecutive_drifted=3)
    assert not decide(DRIFTED, DRIFTED_BEFORE, None, NOW, three).retrain
    assert decide(DRIFTED, TWO_DRIFTED_BEFORE, None, NOW, three).rule == "persistent_drift"


def test_decay_can_be_switched_off():
    decision = decide(DECAYED, (), None, NOW, RetrainingPolicy(retrain_on_decay=False))
    assert (decision.retrain, decision.rule) == (False, "healthy")


def test_decay_wins_over_drift_and_the_reason_carries_the_figures():
    facts = SnapshotFacts(True, True, 0.6, decay=True, decay_summary=DECAY)
    decision = decide(facts, DRIFTED_BEFORE, None, NOW)
    assert decision.rule == "performance_decay" and decision.reason == DECAY


def test_drifted_in_a_row_ignores_history_order():
    history = (past(1, True), past(3, False), past(2, True))
    assert drifted_in_a_row(history, True) == 3
    assert drifted_in_a_row(history, False) == 0


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="at least 1"):
        RetrainingPolicy(consecutive_drifted=0)
    with pytest.raises(ValueError, match="negative"):
        RetrainingPolicy(cooldown=timedelta(hours=-1))

