"""The metrics a promotion can be decided on: one entry per metric, nothing else names them.

A ``PromotionMetric`` says how to compute the paired per-resample *gain* of a candidate over
the champion on the same rows, oriented so that a positive gain always means "the candidate
is better" (for log-loss, lower is better, so the gain is champion minus candidate). The
rule, the challenger trial and the tags only ever see gains; adding a metric (e.g. the
retention issue's ``expected_profit``) is one more ``register(...)`` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from churn_assets.model.intervals import paired_delta_draws

# (labels, candidate probabilities, candidate threshold, champion probabilities, champion
# threshold, resamples, seed) -> (gain on all rows, gain on every paired resample)
GainFunction = Callable[[np.ndarray, np.ndarray, float, np.ndarray, float, int, int],
                        tuple[float, np.ndarray]]


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

    def gain(self, labels: ArrayLike, candidate: ArrayLike, candidate_threshold: float,
             champion: ArrayLike, champion_threshold: float, resamples: int = 1000,
             seed: int = 0) -> Gain:
        estimate, draws = self.gain_function(
            np.asarray(labels).astype(int), np.asarray(candidate, dtype=float),
            float(candidate_threshold), np.asarray(champion, dtype=float),
            float(champion_threshold), resamples, seed)
        return Gain(float(estimate), np.asarray(draws, dtype=float))


def _bootstrapped(metric: str, sign: float) -> GainFunction:
    def gain(labels, candidate, candidate_threshold, champion, champion_threshold,
             resamples, seed):
        estimate, draws = paired_delta_draws(metric, labels, candidate, candidate_threshold,
                                             champion, champion_threshold, resamples, seed)
        return sign * estimate, sign * draws
    return gain


METRICS: dict[str, PromotionMetric] = {}


def register(metric: PromotionMetric) -> PromotionMetric:
    METRICS[metric.name] = metric
    return metric


register(PromotionMetric("f1", "F1", True, _bootstrapped("f1", 1.0), 0.03))
register(PromotionMetric("roc_auc", "ROC-AUC", True, _bootstrapped("roc_auc", 1.0), 0.01))
register(PromotionMetric("pr_auc", "PR-AUC", True, _bootstrapped("pr_auc", 1.0), 0.02))
register(PromotionMetric("log_loss", "log-loss", False, _bootstrapped("log_loss", -1.0), 0.01))


def promotion_metric(name: str) -> PromotionMetric:
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown promotion metric '{name}': use one of "
                         f"{', '.join(METRICS)}") from None
