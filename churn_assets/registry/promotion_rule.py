"""The champion/challenger rule: promote at once only a candidate that is conclusively better.

"Better" is judged on the same current test rows for both models, with a paired bootstrap
(``model.intervals``) of the gain in ``promotion.metric`` (``promotion_metrics``; positive
means the candidate is better). Every candidate compared on the same test rows is another
look at them, so the k-th look gets only its share of the split's false-promotion budget
(``sequential_evidence.look_error``): the interval widens with every retrain judged there.

The rule, in the order it is checked (settings: ``dataset_config.PromotionConfig``):
1. Floors: the candidate's figures on all test rows reach ``effective_floors()``
   (``min_f1``, ``min_roc_auc`` and any ``floors``; none by default). A first model needs
   only these and its table's own baselines (``first_model``, ``promotion.baselines``).
2. Gain: the lower bound of the gain's interval (normal, from the bootstrap's standard
   error, at one-sided error ``look_error(alpha, k)`` with ``alpha = (1 - level) / 2``) is
   above ``at_once_bar()``: ``min_delta`` plus ``at_once_margin`` (default half the
   metric's typical gain: re-seeded retrains differ by that much on fresh rows).
3. ROC-AUC non-inferiority: the lower bound of the paired ROC-AUC delta (at ``level``) is
   above ``-roc_auc_margin``; a threshold trick that buys F1 by ranking worse is refused.
4. Segments: no segment with at least ``segment_min_rows`` rows and
   ``segment_min_positives`` churners loses more than ``segment_margin`` of the segment
   metric (``segment_metric``, by default the promotion metric), with a paired interval of
   its loss that excludes zero (see ``segment_table``); the reason names the segment.
5. Calibration: the candidate's Brier score is not clearly worse than the champion's (the
   paired interval of the excess lies above a small margin; ``campaign_metrics``).
A candidate that fails only rule 2, and whose interval still allows a gain above ``min_delta``,
goes on trial as ``@challenger`` (``outcome == "challenger"``, see ``sequential_evidence``).
The F1 and ROC-AUC delta intervals (at ``level``) are always reported, for existing readers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churn_assets.dataset_config import PromotionConfig
from churn_assets.model.campaign_metrics import brier_delta_interval, calibration_refusal
from churn_assets.model.economics import Economics
from churn_assets.model.intervals import Interval, paired_delta_interval
from churn_assets.model.metric_registry import label
from churn_assets.model.metrics import classification_metrics
from churn_assets.registry.first_model import baseline_failure
from churn_assets.registry.promotion_metrics import (
    Gain,
    GainContext,
    PromotionMetric,
    promotion_metric,
)
from churn_assets.registry.sequential_evidence import (
    Look,
    TrialRule,
    look_error,
    normal_quantile,
)

# sklearn is imported where it is used: loading the definitions decides no promotion.

PROMOTED, CHALLENGER, REJECTED = "promoted", "challenger", "rejected"


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


def segments_of(settings: PromotionConfig) -> tuple[Segment, ...]:
    return tuple(Segment.parse(s if isinstance(s, str) else s.model_dump())
                 for s in settings.segments)


def split_alpha(settings: PromotionConfig) -> float:
    """The one-sided false-promotion budget of one test split."""
    return (1 - settings.level) / 2


def rule_text(settings: PromotionConfig, look: int = 1) -> str:
    """The rule in one sentence, recorded with every decision."""
    metric = promotion_metric(settings.metric)
    segments = ", ".join(s.column + (" bands" if s.bins else "") for s in segments_of(settings))
    floors = " and ".join(f"{name} >= {value:g}"
                          for name, value in settings.effective_floors().items()) or "none"
    first = ("ROC-AUC interval above 0.5, F1 above flagging everyone, ROC-AUC not clearly "
             f"below a logistic regression's minus {settings.baseline_margin:g}"
             if settings.baselines else "floors only")
    return (
        f"floors {floors}; a first model: {first}; against a champion: paired bootstrap "
        f"({settings.resamples} resamples, seed {settings.seed}) lower bound of the "
        f"{metric.label} gain at one-sided error {look_error(split_alpha(settings), look):.4g} "
        f"(look {look} at these test rows, budget {split_alpha(settings):g}) > "
        f"{settings.at_once_bar():g} (at-once margin; min_delta {settings.min_delta:g}), and of "
        f"the ROC-AUC delta ({settings.level:.0%}) > "
        f"{-settings.roc_auc_margin:g}"
        + (f"; no segment of {segments} with >= {settings.segment_min_rows} rows and >= "
           f"{settings.segment_min_positives} churners loses more than "
           f"{settings.segment_margin:g} {segment_metric(settings).label} with an interval "
           "below zero" if segments else "")
        + "; Brier score not clearly worse (paired interval)"
        + f"; inconclusive: @challenger on trial (alpha {settings.trial_alpha:g}, at most "
          f"{settings.trial_max_snapshots} labeled snapshots)"
    )


def gain_interval(gain: Gain, one_sided_error: float, resamples: int) -> Interval:
    """estimate +- z * bootstrap standard error: a percentile interval cannot reach the
    small errors later looks get from a thousand resamples."""
    z = normal_quantile(1 - one_sided_error)
    return Interval(gain.estimate, gain.estimate - z * gain.standard_error,
                    gain.estimate + z * gain.standard_error, 1 - 2 * one_sided_error,
                    resamples)


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
    outcome: str = REJECTED  # promoted, challenger (on trial) or rejected
    metric: str = "f1"
    gain: Interval | None = None  # the deciding metric's gain (positive: candidate better)
    look: int = 1  # how many candidates, this one included, were judged on these test rows
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
            "outcome": self.outcome, "metric": self.metric, "look": self.look,
            "gain": self.gain.text() if self.gain else None,
            "candidate_f1": self.candidate_f1, "candidate_roc_auc": self.candidate_roc_auc,
            "champion_f1": self.champion_f1, "champion_roc_auc": self.champion_roc_auc,
            "f1_delta": self.f1_delta.text() if self.f1_delta else None,
            "roc_auc_delta": self.roc_auc_delta.text() if self.roc_auc_delta else None,
            "segments": self.segments, "test_rows": self.test_rows,
        }


def _f1(labels: np.ndarray, predictions: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(labels, predictions, zero_division=0))


def segment_metric(settings: PromotionConfig) -> PromotionMetric:
    """The metric segments are judged on: ``segment_metric``, else the promotion metric."""
    return promotion_metric(settings.segment_metric or settings.metric)


def segment_table(
    labels: np.ndarray, rows: pd.DataFrame, candidate: ScoredModel,
    champion: ScoredModel | None, settings: PromotionConfig,
    economics: Economics | None = None,
) -> list[dict[str, Any]]:
    """Per segment: both models' F1 (for reading) and the candidate's gain in the segment
    metric (``delta``, positive: better). ``blocked`` marks a segment with enough rows and
    churners that loses more than the margin *and* whose paired bootstrap interval of the
    loss excludes zero: a segment of 250 rows holds ~25 churners, where F1 swings by 0.1
    between equally good models, and a point estimate alone would block clearly better
    candidates at random. Every segment is one more look at the same candidate, so the
    intervals share the error ``1 - level`` (Bonferroni over the segments): with seven
    segments at 95 %, one of them would otherwise block an equally good candidate far more
    often than one time in 20.

    The segment metric is the promotion metric unless ``segment_metric`` says otherwise: a
    concept shift that stops a segment from churning makes the right model flag none of its
    few remaining churners, so its F1 there falls to 0 while it ranks them better than the
    champion did; judged on F1, the segment refused the model the whole table needed."""
    metric = segment_metric(settings)
    table = []
    labelled = [(segment, segment.labels(rows).to_numpy()) for segment in segments_of(settings)]
    count = max(1, sum(len(set(names)) for _, names in labelled))
    error = (1 - settings.level) / (2 * count)
    for _segment, names in labelled:
        for name in sorted(set(names)):
            members = names == name
            y = labels[members]
            row = {"segment": name, "rows": int(members.sum()), "churners": int(y.sum()),
                   "metric": metric.name, "champion_f1": None,
                   "candidate_f1": _f1(y, candidate.predictions[members]), "delta": None,
                   "delta_interval": None, "blocked": False}
            table.append(row)
            if champion is None:
                continue
            row["champion_f1"] = _f1(y, champion.predictions[members])
            if np.unique(y).size < 2 and not metric.needs_context:
                continue  # a rank or threshold metric is undefined on one class
            gain = metric.gain(
                y, candidate.probabilities[members], candidate.threshold,
                champion.probabilities[members], champion.threshold,
                resamples=settings.resamples, seed=settings.seed,
                context=GainContext(rows.loc[members], economics) if metric.needs_context
                else None)
            row["delta"] = gain.estimate
            if (row["rows"] >= settings.segment_min_rows
                    and row["churners"] >= settings.segment_min_positives
                    and gain.estimate < -settings.segment_margin):
                interval = gain_interval(gain, error, settings.resamples)
                row["delta_interval"] = interval.text()
                row["blocked"] = bool(interval.high < 0)
    return table


def decide_promotion(
    candidate: ScoredModel, champion: ScoredModel | None, labels: Sequence[int] | np.ndarray,
    rows: pd.DataFrame, settings: PromotionConfig, look: int = 1,
    economics: Economics | None = None, logistic: dict[str, Any] | None = None,
) -> PromotionDecision:
    """Both models must be scored on the same test ``rows`` (raw columns, for segments and
    customer values); ``look``: this candidate is the look-th one judged on these rows
    (``looks_at``); ``economics``: the dataset YAML's section, for ``expected_profit``;
    ``logistic``: a first model's comparison with a logistic regression
    (``first_model.logistic_comparison``)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels).astype(int)
    if len(rows) != labels.size or len(candidate.probabilities) != labels.size or (
            champion is not None and len(champion.probabilities) != labels.size):
        raise ValueError("labels, rows and both models' probabilities must cover the same rows")
    metric = promotion_metric(settings.metric)
    rule = rule_text(settings, look)
    figures = classification_metrics(labels, candidate.probabilities, candidate.threshold)
    f1, auc = figures["f1"], figures["roc_auc"]
    base = {"rule": rule, "candidate_f1": f1, "candidate_roc_auc": auc,
            "test_rows": int(labels.size), "metric": metric.name, "look": look}
    table = segment_table(labels, rows, candidate, champion, settings, economics)
    floors = _floor_failure(figures, settings)

    if champion is None:
        below, baselines = baseline_failure(labels, candidate.probabilities, f1, settings,
                                            logistic)
        failure = floors or below
        reason = failure or (f"promoted: first model, beats its baselines: {baselines}"
                             + ("; passes the floors" if settings.effective_floors() else ""))
        return PromotionDecision(not failure, reason=reason, segments=table,
                                 outcome=REJECTED if failure else PROMOTED, **base)

    bootstrap = {"resamples": settings.resamples, "seed": settings.seed}
    pair = (labels, candidate.probabilities, candidate.threshold, champion.probabilities,
            champion.threshold)
    error = look_error(split_alpha(settings), look)
    gain = gain_interval(metric.gain(*pair, **bootstrap, context=GainContext(rows, economics)),
                         error, settings.resamples)
    f1_delta = paired_delta_interval("f1", *pair, level=settings.level, **bootstrap)
    auc_delta = paired_delta_interval("roc_auc", *pair, level=settings.level, **bootstrap)
    calibration = calibration_refusal(brier_delta_interval(
        labels, candidate.probabilities, champion.probabilities, level=settings.level,
        **bootstrap))
    failure = floors or _comparison_failure(metric.label, gain, auc_delta, table, settings)
    failure = failure or calibration
    on_trial = (failure is not None and not floors and not calibration
                and gain.low <= settings.at_once_bar() and settings.min_delta < gain.high
                and _comparison_failure(metric.label, gain, auc_delta, table,
                                                    settings, gain_checked=False) is None)
    if failure is None:
        reason = (f"promoted: {metric.label} gain {gain.text()} at look {look}, lower bound "
                  f"above {_bars(settings)}; F1 delta "
                  f"{f1_delta.text()}; ROC-AUC delta {auc_delta.text()}; no segment regresses")
    elif on_trial:
        reason = failure + "; not worse either: on trial as @challenger"
    else:
        reason = failure
    outcome = PROMOTED if failure is None else CHALLENGER if on_trial else REJECTED
    return PromotionDecision(
        promote=failure is None, reason=reason, outcome=outcome, gain=gain,
        champion_f1=_f1(labels, champion.predictions),
        champion_roc_auc=float(roc_auc_score(labels, champion.probabilities)),
        f1_delta=f1_delta, roc_auc_delta=auc_delta, segments=table, **base)


def _floor_failure(figures: dict[str, float], settings: PromotionConfig) -> str | None:
    for metric, floor in settings.effective_floors().items():
        if figures[metric] < floor:
            return (f"not promoted: test {label(metric)} {figures[metric]:.4f} "
                    f"below floor {floor:g}")
    return None


def _bars(settings: PromotionConfig) -> str:
    bar = settings.at_once_bar()
    return f"min_delta {settings.min_delta:g}" + (
        "" if bar == settings.min_delta else f" and the at-once margin {bar:g}")


def _comparison_failure(
    label: str, gain: Interval, auc_delta: Interval, table: list[dict[str, Any]],
    settings: PromotionConfig, gain_checked: bool = True,
) -> str | None:
    """The first rule the candidate breaks, as one readable line; None when it breaks none."""
    if gain_checked and not gain.low > settings.at_once_bar():
        return (f"not promoted: {label} gain {gain.text()} - lower bound not above "
                + _bars(settings) + ", the gain may be noise")
    if not auc_delta.low > -settings.roc_auc_margin:
        return (f"not promoted: ROC-AUC delta {auc_delta.text()} - lower bound below "
                f"{-settings.roc_auc_margin:g}, the candidate may rank customers worse")
    blocked = [row for row in table if row["blocked"]]
    if blocked:
        worst = min(blocked, key=lambda row: row["delta"])
        return (f"not promoted: segment '{worst['segment']}' ({worst['rows']} rows) loses "
                f"{-worst['delta']:.4f} {segment_metric(settings).label} (gain "
                f"{worst['delta_interval']}; F1 {worst['champion_f1']:.4f} -> "
                f"{worst['candidate_f1']:.4f}), more than the margin "
                f"{settings.segment_margin:g}"
                + (f"; also {', '.join(r['segment'] for r in blocked if r is not worst)}"
                   if len(blocked) > 1 else ""))
    return None


def trial_rule(settings: PromotionConfig) -> TrialRule:
    """The challenger trial's rule: the same metric and practical margin as at once."""
    return TrialRule(alpha=settings.trial_alpha, margin=settings.min_delta,
                     scale=promotion_metric(settings.metric).typical_gain,
                     max_looks=settings.trial_max_snapshots)


def snapshot_look(
    challenger: ScoredModel, champion: ScoredModel, labels: Sequence[int] | np.ndarray,
    settings: PromotionConfig, snapshot: str, at: str = "", rows: pd.DataFrame | None = None,
    economics: Economics | None = None,
) -> Look:
    """One labeled snapshot's paired gain of the challenger over the champion, on rows
    neither model trained on (the caller chooses them; their raw columns ``rows`` and the
    ``economics`` are needed by ``expected_profit`` only)."""
    context = GainContext(rows, economics) if rows is not None else None
    gain = promotion_metric(settings.metric).gain(
        labels, challenger.probabilities, challenger.threshold, champion.probabilities,
        champion.threshold, resamples=settings.resamples, seed=settings.seed, context=context)
    return Look(snapshot, int(np.asarray(labels).size), gain.estimate, gain.standard_error, at)
