"""A small real XGBoost champion trained on generated customers, for monitoring tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from churn_assets.generator import DistributionShift, generate_customers
from churn_assets.model.metric_registry import MONITORED_METRICS
from churn_assets.model.metrics import best_f1_threshold, classification_metrics
from churn_assets.model.preprocessing import ChurnPreprocessor

NUMERIC = ("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges")


def labels(frame: pd.DataFrame) -> np.ndarray:
    return frame["Churn"].eq("Yes").astype(int).to_numpy()


@dataclass(frozen=True)
class SmallChampion:
    preprocessor: ChurnPreprocessor
    model: xgb.XGBClassifier
    threshold: float
    train_ids: tuple[str, ...]
    valid: pd.DataFrame
    reference: dict[str, float]  # test metrics "at registration"

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self.preprocessor.transform(frame))[:, 1]


def train_small_champion(seed: int = 11) -> SmallChampion:
    """Train / valid / test drawn from the reference population; n_jobs=1 keeps it fast on
    shared cores (XGBoost threads contend badly)."""
    train, valid, test = (generate_customers(n, seed=seed + i)
                          for i, n in enumerate((4000, 1500, 1500)))
    categorical = tuple(c for c in train.columns if c not in (*NUMERIC, "customerID", "Churn"))
    preprocessor = ChurnPreprocessor(NUMERIC, categorical).fit(train)
    model = xgb.XGBClassifier(n_estimators=150, max_depth=3, learning_rate=0.1, n_jobs=1,
                              random_state=0)
    model.fit(preprocessor.transform(train), labels(train))
    champion = SmallChampion(preprocessor, model, 0.5, tuple(train["customerID"]), valid, {})
    threshold = best_f1_threshold(labels(valid), champion.probabilities(valid))
    metrics = classification_metrics(labels(test), champion.probabilities(test), threshold)
    reference = {k: metrics[k] for k in MONITORED_METRICS}
    return SmallChampion(preprocessor, model, threshold, champion.train_ids, valid, reference)


def snapshot(seed: int, rows: int = 2500, **shift: float) -> pd.DataFrame:
    return generate_customers(rows, seed=seed, shift=DistributionShift(**shift))


# A covariate-only shift: more month-to-month and fibre customers, higher bills.
COVARIATE_SHIFT = {"month_to_month_share": 0.85, "fiber_share": 0.6, "charges_multiplier": 1.3}
