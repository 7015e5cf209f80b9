"""First models registered on generated tables of 5, 15 and 40 % churners (issue 29).

Per table (``churn_assets.generator``, ``--rows`` customers, one seed per repeat): the
package's own path (column roles, preprocessing fitted on train, Optuna + XGBoost with
``--trials`` trials), then the first-model decision on the test rows twice: with the old
default floors (``min_f1`` 0.55, ``min_roc_auc`` 0.75, set on Telco's 26.5 % churners) and
with the new defaults (the table's own baselines, ``registry.first_model``). Reported per
churn rate: the share of first models registered (promoted) under each, the test ROC-AUC
and F1 and which baseline refused.

    nice python -m benchmarks.first_model_bench --seeds 5 --out .bench/first_model.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from benchmarks.promotion_bench import train
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.dataset_config import PromotionConfig, parse_dataset_config
from churn_assets.generator import generate_customers
from churn_assets.names import LABEL, ROW_ID, SPLIT
from churn_assets.registry.first_model import logistic_comparison
from churn_assets.registry.promotion_rule import decide_promotion

ROOT = Path(__file__).resolve().parents[1]
optuna.logging.set_verbosity(optuna.logging.WARNING)


def first_decisions(rate: float, seed: int, rows: int, trials: int) -> dict:
    config = parse_dataset_config({"source": "x.csv", "target": "Churn",
                                   "positive_label": "Yes", "id_column": "customerID",
                                   "model_name": "m"}, ROOT)
    customers = generate_customers(rows, seed=seed, churn_rate=rate)
    split = assign_splits(customers["customerID"], config.split).to_numpy()
    model = train(config, customers, split, seed, trials)
    test = customers[split == "test"]
    labels = binary_target(test["Churn"], "Yes").to_numpy()
    scored = model.score(test)
    features = pd.concat([pd.DataFrame({ROW_ID: customers["customerID"], SPLIT: split,
                                        LABEL: binary_target(customers["Churn"], "Yes")}),
                          model.preprocessor.transform(customers)], axis=1)
    new = PromotionConfig(resamples=500)
    old = new.model_copy(update={"min_f1": 0.55, "min_roc_auc": 0.75, "baselines": False})
    logistic = logistic_comparison(features, scored.probabilities, scored.threshold, new)
    rows_ = test.drop(columns=["Churn"])
    after = decide_promotion(scored, None, labels, rows_, new, logistic=logistic)
    before = decide_promotion(scored, None, labels, rows_, old)
    return {"rate": rate, "seed": seed, "test_rows": int(labels.size),
            "test_churners": int(labels.sum()), "roc_auc": after.candidate_roc_auc,
            "f1": after.candidate_f1, "logistic_roc_auc": logistic.get("logistic_roc_auc"),
            "registered_old_floors": before.promote, "registered_baselines": after.promote,
            "old_reason": before.reason, "new_reason": after.reason}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "first_model.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs = [first_decisions(rate, 500 + seed, args.rows, args.trials)
            for rate in (0.05, 0.15, 0.4) for seed in range(args.seeds)]
    table = pd.DataFrame(runs)
    summary = table.groupby("rate").agg(
        runs=("seed", "size"), registered_old_floors=("registered_old_floors", "mean"),
        registered_baselines=("registered_baselines", "mean"),
        roc_auc=("roc_auc", "mean"), f1=("f1", "mean"),
        logistic_roc_auc=("logistic_roc_auc", "mean"),
        test_churners=("test_churners", "mean")).reset_index()
    result = {"rows": args.rows, "trials": args.trials, "seeds": args.seeds,
              "summary": summary.to_dict("records"),
              "refusals": [r for r in runs if not r["registered_baselines"]],
              "seconds": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float))
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(json.dumps(result["refusals"], indent=1, default=float)[:3000])
    print(f"{result['seconds']} s")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
