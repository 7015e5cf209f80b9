"""Pictures a campaign manager reads: cumulative gains, lift, the expected-profit curve over
the share contacted (the policy marked) and the reliability diagram before/after calibration.

Same conventions as ``evaluation_plots``: matplotlib's object API, small PNGs (dpi 80) that
embed in Dagster metadata, drawn from test rows with the decision fixed on validation rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churn_assets.model.calibration import brier
from churn_assets.model.campaign_metrics import cumulative_gains
from churn_assets.model.decision_policy import RetentionDecision, ranks
from churn_assets.model.economics import customer_values, realized_value
from churn_assets.model.evaluation_plots import DPI, SIZE, fixed_figure

# matplotlib and sklearn are imported by the functions that draw: the definitions import
# this module, and loading them (code server, sensor, `dg check defs`) draws nothing.
if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure() -> tuple[Figure, object]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, layout="constrained")
    return figure, figure.subplots()


def gains_figure(labels: np.ndarray, probabilities: np.ndarray) -> Figure:
    contacted, reached = cumulative_gains(labels, probabilities)
    figure, ax = fixed_figure()
    ax.plot(contacted, reached, label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="random list")
    ax.set(xlabel="share of customers contacted (highest score first)",
           ylabel="share of churners reached", title="Cumulative gains")
    ax.legend(loc="lower right")
    return figure


def lift_figure(labels: np.ndarray, probabilities: np.ndarray, deciles: int = 10) -> Figure:
    y = np.asarray(labels, dtype=float)
    order = np.argsort(-np.asarray(probabilities, dtype=float), kind="stable")
    groups = np.array_split(y[order], deciles)
    lift = [group.mean() / y.mean() for group in groups]
    figure, ax = fixed_figure()
    ax.bar(np.arange(1, deciles + 1), lift)
    ax.axhline(1, color="grey", linestyle="--", linewidth=0.8)
    ax.set(xlabel="decile (1 = highest churn scores)", ylabel="lift (churn rate / overall)",
           title=f"Lift per decile (top decile {lift[0]:.2f})")
    ax.set_xticks(range(1, deciles + 1))
    return figure


def profit_curve_figure(decision: RetentionDecision, labels: np.ndarray,
                        raw_rows: pd.DataFrame, probabilities: np.ndarray) -> Figure:
    """Profit on these labeled rows of contacting the top share by expected value, over the
    share; the policy's list and the F1 threshold's marked."""
    values = customer_values(decision.economics.customer_value, raw_rows)
    ev = decision.expected_values(raw_rows, probabilities)
    per_row = realized_value(labels, values, decision.economics)
    order = np.argsort(ranks(ev))
    curve = np.r_[0.0, np.cumsum(per_row[order])]
    share = np.arange(curve.size) / max(per_row.size, 1)
    contact = decision.contact(probabilities >= decision.threshold, ev).astype(bool)
    f1_list = probabilities >= decision.threshold
    figure, ax = _figure()
    ax.plot(share, curve, label="top share by expected value")
    ax.scatter([contact.mean()], [per_row[contact].sum()], color="tab:red", zorder=3,
               label=f"policy '{decision.policy}' ({contact.mean():.0%})")
    ax.scatter([f1_list.mean()], [per_row[f1_list].sum()], color="tab:green", marker="s",
               zorder=3, label=f"F1 threshold ({f1_list.mean():.0%})")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="share of customers contacted", ylabel="expected profit",
           title="Expected profit of the campaign")
    ax.legend(loc="lower left", fontsize=7)
    return figure


def reliability_figure(labels: np.ndarray, raw: np.ndarray, calibrated: np.ndarray,
                       method: str, bins: int = 10) -> Figure:
    from sklearn.calibration import calibration_curve

    figure, ax = fixed_figure()
    for name, values in (("raw", raw), (f"calibrated ({method})", calibrated)):
        observed, predicted = calibration_curve(labels, values, n_bins=bins, strategy="quantile")
        ax.plot(predicted, observed, marker="o",
                label=f"{name}, Brier {brier(labels, values):.4f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="perfect")
    ax.set(xlabel="mean predicted probability", ylabel="observed churn rate",
           title="Reliability (test rows)")
    ax.legend(loc="upper left", fontsize=7)
    return figure


def write_campaign_plots(folder: Path, decision: RetentionDecision, labels: np.ndarray,
                         raw_rows: pd.DataFrame, probabilities: np.ndarray) -> dict[str, Path]:
    """The PNGs in ``folder``, name -> path; the profit curve only with economics."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels).astype(int)
    figures = {
        "cumulative_gains": gains_figure(labels, probabilities),
        "lift": lift_figure(labels, probabilities),
        "reliability": reliability_figure(labels, probabilities,
                                          decision.calibrated(probabilities),
                                          decision.calibration.get("method", "identity")),
    }
    if decision.economics is not None:
        figures["expected_profit_curve"] = profit_curve_figure(decision, labels, raw_rows,
                                                               probabilities)
    paths = {}
    for name, figure in figures.items():
        paths[name] = folder / f"{name}.png"
        figure.savefig(paths[name], dpi=DPI)
    return paths
