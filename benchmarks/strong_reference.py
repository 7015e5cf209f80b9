"""The strong reference beside the champion: scikit-learn's HistGradientBoostingClassifier
(defaults) and a logistic regression, fitted on the graph's own train rows and scored on its
own test rows (read from the run's state folder), with the same columns the champion may
use (the column_roles asset's numeric and categorical features; categoricals one-hot encoded,
numeric missing values imputed for the logistic regression only).

Nothing here feeds a decision: the test rows are only scored, as for the champion.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

TARGET_GAP = 0.005  # the champion should be within this of the better reference, or above


def _state_file(state: Path, asset: str, suffix: str) -> Path:
    found = sorted(state.rglob(f"{asset}{suffix}"))
    if not found:
        raise FileNotFoundError(f"no {asset}{suffix} under {state}")
    return found[0]


def _pipelines(numeric: list[str], categorical: list[str]) -> dict[str, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def columns(numeric_steps: list) -> ColumnTransformer:
        one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        return ColumnTransformer([("num", make_pipeline(*numeric_steps) if numeric_steps
                                   else "passthrough", numeric),
                                  ("cat", one_hot, categorical)])

    return {
        "hist_gradient_boosting": make_pipeline(columns([]), HistGradientBoostingClassifier()),
        "logistic_regression": make_pipeline(
            columns([SimpleImputer(strategy="median"), StandardScaler()]),
            LogisticRegression(max_iter=2000)),
    }


def strong_reference(state: Path) -> dict[str, dict[str, float]]:
    """{model: {valid_roc_auc, test_roc_auc, valid_f1, test_f1}} on the run's own splits."""
    from sklearn.metrics import f1_score, roc_auc_score

    roles = json.loads(_state_file(state, "column_roles", ".json").read_text())
    splits = pd.read_parquet(_state_file(state, "customer_splits", ".parquet"))
    numeric, categorical = list(roles["numeric"]), list(roles["categorical"])
    frame = splits[numeric + categorical].copy()
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    frame[categorical] = frame[categorical].astype(str)
    parts = {name: (frame[splits["split"] == name], splits.loc[splits["split"] == name, "label"])
             for name in ("train", "valid", "test")}
    results: dict[str, dict[str, float]] = {}
    for name, model in _pipelines(numeric, categorical).items():
        model.fit(*parts["train"])
        figures = {}
        for split in ("valid", "test"):
            rows, labels = parts[split]
            probability = model.predict_proba(rows)[:, 1]
            figures[f"{split}_roc_auc"] = float(roc_auc_score(labels, probability))
            figures[f"{split}_f1"] = float(f1_score(labels, probability >= 0.5))
        results[name] = figures
    return results


def gap_row(size: str, champion: dict[str, float], reference: dict[str, dict[str, float]]
            ) -> list[str]:
    best_name = max(reference, key=lambda n: reference[n]["test_roc_auc"])
    best = reference[best_name]["test_roc_auc"]
    mine = champion.get("test_roc_auc", float("nan"))
    gap = mine - best
    return [size, f"{mine:.4f}",
            *(f"{reference[n]['test_roc_auc']:.4f}" for n in sorted(reference)),
            f"{gap:+.4f}", "yes" if gap >= -TARGET_GAP else "no"]
