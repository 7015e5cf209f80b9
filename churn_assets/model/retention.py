"""The retention decision of a candidate: fitted on validation rows, reported on test rows.

``fit_retention`` reads only the validation split (calibration, the F1 threshold the
candidate already chose there, the policy's validation profit); ``evaluate_retention`` then
scores the fixed decision once on the test split, like ``candidate.train_candidate`` does for
the classification metrics. The pictures are in ``campaign_plots``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn_assets.model.calibration import (
    CalibrationChoice,
    brier,
    choose_calibrator,
    expected_calibration_error,
)
from churn_assets.model.campaign_metrics import lift_at
from churn_assets.model.campaign_plots import write_campaign_plots
from churn_assets.model.decision_policy import POLICIES, RetentionDecision
from churn_assets.model.economics import Economics, customer_values, expected_profit
from churn_assets.model.sections import DecisionConfig, EconomicsConfig
from churn_assets.names import LABEL, SPLIT


@dataclass(frozen=True)
class RetentionFit:
    decision: RetentionDecision
    calibration: CalibrationChoice
    valid_metrics: dict[str, float] = field(default_factory=dict)


def _economics(config: EconomicsConfig | None) -> Economics | None:
    if config is None:
        return None
    return Economics(config.contact_cost, config.incentive_cost, config.retention_rate,
                     config.customer_value)


def split_rows(features: pd.DataFrame, raw_rows: pd.DataFrame, split: str):
    """(labels, raw rows) of one split; ``raw_rows`` is row-aligned with ``features``."""
    members = (features[SPLIT] == split).to_numpy()
    return features.loc[members, LABEL].to_numpy().astype(int), raw_rows[members]


def policy_profits(decision: RetentionDecision, labels: np.ndarray, raw_rows: pd.DataFrame,
                   probabilities: np.ndarray) -> dict[str, float]:
    """Expected profit on labeled rows of each policy with this decision's calibration and
    threshold (capacity only when configured)."""
    values = customer_values(decision.economics.customer_value, raw_rows)
    ev = decision.expected_values(raw_rows, probabilities)
    flagged = probabilities >= decision.threshold
    profits = {}
    for policy in POLICIES:
        if policy == "capacity" and decision.capacity is None:
            continue
        variant = RetentionDecision(decision.threshold, policy, decision.capacity,
                                    decision.calibration, decision.economics)
        contact = variant.contact(flagged, ev).astype(bool)
        profits[policy] = expected_profit(labels, probabilities, contact, values,
                                          decision.economics)
    return profits


def fit_retention(
    valid_labels: np.ndarray, valid_probabilities: np.ndarray, valid_rows: pd.DataFrame,
    threshold: float, economics: EconomicsConfig | None, decision: DecisionConfig,
    seed: int = 0,
) -> RetentionFit:
    """Calibration (chosen by cross-fitted Brier) and the decision, from validation rows only;
    the signature takes no other rows."""
    choice = choose_calibrator(valid_labels, valid_probabilities, seed=seed)
    fitted = RetentionDecision(float(threshold), decision.policy, decision.capacity,
                               choice.calibrator.to_dict(), _economics(economics))
    metrics = {f"valid_brier_{m}_out_of_fold": v for m, v in choice.out_of_fold_brier.items()}
    if fitted.economics is not None:
        profits = policy_profits(fitted, valid_labels, valid_rows, valid_probabilities)
        metrics |= {f"valid_expected_profit_{p}": v for p, v in profits.items()}
    return RetentionFit(fitted, choice, metrics)


def evaluate_retention(decision: RetentionDecision, labels: np.ndarray, raw_rows: pd.DataFrame,
                       probabilities: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Test figures of the fixed decision: calibration before/after, top-decile lift and,
    with economics, the expected profit of the policy, of contacting everyone, of the F1
    threshold and of a random list of the policy's size (its exact expectation)."""
    calibrated = decision.calibrated(probabilities)
    metrics = {
        "test_brier_raw": brier(labels, probabilities),
        "test_brier_calibrated": brier(labels, calibrated),
        "test_ece_raw": expected_calibration_error(labels, probabilities),
        "test_ece_calibrated": expected_calibration_error(labels, calibrated),
        "test_top_decile_lift": lift_at(labels, probabilities, 0.1),
    }
    if decision.economics is None:
        return metrics
    values = customer_values(decision.economics.customer_value, raw_rows)
    ev = decision.expected_values(raw_rows, probabilities)
    contact = decision.contact(probabilities >= decision.threshold, ev).astype(bool)
    everyone = np.ones(labels.size, dtype=bool)
    profit = {name: expected_profit(labels, probabilities, mask, values, decision.economics)
              for name, mask in (("policy", contact), ("everyone", everyone))}
    profit["f1_threshold"] = expected_profit(labels, probabilities, decision.threshold, values,
                                             decision.economics)
    # A random list of the same size: each row is on it with probability k / n.
    profit["random_same_size"] = contact.mean() * profit["everyone"]
    metrics |= {f"test_expected_profit_{k}": float(v) for k, v in profit.items()}
    metrics |= {"test_contacted": float(contact.sum()), "test_contacted_share": contact.mean()}
    return metrics


def retention_summary(decision: RetentionDecision, metrics: dict[str, Any]) -> dict[str, Any]:
    """Plain facts for the model card's retention section."""
    return {"policy": decision.policy, "capacity": decision.capacity,
            "calibration": decision.calibration.get("method"),
            "economics": decision.economics.to_dict() if decision.economics else None,
            "metrics": {k: float(v) for k, v in metrics.items()}}



@dataclass(frozen=True)
class RetentionOutcome:
    fit: RetentionFit
    metrics: dict[str, float]  # valid_* (decision inputs) and test_* (reported once)
    pictures: dict[str, Path]


def train_retention(
    features: pd.DataFrame, raw_rows: pd.DataFrame, valid_probability: np.ndarray,
    test_probability: np.ndarray, threshold: float, economics: EconomicsConfig | None,
    decision: DecisionConfig, folder: Path, seed: int = 0,
) -> RetentionOutcome:
    """Fit on the validation rows, then report and draw on the test rows. ``raw_rows``:
    the source columns, row-aligned with ``features``; ``valid_probability``: the model's
    probabilities on the validation rows before any refit on train + valid."""
    valid_labels, valid_rows = split_rows(features, raw_rows, "valid")
    fit = fit_retention(valid_labels, valid_probability, valid_rows, threshold, economics,
                        decision, seed)
    test_labels, test_rows = split_rows(features, raw_rows, "test")
    metrics = fit.valid_metrics | evaluate_retention(fit.decision, test_labels, test_rows,
                                                     test_probability)
    pictures = write_campaign_plots(folder, fit.decision, test_labels, test_rows,
                                    test_probability)
    return RetentionOutcome(fit, metrics, pictures)


def retention_params(decision: RetentionDecision) -> dict[str, Any]:
    """MLflow params of the decision (the full decision is in the served model)."""
    params = {"decision.policy": decision.policy,
              "calibration.method": decision.calibration.get("method", "identity")}
    if decision.capacity is not None:
        params["decision.capacity"] = decision.capacity
    if decision.economics is not None:
        params |= {f"economics.{k}": v for k, v in decision.economics.to_dict().items()}
    return params


def retention_metadata(outcome: RetentionOutcome) -> dict[str, float | str]:
    """Flat figures for the training asset's metadata (rounded, test figures and policy)."""
    return {"decision_policy": outcome.fit.decision.policy,
            "calibration_method": outcome.fit.decision.calibration.get("method", "identity"),
            **{k: round(float(v), 4) for k, v in outcome.metrics.items()
               if k.startswith("test_")}}
