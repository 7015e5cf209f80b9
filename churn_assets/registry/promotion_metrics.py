"""How a promotion metric's gain is computed: the metrics a promotion can be decided on are
the entries of ``model.metric_registry`` with a ``typical_gain``; this module gives each one
its gain function and names none itself.

A ``PromotionMetric`` says how to compute the paired per-resample *gain* of a candidate over
the champion on the same rows, oriented so that a positive gain always means "the candidate
is better" (for log-loss, lower is better, so the gain is champion minus candidate). The
rule, the challenger trial and the tags only ever see gains; a metric is bootstrapped from
``model.intervals`` unless it needs the economics.

A metric that needs more than labels and probabilities sets ``needs_context``: its gain
function then also receives ``context=GainContext(rows, economics)``, the raw rows being
scored (row-aligned with the labels) and the dataset YAML's ``economics``. The other metrics
never see it.

``expected_profit`` (needs the ``economics`` section): the campaign profit
(``model.economics``) of the candidate's contact list minus the champion's, on the same
labeled rows, *per row* (the total difference divided by the number of rows), so that the
practical margin ``min_delta`` and the challenger trial's evidence, which pools snapshots
of different sizes, are in money per customer scored. Each model's contact list is the one
its ``ScoredModel`` carries: probability >= its threshold. The paired bootstrap draws the
same stratified rows for both models (``intervals.stratified_counts``). Its
``typical_gain`` is 1 money unit per customer: with the Telco example economics
(``examples/telco_retention.yaml``) a contacted churner yields ~250 and a quarter of the
customers churn, so a retrain that reaches 2 % more of the churners gains about
0.25 * 0.02 * 250 ~ 1 per customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from churn_assets.model.economics import Economics, customer_values, realized_value
from churn_assets.model.intervals import paired_delta_draws, stratified_counts
from churn_assets.model.metric_registry import METRICS as REGISTRY
from churn_assets.model.metric_registry import PROMOTION_METRICS, Metric

# (labels, candidate probabilities, candidate threshold, champion probabilities, champion
# threshold, resamples, seed) -> (gain on all rows, gain on every paired resample); a metric
# with ``needs_context`` also gets the keyword ``context`` (a ``GainContext``)
GainFunction = Callable[..., tuple[float, np.ndarray]]


@dataclass(frozen=True)
class GainContext:
    """What a metric may need besides labels and probabilities: the raw rows being scored
    (row-aligned with the labels) and the campaign economics (None without the section)."""

    rows: pd.DataFrame
    economics: Economics | None = None


@dataclass(frozen=True)
class Gain:
    """A candidate's gain over the champion on one set of rows: the point value, and the
    paired bootstrap draws around it (their spread is the standard error)."""

    estimate: float
    draws: np.ndarray

    @property
    def standard_error(self) -> float:
        return float(np.std(self.draws, ddof=1)) if self.draws.size > 1 else float("inf")


@dataclass(frozen=True)
class PromotionMetric:
    name: str
    label: str  # how people write it, e.g. "ROC-AUC"
    higher_is_better: bool
    gain_function: GainFunction
    # The prior scale of a real gain (the mixture's spread in the challenger trial), in the
    # metric's units: about the size of gain a retrain can bring.
    typical_gain: float
    needs_context: bool = False  # the gain function takes ``context=GainContext(...)``

    def gain(self, labels: ArrayLike, candidate: ArrayLike, candidate_threshold: float,
             champion: ArrayLike, champion_threshold: float, resamples: int = 1000,
             seed: int = 0, context: GainContext | None = None) -> Gain:
        extra = {}
        if self.needs_context:
            if context is None or context.economics is None:
                raise ValueError(f"'promotion.metric' {self.name} needs the test rows and the "
                                 "dataset YAML's 'economics' section")
            extra["context"] = context
        estimate, draws = self.gain_function(
            np.asarray(labels).astype(int), np.asarray(candidate, dtype=float),
            float(candidate_threshold), np.asarray(champion, dtype=float),
            float(champion_threshold), resamples, seed, **extra)
        return Gain(float(estimate), np.asarray(draws, dtype=float))


def _bootstrapped(metric: str, sign: float) -> GainFunction:
    def gain(labels, candidate, candidate_threshold, champion, champion_threshold,
             resamples, seed):
        estimate, draws = paired_delta_draws(metric, labels, candidate, candidate_threshold,
                                             champion, champion_threshold, resamples, seed)
        return sign * estimate, sign * draws
    return gain


def _profit_gain(labels, candidate, candidate_threshold, champion, champion_threshold,
                 resamples, seed, *, context: GainContext):
    """Per row: profit of the candidate's contact list minus the champion's (module
    docstring); the draws reuse the same stratified rows for both lists."""
    if not (len(context.rows) == labels.size == candidate.size == champion.size):
        raise ValueError("labels, rows and both models' probabilities must cover the same rows")
    economics = context.economics
    per_row = realized_value(labels, customer_values(economics.customer_value, context.rows),
                             economics)
    contacted = (candidate >= candidate_threshold).astype(float) \
        - (champion >= champion_threshold).astype(float)
    difference = per_row * contacted
    draws = np.concatenate([counts @ difference / counts.sum(axis=1)
                            for counts in stratified_counts(labels, resamples, seed)])
    return float(difference.mean()), draws


# The gains that are not a bootstrapped ``model.intervals`` metric.
_OWN_GAINS: dict[str, GainFunction] = {"expected_profit": _profit_gain}


def _from_registry(entry: Metric) -> PromotionMetric:
    gain = _OWN_GAINS.get(entry.name) or _bootstrapped(entry.name,
                                                       1.0 if entry.higher_is_better else -1.0)
    return PromotionMetric(entry.name, entry.label, entry.higher_is_better, gain,
                           float(entry.typical_gain), needs_context=entry.needs_economics)


METRICS: dict[str, PromotionMetric] = {name: _from_registry(REGISTRY[name])
                                       for name in PROMOTION_METRICS}


def promotion_metric(name: str) -> PromotionMetric:
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown promotion metric '{name}': use one of "
                         f"{', '.join(METRICS)}") from None
