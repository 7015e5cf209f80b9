"""Realized performance: the champion scored on labeled rows it never trained on.

A snapshot that carries the target is a free evaluation. On the rows the champion never
saw, F1, ROC-AUC and PR-AUC each get a stratified bootstrap interval
(``churn_assets.model.intervals``) and are compared with the champion's own test figures at
registration (the *reference*).

Decay rule, per metric: ``decayed`` when the whole interval of the realized metric lies
below ``reference - margin``, i.e. ``interval.high < reference - margin``. Equivalently the
interval of the drop ``reference - realized`` lies entirely above ``margin``: the champion
is worse than at registration by more than the margin, and the noise of these rows cannot
explain it. The reference is taken as a fixed number (its own test-set noise is ignored),
which errs towards fewer alarms only when the margin is not zero.

The snapshot shows *performance decay* when any of the ``deciding`` metrics decayed. By
default F1 and ROC-AUC decide (the figures CBPE can also estimate without labels); PR-AUC
is reported, but it moves with the churn rate even when the model is as good as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from churn_assets.model.intervals import Interval, metric_intervals
from churn_assets.model.metric_registry import MONITORED_METRICS, label

# A decay is judged on the registry's monitored metrics (model.metric_registry): higher is
# better and the champion's test figure of each is the reference.
UNSEEN_SPLITS = ("valid", "test")


@dataclass(frozen=True)
class DecayRule:
    """How sure a drop must be before it is called decay. Defaults are the documented ones."""

    margin: float = 0.02  # tolerated drop below the reference, in metric units
    resamples: int = 1000
    seed: int = 0
    level: float = 0.95
    deciding: tuple[str, ...] = ("f1", "roc_auc")
    min_rows: int = 100  # fewer unseen rows than this: no verdict, the interval is too wide
    min_per_class: int = 10


DEFAULT_RULE = DecayRule()

@dataclass(frozen=True)
class MetricCheck:
    """One metric: its value and interval on the snapshot, the reference, and the verdict."""

    metric: str
    interval: Interval
    reference: float | None  # None when the champion has no figure for this metric
    margin: float

    @property
    def drop(self) -> float | None:
        """reference - value (positive means worse than at registration)."""
        return None if self.reference is None else self.reference - self.interval.estimate

    @property
    def decayed(self) -> bool:
        return self.reference is not None and self.interval.high < self.reference - self.margin

    def text(self) -> str:
        name = label(self.metric)
        i = self.interval
        figure = f"{name} {i.estimate:.3f} [{i.low:.3f}, {i.high:.3f}]"
        if self.reference is None:
            return f"{figure} (no reference)"
        verdict = "below" if self.decayed else "not below"
        return (f"{figure} {verdict} reference {self.reference:.3f} - margin {self.margin:g}"
                f" (drop {self.drop:+.3f})")


@dataclass(frozen=True)
class PerformanceReport:
    """The champion's figures on one snapshot: ``kind`` is "realized" (labels) or
    "estimated" (CBPE, no labels; ``positives`` is then the expected count)."""

    kind: str
    rows: int
    positives: float
    threshold: float
    checks: tuple[MetricCheck, ...]
    deciding: tuple[str, ...]

    def check(self, metric: str) -> MetricCheck:
        return next(c for c in self.checks if c.metric == metric)

    @property
    def decayed_metrics(self) -> tuple[str, ...]:
        return tuple(c.metric for c in self.checks if c.metric in self.deciding and c.decayed)

    @property
    def decayed(self) -> bool:
        return bool(self.decayed_metrics)

    def summary(self) -> str:
        """One line with the figures, the decayed ones first."""
        order = sorted(self.checks, key=lambda c: not (c.metric in self.deciding and c.decayed))
        head = "performance decay" if self.decayed else "no performance decay"
        rows = "unseen labeled rows" if self.kind == "realized" else "unlabeled rows"
        return (f"{head} ({self.kind}) on {self.rows} {rows}: "
                + "; ".join(c.text() for c in order))

    def figures(self) -> dict[str, float]:
        """Flat numeric figures, keys prefixed by the kind: ``realized_f1``, ``realized_f1_low``,
        ``realized_f1_high``, ``realized_f1_drop``, ``reference_f1``, ``realized_rows``,
        ``realized_decay`` (0/1), ... (``estimated_*`` likewise)."""
        k = self.kind
        out: dict[str, float] = {f"{k}_rows": float(self.rows),
                                 f"{k}_positives": float(self.positives),
                                 f"{k}_decay": float(self.decayed)}
        for c in self.checks:
            key = f"{k}_{c.metric}"
            out |= {key: c.interval.estimate, f"{key}_low": c.interval.low,
                    f"{key}_high": c.interval.high}
            if c.reference is not None and c.drop is not None:
                out |= {f"reference_{c.metric}": c.reference, f"{key}_drop": c.drop}
        return out


def checks_against(
    intervals: Mapping[str, Interval], reference: Mapping[str, float], margin: float
) -> tuple[MetricCheck, ...]:
    return tuple(
        MetricCheck(metric, interval,
                    None if reference.get(metric) is None else float(reference[metric]), margin)
        for metric, interval in intervals.items()
    )


def rows_unseen_by_champion(
    ids: pd.Series, training_ids: Iterable[object] | None = None,
    splits: pd.Series | None = None,
) -> np.ndarray:
    """Boolean mask of the snapshot rows the champion never trained on.

    With ``training_ids`` (the ids of the champion's train rows): rows whose id is not among
    them — new customers, and known customers of the valid/test splits. This is exact even
    if the split salt or fractions changed since. Without them, ``splits`` (the stable hash
    split of each row, ``churn_assets.data.splits.assign_splits``) decides: valid and test
    rows. Ids compare as text, so 1 and "1" are the same customer.
    """
    if training_ids is not None:
        seen = {str(i) for i in training_ids}
        return ~ids.astype(str).isin(seen).to_numpy()
    if splits is not None:
        if len(splits) != len(ids):
            raise ValueError("splits must have one entry per id")
        return np.isin(np.asarray(splits).astype(str), UNSEEN_SPLITS)
    raise ValueError("pass the champion's training ids or the rows' splits")


def why_not_evaluable(labels: ArrayLike, rule: DecayRule = DEFAULT_RULE) -> str | None:
    """None when the rows can be evaluated; otherwise the reason, for the UI."""
    y = np.asarray(labels)
    positives = int((y == 1).sum())
    negatives = int(y.size - positives)
    if y.size < rule.min_rows:
        return f"only {y.size} unseen labeled rows (at least {rule.min_rows} needed)"
    if min(positives, negatives) < rule.min_per_class:
        return (f"{positives} churned and {negatives} retained unseen rows "
                f"(at least {rule.min_per_class} of each needed)")
    return None


def realized_performance(
    labels: ArrayLike, probabilities: ArrayLike, threshold: float,
    reference: Mapping[str, float], rule: DecayRule = DEFAULT_RULE,
) -> PerformanceReport:
    """Score the champion's probabilities on unseen labeled rows against its reference.

    ``labels`` are 0/1; ``reference`` maps metric names (``f1``, ``roc_auc``, ``pr_auc``) to
    the champion's test figures at registration; missing ones are reported without verdict.
    Raises ValueError when ``why_not_evaluable`` has a reason.
    """
    y = np.asarray(labels).astype(int)
    p = np.asarray(probabilities, dtype=float)
    problem = why_not_evaluable(y, rule)
    if problem:
        raise ValueError(problem)
    check_deciding(rule)
    intervals = metric_intervals(MONITORED_METRICS, y, p, threshold, rule.resamples, rule.seed,
                                 rule.level)
    return PerformanceReport("realized", int(y.size), float(y.sum()), float(threshold),
                             checks_against(intervals, reference, rule.margin), rule.deciding)


def check_deciding(rule: DecayRule, available: tuple[str, ...] = MONITORED_METRICS) -> None:
    unknown = sorted(set(rule.deciding) - set(available))
    if unknown:
        raise ValueError(f"deciding metric(s) not available here: {', '.join(unknown)}")
