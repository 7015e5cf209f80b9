"""Decision thresholds on small tables (issue 29): the F1-optimal threshold chosen on the
validation split against one chosen out of fold over train + valid.

Per seed: one generated table (``churn_assets.generator``, ``--rows`` customers at
``--rate`` churn; the default split gives ~70 % train rows) and ``--fresh`` more customers
drawn with it (the same P(churn | features)) that no model sees. The package's own path
(column roles, preprocessing fitted on train, Optuna + XGBoost, ``--trials`` trials) with
``tuning.threshold_from: out_of_fold``; the same fitted model is thresholded both ways, so
only the threshold differs. Beside it the strong reference: scikit-learn's
HistGradientBoosting (defaults, ``benchmarks.strong_reference``'s columns) fitted on train +
valid with an F1 threshold cross-validated over the same rows (``TunedThresholdClassifierCV``,
5 stratified folds). All three are scored by F1 on the fresh rows; the test split is unused.

    nice python -m benchmarks.threshold_bench --seeds 8 --out .bench/threshold.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

from benchmarks.promotion_bench import train
from benchmarks.strong_reference import _pipelines
from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import parse_dataset_config
from churn_assets.generator import generate_customers
from churn_assets.model.metrics import best_f1_threshold

ROOT = Path(__file__).resolve().parents[1]
optuna.logging.set_verbosity(optuna.logging.WARNING)


def reference_f1(config, customers: pd.DataFrame, split: np.ndarray, fresh: pd.DataFrame,
                 seed: int) -> tuple[float, float]:
    roles = infer_column_roles(customers, config)
    numeric, categorical = list(roles.numeric), list(roles.categorical)

    def matrix(rows: pd.DataFrame) -> pd.DataFrame:
        frame = rows[numeric + categorical].copy()
        frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
        frame[categorical] = frame[categorical].astype(str)
        return frame

    labeled = split != "test"
    model = TunedThresholdClassifierCV(
        _pipelines(numeric, categorical)["hist_gradient_boosting"], scoring="f1",
        cv=StratifiedKFold(5, shuffle=True, random_state=seed), random_state=seed)
    model.fit(matrix(customers[labeled]), binary_target(customers.loc[labeled, "Churn"], "Yes"))
    labels = binary_target(fresh["Churn"], "Yes").to_numpy()
    probability = model.estimator_.predict_proba(matrix(fresh))[:, 1]
    return (float(f1_score(labels, probability >= model.best_threshold_)),
            float(roc_auc_score(labels, probability)))


def one_seed(seed: int, rows: int, fresh_rows: int, rate: float, trials: int) -> dict:
    config = parse_dataset_config({"source": "x.csv", "target": "Churn",
                                   "positive_label": "Yes", "id_column": "customerID",
                                   "model_name": "m"}, ROOT)
    config = config.model_copy(update={"tuning": config.tuning.model_copy(
        update={"threshold_from": "out_of_fold"})})
    everyone = generate_customers(rows + fresh_rows, seed=seed, churn_rate=rate)
    customers, fresh = everyone.iloc[:rows].reset_index(drop=True), everyone.iloc[rows:]
    split = assign_splits(customers["customerID"], config.split).to_numpy()
    model = train(config, customers, split, seed, trials)
    candidate = model.candidate
    y_valid = binary_target(customers.loc[split == "valid", "Churn"], "Yes").to_numpy()
    valid_threshold = best_f1_threshold(y_valid, candidate.valid_probability)
    labels = binary_target(fresh["Churn"], "Yes").to_numpy()
    probability = model.score(fresh).probabilities
    reference, reference_auc = reference_f1(config, customers, split, fresh, seed)
    return {"seed": seed, "train_rows": int((split == "train").sum()),
            "valid_churners": int(y_valid.sum()),
            "valid_threshold": valid_threshold, "oof_threshold": candidate.threshold,
            "f1_valid": float(f1_score(labels, probability >= valid_threshold)),
            "f1_oof": float(f1_score(labels, probability >= candidate.threshold)),
            "f1_reference": reference, "roc_auc": float(roc_auc_score(labels, probability)),
            "roc_auc_reference": reference_auc}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--rows", type=int, default=5700)  # ~4,000 train rows
    parser.add_argument("--fresh", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=0.14)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "threshold.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs = []
    for seed in range(args.seeds):
        runs.append(one_seed(900 + seed, args.rows, args.fresh, args.rate, args.trials))
        print(json.dumps(runs[-1], default=float), flush=True)
    table = pd.DataFrame(runs)
    summary = {
        "seeds": args.seeds, "rows": args.rows, "rate": args.rate, "trials": args.trials,
        "valid_churners": float(table["valid_churners"].mean()),
        **{f"mean_{c}": float(table[c].mean()) for c in
           ("f1_valid", "f1_oof", "f1_reference", "roc_auc", "roc_auc_reference")},
        "mean_oof_minus_valid": float((table["f1_oof"] - table["f1_valid"]).mean()),
        "oof_beats_valid": float((table["f1_oof"] > table["f1_valid"]).mean()),
        "oof_beats_reference": float((table["f1_oof"] > table["f1_reference"]).mean()),
        "valid_beats_reference": float((table["f1_valid"] > table["f1_reference"]).mean()),
        "seconds": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=2, default=float))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
