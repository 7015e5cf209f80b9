"""The champion/challenger rule: promote only a candidate that is really better.

"Really better" is judged on the same current test rows for both models, with a paired
bootstrap (``model.intervals``): noise between equally good models moves F1 by about +-0.02
on a thousand rows, so a point gain says nothing; the lower bound of the interval does.

The rule, in the order it is checked:
1. Floors: the candidate's F1 and ROC-AUC on all test rows reach ``min_f1``/``min_roc_auc``.
   A first model (no champion) needs only these.
2. F1 gain: the lower bound of the paired F1(candidate) - F1(champion) interval is above
   ``min_delta``. A tie, a noisy gain or a retrain with another seed therefore never
   moves the alias.
3. ROC-AUC non-inferiority: the lower bound of the paired ROC-AUC delta is above
   ``-roc_auc_margin``; a threshold trick that buys F1 by ranking worse is refused.
4. Segments: no segment with at least ``segment_min_rows`` rows loses more than
   ``segment_margin`` F1, with a paired interval of its loss that excludes zero (see
   ``segment_table``); the reason names the segment.
5. Calibration: the candidate's Brier score is not clearly worse than the champion's (the
   paired interval of the excess lies above a small margin; ``campaign_metrics``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

from churn_assets.model.campaign_metrics import brier_delta_interval, calibration_refusal
from churn_assets.model.intervals import Interval, paired_delta_interval


@dataclass(frozen=True)
class Segment:
    """A column whose values define segments; numeric columns are cut into ``bins``
    (left-closed bands such as [0, 12), [12, 24), ...)."""

    column: str
    bins: tuple[float, ...] = ()

    @classmethod
    def parse(cls, spec: str | Mapping[str, Any] | Segment) -> Segment:
        """``"Contract"`` or ``{"column": "tenure", "bins": [0, 12, 24, 48, inf]}``."""
        if isinstance(spec, Segment):
            return spec
        if isinstance(spec, str):
            return cls(spec)
        unknown = set(spec) - {"column", "bins"}
        if unknown or "column" not in spec:
            raise ValueError(f"a segment is a column name or {{column, bins}}; got {dict(spec)}")
        bins = tuple(float(b) for b in spec.get("bins") or ())
        if bins and (len(bins) < 2 or any(a >= b for a, b in itertools.pairwise(bins))):
            raise ValueError(f"segment bins for '{spec['column']}' must increase: {list(bins)}")
        return cls(str(spec["column"]), bins)

    def labels(self, rows: pd.DataFrame) -> pd.Series:
        """One segment name per row, e.g. ``Contract=Two year`` or ``tenure in [12, 24)``."""
        if self.column not in rows:
            raise KeyError(f"segment column '{self.column}' is not among the test rows")
        values = rows[self.column]
        if not self.bins:
            text = values.astype("string").str.strip().fillna("(missing)")
            return (self.column + "=" + text).astype(str)
        number = pd.to_numeric(values.replace(r"^\s*$", np.nan, regex=True), errors="coerce")
        band = pd.cut(number, self.bins, right=False, labels=False)
        names = [f"{self.column} in [{_edge(a)}, {_edge(b)})"
                 for a, b in itertools.pairwise(self.bins)]
        return pd.Series([names[int(b)] if not np.isnan(b) else f"{self.column} outside bands"
                          for b in band], index=rows.index)


def _edge(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:g}"


@dataclass(frozen=True)
class PromotionRules:
    min_f1: float
    min_roc_auc: float
    min_delta: float = 0.0
    roc_auc_margin: float = 0.02
    resamples: int = 1000
    seed: int = 0
    level: float = 0.95
    segments: tuple[Segment, ...] = ()
    segment_margin: float = 0.05
    segment_min_rows: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(Segment.parse(s) for s in self.segments))

    def text(self) -> str:
        """The rule in one sentence, recorded with every decision."""
        segments = ", ".join(s.column + (" bands" if s.bins else "") for s in self.segments)
        return (
            f"floors F1 >= {self.min_f1:g} and ROC-AUC >= {self.min_roc_auc:g}; against a "
            f"champion: paired bootstrap ({self.level:.0%}, {self.resamples} resamples, "
            f"seed {self.seed}) lower bound of F1 delta > {self.min_delta:g} and of ROC-AUC "
            f"delta > {-self.roc_auc_margin:g}"
            + (f"; no segment of {segments} with >= {self.segment_min_rows} rows loses more "
               f"than {self.segment_margin:g} F1 with an interval below zero" if segments else "")
        )


@dataclass(frozen=True)
class ScoredModel:
    """A model's probabilities on the test rows and the threshold it turns them into 0/1 with."""

    probabilities: np.ndarray
    threshold: float

    @property
    def predictions(self) -> np.ndarray:
        return (np.asarray(self.probabilities) >= self.threshold).astype(int)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    rule: str
    reason: str
    candidate_f1: float | None = None  # None when the candidate could not even be scored
    candidate_roc_auc: float | None = None
    champion_f1: float | None = None
    champion_roc_auc: float | None = None
    f1_delta: Interval | None = None  # None for a first model
    roc_auc_delta: Interval | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    test_rows: int = 0

    @property
    def blocking_segments(self) -> list[str]:
        return [row["segment"] for row in self.segments if row["blocked"]]

    def facts(self) -> dict[str, Any]:
        """Plain values for tags, metadata and the model card."""
        return {
            "promote": self.promote, "rule": self.rule, "reason": self.reason,
            "candidate_f1": self.candidate_f1, "candidate_roc_auc": self.candidate_roc_auc,
            "champion_f1": self.champion_f1, "champion_roc_auc": self.champion_roc_auc,
            "f1_delta": self.f1_delta.text() if self.f1_delta else None,
            "roc_auc_delta": self.roc_auc_delta.text() if self.roc_auc_delta else None,
            "segments": self.segments, "test_rows": self.test_rows,
        }


def _f1(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float(f1_score(labels, predictions, zero_division=0))


def segment_table(
    labels: np.ndarray, rows: pd.DataFrame, candidate: ScoredModel,
    champion: ScoredModel | None, rules: PromotionRules,
) -> list[dict[str, Any]]:
    """F1 of both models per segment. ``blocked`` marks a segment with enough rows that loses
    more than the margin *and* whose paired bootstrap interval of the loss excludes zero:
    a segment of 250 rows holds ~25 churners, where F1 swings by 0.1 between equally good
    models, and a point estimate alone would block clearly better candidates at random."""
    table = []
    for segment in rules.segments:
        names = segment.labels(rows).to_numpy()
        for name in sorted(set(names)):
            members = names == name
            y = labels[members]
            candidate_f1 = _f1(y, candidate.predictions[members])
            row = {"segment": name, "rows": int(members.sum()), "champion_f1": None,
                   "candidate_f1": candidate_f1, "delta": None, "delta_interval": None,
                   "blocked": False}
            if champion is not None:
                row["champion_f1"] = _f1(y, champion.predictions[members])
                row["delta"] = candidate_f1 - row["champion_f1"]
                material = (row["rows"] >= rules.segment_min_rows
                            and row["delta"] < -rules.segment_margin)
                if material and np.unique(y).size == 2:
                    interval = paired_delta_interval(
                        "f1", y, candidate.probabilities[members], candidate.threshold,
                        champion.probabilities[members], champion.threshold,
                        resamples=rules.resamples, seed=rules.seed, level=rules.level)
                    row["delta_interval"] = interval.text()
                    row["blocked"] = bool(interval.high < 0)
                else:
                    row["blocked"] = bool(material)
            table.append(row)
    return table


def decide_promotion(
    candidate: ScoredModel, champion: ScoredModel | None, labels: Sequence[int] | np.ndarray,
    rows: pd.DataFrame, rules: PromotionRules,
) -> PromotionDecision:
    """Both models must be scored on the same test ``rows`` (raw columns, for segments)."""
    labels = np.asarray(labels).astype(int)
    if len(rows) != labels.size or len(candidate.probabilities) != labels.size or (
            champion is not None and len(champion.probabilities) != labels.size):
        raise ValueError("labels, rows and both models' probabilities must cover the same rows")
    rule = rules.text()
    f1 = _f1(labels, candidate.predictions)
    auc = float(roc_auc_score(labels, candidate.probabilities))
    base = {"rule": rule, "candidate_f1": f1, "candidate_roc_auc": auc,
            "test_rows": int(labels.size)}
    table = segment_table(labels, rows, candidate, champion, rules)

    if champion is None:
        floors = _floor_failure(f1, auc, rules)
        reason = floors or (f"promoted: first model, test F1 {f1:.4f} and ROC-AUC {auc:.4f} "
                            "pass the floors")
        return PromotionDecision(not floors, reason=reason, segments=table, **base)

    bootstrap = {"resamples": rules.resamples, "seed": rules.seed, "level": rules.level}
    f1_delta = paired_delta_interval("f1", labels, candidate.probabilities, candidate.threshold,
                                     champion.probabilities, champion.threshold, **bootstrap)
    auc_delta = paired_delta_interval("roc_auc", labels, candidate.probabilities,
                                      candidate.threshold, champion.probabilities,
                                      champion.threshold, **bootstrap)
    failure = _comparison_failure(f1, auc, f1_delta, auc_delta, table, rules)
    failure = failure or calibration_refusal(brier_delta_interval(
        labels, candidate.probabilities, champion.probabilities, **bootstrap))
    reason = failure or (f"promoted: F1 delta {f1_delta.text()}, lower bound above min_delta "
                         f"{rules.min_delta:g}; ROC-AUC delta {auc_delta.text()}; "
                         "no segment regresses")
    return PromotionDecision(
        promote=failure is None, reason=reason,
        champion_f1=_f1(labels, champion.predictions),
        champion_roc_auc=float(roc_auc_score(labels, champion.probabilities)),
        f1_delta=f1_delta, roc_auc_delta=auc_delta, segments=table, **base)


def _floor_failure(f1: float, auc: float, rules: PromotionRules) -> str | None:
    if f1 < rules.min_f1:
        return f"not promoted: test F1 {f1:.4f} below floor {rules.min_f1:g}"
    if auc < rules.min_roc_auc:
        return f"not promoted: test ROC-AUC {auc:.4f} below floor {rules.min_roc_auc:g}"
    return None


def _comparison_failure(
    f1: float, auc: float, f1_delta: Interval, auc_delta: Interval,
    table: list[dict[str, Any]], rules: PromotionRules,
) -> str | None:
    """The first rule the candidate breaks, as one readable line; None when it breaks none."""
    floors = _floor_failure(f1, auc, rules)
    if floors:
        return floors
    if not f1_delta.low > rules.min_delta:
        return (f"not promoted: F1 delta {f1_delta.text()} - lower bound not above min_delta "
                f"{rules.min_delta:g}, the gain may be noise")
    if not auc_delta.low > -rules.roc_auc_margin:
        return (f"not promoted: ROC-AUC delta {auc_delta.text()} - lower bound below "
                f"{-rules.roc_auc_margin:g}, the candidate may rank customers worse")
    blocked = [row for row in table if row["blocked"]]
    if blocked:
        worst = min(blocked, key=lambda row: row["delta"])
        return (f"not promoted: segment '{worst['segment']}' ({worst['rows']} rows) loses "
                f"{-worst['delta']:.4f} F1 ({worst['champion_f1']:.4f} -> "
                f"{worst['candidate_f1']:.4f}, delta {worst['delta_interval'] or 'n/a'}), "
                f"more than the margin {rules.segment_margin:g}"
                + (f"; also {', '.join(r['segment'] for r in blocked if r is not worst)}"
                   if len(blocked) > 1 else ""))
    return None
