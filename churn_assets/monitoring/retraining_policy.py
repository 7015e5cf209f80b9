"""Whether a new snapshot must retrain the champion: a policy a person can read.

Rules, checked in this order (the first that applies decides; ``rule`` names it):

1. ``no_champion``      no champion yet: train one.
2. ``forced``           a person (or run config) asked for a retrain: retrain now, cooldown
                        ignored.
3. a trigger, if any:
   ``performance_decay`` the champion is measurably worse than at registration: realized
                        decay on a labeled snapshot, or estimated (CBPE) decay on an
                        unlabeled one (``policy.retrain_on_decay``).
   ``persistent_drift``  dataset drift on this snapshot and the ``k - 1`` before it, counted
                        since the last retraining (``policy.consecutive_drifted``).
4. ``cooldown``          a trigger fired, but the last retraining is more recent than
                        ``policy.cooldown``: skip, and say when the cooldown ends.
5. otherwise no retrain: ``transient_drift`` (drift not yet persistent), ``unlabeled`` (an
   unlabeled snapshot with nothing wrong), ``healthy``.

Unlabeled snapshots never train on themselves. Estimated decay on one still retrains, on
the latest *labeled* data (``train_on="latest_labeled"``): the issue asks to act on
estimated decay, the promotion rule keeps the champion unless the new model is
significantly better, and the cooldown bounds the cost. Persistent drift on unlabeled data
does not retrain: without labels from the new population a retrain cannot learn it, and the
estimate says the champion still performs (rule ``unlabeled``, reason says so).
The weekly schedule retrains regardless and does not go through this policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

THIS_SNAPSHOT, LATEST_LABELED = "this_snapshot", "latest_labeled"


@dataclass(frozen=True)
class RetrainingPolicy:
    consecutive_drifted: int = 2  # k: drifted snapshots in a row before drift alone retrains
    cooldown: timedelta = timedelta(days=1)
    retrain_on_decay: bool = True

    def __post_init__(self) -> None:
        if self.consecutive_drifted < 1:
            raise ValueError("consecutive_drifted must be at least 1")
        if self.cooldown < timedelta(0):
            raise ValueError("cooldown cannot be negative")


@dataclass(frozen=True)
class SnapshotFacts:
    """What monitoring found on the snapshot being decided. ``decay`` is the realized verdict
    on a labeled snapshot, the estimated one on an unlabeled snapshot, None when it could
    not be evaluated; ``decay_summary`` is its one-line summary with the figures."""

    labeled: bool
    drift_detected: bool
    drifted_share: float
    decay: bool | None = None
    decay_summary: str = ""
    has_champion: bool = True


@dataclass(frozen=True)
class PastSnapshot:
    """One earlier snapshot's outcome, as the history keeps it."""

    time: datetime
    drift_detected: bool
    rule: str
    retrained: bool


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    rule: str
    reason: str
    train_on: str | None = None  # THIS_SNAPSHOT or LATEST_LABELED when retrain is True
    cooldown_ends: datetime | None = None
    drifted_in_a_row: int = 0  # including this snapshot


def drifted_in_a_row(history: Sequence[PastSnapshot], drifted_now: bool) -> int:
    """Consecutive drifted snapshots ending with this one, not counting across a retraining
    (after one, drift is measured against a new champion's reference)."""
    if not drifted_now:
        return 0
    count = 1
    for past in sorted(history, key=lambda s: s.time, reverse=True):
        if past.retrained or not past.drift_detected:
            break
        count += 1
    return count


def decide(
    facts: SnapshotFacts, history: Sequence[PastSnapshot], last_retrain: datetime | None,
    now: datetime, policy: RetrainingPolicy = RetrainingPolicy(), forced: bool = False,
) -> RetrainDecision:
    """Apply the rules of the module docstring. Datetimes must all be aware (UTC) or all
    naive. ``last_retrain`` is the latest retraining known from any source (drift sensor or
    weekly schedule); retrained entries of ``history`` count too."""
    retrained_times = [s.time for s in history if s.retrained]
    if last_retrain is not None:
        retrained_times.append(last_retrain)
    last = max(retrained_times, default=None)
    train_on = THIS_SNAPSHOT if facts.labeled else LATEST_LABELED
    streak = drifted_in_a_row(history, facts.drift_detected)
    share = f"{facts.drifted_share:.0%} of features drifted"

    def decision(retrain: bool, rule: str, reason: str, **extra) -> RetrainDecision:
        return RetrainDecision(retrain, rule, reason, train_on if retrain else None,
                               drifted_in_a_row=streak, **extra)

    if not facts.has_champion:
        return decision(True, "no_champion", "no champion yet: train the first one")
    if forced:
        return decision(True, "forced", f"retraining forced ({share})")

    trigger: tuple[str, str] | None = None
    if policy.retrain_on_decay and facts.decay:
        trigger = ("performance_decay", facts.decay_summary or "performance decay")
    elif facts.labeled and streak >= policy.consecutive_drifted:
        trigger = ("persistent_drift", f"dataset drift in {streak} consecutive snapshots "
                   f"(k={policy.consecutive_drifted}); {share}")
    if trigger is not None:
        rule, why = trigger
        if last is not None and now - last < policy.cooldown:
            ends = last + policy.cooldown
            return decision(False, "cooldown", f"{rule} ({why}) but the last retraining was at "
                            f"{last:%Y-%m-%d %H:%M}; cooldown until {ends:%Y-%m-%d %H:%M}",
                            cooldown_ends=ends)
        if not facts.labeled:
            why += "; unlabeled snapshot: retrain on the latest labeled data"
        return decision(True, rule, why)

    checked = f"; {facts.decay_summary}" if facts.decay_summary else ""
    if not facts.labeled:
        drift = (f"drift in {streak} consecutive snapshots, but no labels to learn from"
                 if streak >= policy.consecutive_drifted else share)
        return decision(False, "unlabeled", f"unlabeled snapshot, monitored only: {drift}"
                        f"{checked}")
    if facts.drift_detected:
        return decision(False, "transient_drift",
                        f"dataset drift ({share}) in {streak} of the "
                        f"{policy.consecutive_drifted} consecutive snapshots needed{checked}")
    return decision(False, "healthy", f"no dataset drift ({share}){checked}")

