"""A first model must beat the table's own baselines, not floors set on another table.

Absolute floors (``min_f1`` 0.55, ``min_roc_auc`` 0.75) were set on Telco's 26 % churners;
F1 depends on the base rate (flagging everyone already scores 2p / (1 + p)), so on a table
with 16 % churners they refused a model of ROC-AUC 0.835. By default a first model is judged
against three baselines on the test rows (``promotion.baselines``; floors are opt-in):

1. **chance**: the lower bound of its ROC-AUC interval (at ``promotion.level``) is above 0.5;
2. **flag everyone**: its F1 is above the F1 of flagging every customer, 2p / (1 + p) at the
   test rows' churn rate p;
3. **a plain logistic regression** on the same features (fitted on the train rows, standard
   scaled, median-imputed): the paired ROC-AUC delta's interval is not entirely below
   ``-promotion.baseline_margin`` (a tuned model may tie it; it may not clearly lose to it).

The logistic regression is fitted where the features are (``tuned_churn_model``) and only
its comparison travels (``logistic_comparison``); the verdict is ``baseline_failure``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from churn_assets.data.baselines import flag_everyone_f1
from churn_assets.dataset_config import PromotionConfig
from churn_assets.model.intervals import metric_interval, paired_delta_interval

FIT_ROWS = 100_000  # train rows the logistic regression reads (a baseline, not a model)


def logistic_probabilities(x_train: pd.DataFrame, y_train: np.ndarray,
                           x_test: pd.DataFrame, seed: int = 0) -> np.ndarray:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from churn_assets.model.candidate import stratified_sample

    rows = stratified_sample(y_train, FIT_ROWS, seed)
    model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                          StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x_train.iloc[rows].to_numpy(dtype=float), y_train[rows])
    return model.predict_proba(x_test.to_numpy(dtype=float))[:, 1]


def logistic_comparison(features: pd.DataFrame, candidate_test: np.ndarray, threshold: float,
                        settings: PromotionConfig) -> dict[str, Any]:
    """The candidate's paired ROC-AUC delta over a logistic regression on the same test rows
    (``features``: the model matrix with split and label), as plain JSON."""
    from churn_assets.model.candidate import split_matrix

    x_train, y_train = split_matrix(features, "train")
    x_test, y_test = split_matrix(features, "test")
    if np.unique(y_train).size < 2 or np.unique(y_test).size < 2:
        return {}
    baseline = logistic_probabilities(x_train, y_train, x_test, settings.seed)
    delta = paired_delta_interval("roc_auc", y_test, candidate_test, threshold, baseline, 0.5,
                                  resamples=settings.resamples, seed=settings.seed,
                                  level=settings.level)
    return {"logistic_roc_auc": _auc(y_test, baseline),
            "delta": delta.estimate, "delta_low": delta.low, "delta_high": delta.high,
            "delta_text": delta.text()}


def _auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, probabilities))


def baseline_failure(labels: np.ndarray, probabilities: np.ndarray, f1: float,
                     settings: PromotionConfig, logistic: dict[str, Any] | None
                     ) -> tuple[str | None, str]:
    """(the refusal naming the baseline failed, or None; what the baselines were)."""
    rate = float(np.mean(labels))
    everyone = flag_everyone_f1(rate)
    auc = metric_interval("roc_auc", labels, probabilities, 0.5, resamples=settings.resamples,
                          seed=settings.seed, level=settings.level)
    summary = (f"ROC-AUC {auc.estimate:.4f} [{auc.low:.4f}, {auc.high:.4f}] ({settings.level:.0%})"
               f" vs chance 0.5; F1 {f1:.4f} vs flagging everyone {everyone:.4f} (at "
               f"{rate:.1%} churners)")
    if logistic:
        summary += (f"; ROC-AUC vs a logistic regression ({logistic['logistic_roc_auc']:.4f}) "
                    f"{logistic['delta_text']}")
    if not settings.baselines:
        return None, summary
    if not auc.low > 0.5:
        return (f"not promoted: test ROC-AUC {auc.estimate:.4f} [{auc.low:.4f}, "
                f"{auc.high:.4f}] ({settings.level:.0%}) does not clear 0.5, the baseline of "
                "ranking customers at random"), summary
    if not f1 > everyone:
        return (f"not promoted: test F1 {f1:.4f} is not above {everyone:.4f}, the baseline of "
                f"flagging every customer (2p/(1+p) at {rate:.1%} churners)"), summary
    if logistic and logistic["delta_high"] < -settings.baseline_margin:
        return (f"not promoted: ranks worse than the baseline of a plain logistic regression "
                f"on the same features (its test ROC-AUC {logistic['logistic_roc_auc']:.4f}; "
                f"delta {logistic['delta_text']} entirely below "
                f"-{settings.baseline_margin:g})"), summary
    return None, summary
