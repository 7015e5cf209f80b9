"""The reference a user would write instead of this project (the seed documents' train.py).

Load the CSV, random stratified split 70/15/15, one-hot every text column with
pandas.get_dummies, Optuna (50 trials, TPE, no pruning) over XGBoost maximising validation F1
at threshold 0.5, refit the best parameters on train and score test at 0.5. No orchestration,
no validation, no tracking. The last printed line is a JSON object with its own figures.

    python -m benchmarks.plain_script data.csv --target Churn --positive Yes --id customerID

The one courtesy over a literal seed script: text columns that parse as numbers (Telco's
TotalCharges, blank for 11 new customers) become numbers instead of thousands of dummies,
as every Telco tutorial does; without it the script's comparison would be unfair to it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import optuna
import pandas as pd
import xgboost as xgb
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split


def load(path: str, target: str, positive: str, id_column: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(path)
    y = (frame[target].astype(str) == positive).astype(int).to_numpy()
    x = frame.drop(columns=[target, id_column])
    for column in x.select_dtypes("object"):
        parsed = pd.to_numeric(x[column].str.strip().replace("", np.nan), errors="coerce")
        if parsed.notna().mean() > 0.98:
            x[column] = parsed
    return pd.get_dummies(x, dtype=float), y


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--target", default="Churn")
    parser.add_argument("--positive", default="Yes")
    parser.add_argument("--id", default="customerID")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    x, y = load(args.csv, args.target, args.positive, args.id)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.30, stratify=y, random_state=args.seed)
    x_valid, x_test, y_valid, y_test = train_test_split(
        x_rest, y_rest, test_size=0.50, stratify=y_rest, random_state=args.seed)

    def objective(trial: optuna.Trial) -> float:
        params = {
            "n_estimators": trial.suggest_int("n_estimators", 100, 500),
            "max_depth": trial.suggest_int("max_depth", 3, 8),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
            "min_child_weight": trial.suggest_int("min_child_weight", 1, 10),
        }
        model = xgb.XGBClassifier(**params, random_state=args.seed)
        model.fit(x_train, y_train)
        return f1_score(y_valid, (model.predict_proba(x_valid)[:, 1] >= 0.5).astype(int))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=args.seed))
    start = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    tuning_seconds = time.perf_counter() - start

    model = xgb.XGBClassifier(**study.best_params, random_state=args.seed).fit(x_train, y_train)
    figures = {"tuning_seconds": tuning_seconds, "n_trials": len(study.trials),
               "rows": len(x), "features": x.shape[1]}
    for name, (xs, ys) in {"valid": (x_valid, y_valid), "test": (x_test, y_test)}.items():
        probability = model.predict_proba(xs)[:, 1]
        figures[f"{name}_f1"] = float(f1_score(ys, (probability >= 0.5).astype(int)))
        figures[f"{name}_roc_auc"] = float(roc_auc_score(ys, probability))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
