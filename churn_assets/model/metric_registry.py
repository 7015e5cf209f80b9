"""The one registry of metric names: every metric the project floors, monitors, estimates or
decides a promotion on is one entry here, with the roles it plays, and every list of metric
names (the YAML's accepted values, the monitored figures, the docs' tables) is derived from
it. Plain Python: the dataset schema reads it when the YAML loads.

How each metric is computed stays with the code that computes it: the test figures in
``model.metrics.classification_metrics``, the bootstrap draws in ``model.intervals.METRICS``,
the promotion gains in ``registry.promotion_metrics`` (bootstrapped from ``model.intervals``,
or the campaign profit). A new promotion metric is one entry here with a ``typical_gain``,
plus its bootstrap draws in ``model.intervals`` (the registry's tests check that every
metric a role names can be computed there).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # how people write it, e.g. "ROC-AUC"
    higher_is_better: bool = True
    floor: bool = False  # a test figure ``promotion.floors`` may name
    monitored: bool = False  # realized, with its interval, on each labeled snapshot
    estimated: bool = False  # estimated without labels from calibrated probabilities (CBPE)
    online: bool = False  # realized per arm and model version from the prediction log
    # A promotion metric: the prior scale of a real gain (the challenger trial's mixture
    # spread), in the metric's units, about the size of gain a retrain can bring.
    typical_gain: float | None = None
    needs_economics: bool = False  # computed from the dataset YAML's ``economics``


METRICS: dict[str, Metric] = {metric.name: metric for metric in (
    Metric("accuracy", "accuracy", floor=True),
    Metric("precision", "precision", floor=True),
    Metric("recall", "recall", floor=True),
    Metric("f1", "F1", floor=True, monitored=True, estimated=True, online=True,
           typical_gain=0.03),
    Metric("roc_auc", "ROC-AUC", floor=True, monitored=True, estimated=True, online=True,
           typical_gain=0.01),
    Metric("pr_auc", "PR-AUC", floor=True, monitored=True, typical_gain=0.02),
    Metric("log_loss", "log-loss", higher_is_better=False, typical_gain=0.01),
    # Per customer scored: the campaign profit of the candidate's contact list minus the
    # champion's (registry.promotion_metrics); 1 money unit is about what a retrain that
    # reaches 2 % more churners gains with the Telco example economics.
    Metric("expected_profit", "expected profit", typical_gain=1.0, needs_economics=True),
)}

FLOOR_METRICS = tuple(name for name, metric in METRICS.items() if metric.floor)
MONITORED_METRICS = tuple(name for name, metric in METRICS.items() if metric.monitored)
ESTIMATED_METRICS = tuple(name for name, metric in METRICS.items() if metric.estimated)
ONLINE_METRICS = tuple(name for name, metric in METRICS.items() if metric.online)
PROMOTION_METRICS = tuple(name for name, metric in METRICS.items()
                          if metric.typical_gain is not None)


def label(name: str) -> str:
    """How people write the metric (its name when the registry has none)."""
    return METRICS[name].label if name in METRICS else name
