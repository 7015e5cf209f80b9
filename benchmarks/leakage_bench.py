"""The leakage check's limits and rates (``data.leakage``), on train rows only.

Generated tables (``churn_assets.generator``, many seeds, churn rates 5-40 %, 1,000-7,000
rows) get four kinds of columns written after the outcome, each in a strong and a weak form;
every generated column and every column of the shared Telco file's train rows is an honest
one. Reported: the largest evidence honest columns reach (what the limits must stay above),
the catch rate per leak pattern and the false-flag rate over honest columns, at the
configured defaults.

    nice python -m benchmarks.leakage_bench --seeds 30 --out .bench/leakage.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.leakage import column_evidence, judge, train_sample
from churn_assets.dataset_config import LeakageConfig, parse_dataset_config
from churn_assets.generator import generate_customers

ROOT = Path(__file__).resolve().parents[1]
TELCO = ROOT.parent / "shared" / "data" / "telco-customer-churn.csv"
REASONS = ("Competitor offer", "Price", "Moved", "Service", "Support attitude")


def add_leaks(frame: pd.DataFrame, churned: np.ndarray, rng: np.random.Generator
              ) -> pd.DataFrame:
    """The four patterns, strong and weak; names say nothing about the outcome."""
    n = len(frame)
    risk = (frame["Contract"] == "Month-to-month").to_numpy() * 0.3 + rng.random(n) * 0.2
    filled = churned & (rng.random(n) < 0.5)  # weak: the reason filled for half the churners
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    leaks = {
        "reason_all": np.where(churned, rng.choice(REASONS, n), None),
        "reason_half": np.where(filled, rng.choice(REASONS, n), None),
        "score_from_outcome": np.round(0.5 * churned + risk + rng.normal(0, 0.1, n), 3),
        "score_weak": np.round(0.3 * churned + risk + rng.normal(0, 0.15, n), 3),
        "cancel_date": np.where(churned, days.strftime("%Y-%m"), ""),
        "cancel_date_some": np.where(churned & (rng.random(n) < 0.6),
                                     days.strftime("%Y-%m-%d"), ""),
        "status": np.where(churned, "Left", "Active"),
        "status_noisy": np.where(churned ^ (rng.random(n) < 0.03), 1, 0),
    }
    return frame.assign(**leaks)


LEAKS = ("reason_all", "reason_half", "score_from_outcome", "score_weak", "cancel_date",
         "cancel_date_some", "status", "status_noisy")


def evidence_rows(frame: pd.DataFrame, config, name: str, leaks=()) -> list[dict]:
    roles = infer_column_roles(frame, config)
    train, y = train_sample(frame, config)
    rows = []
    for column in [*roles.numeric, *roles.categorical, *(c for c in leaks
                                                         if c in roles.dropped)]:
        numeric = column in roles.numeric
        evidence = column_evidence(train[column], y, numeric)
        rows.append({"table": name, "column": column, "leak": column in leaks,
                     "auc": evidence.auc, "missing_auc": evidence.missing_auc or 0.5,
                     "churners_only": evidence.churners_only,
                     "dropped_by_roles": column in roles.dropped, "evidence": evidence})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "leakage.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    base = {"source": "x.csv", "target": "Churn", "positive_label": "Yes",
            "id_column": "customerID", "model_name": "m"}
    config = parse_dataset_config(base, ROOT)
    rows: list[dict] = []
    rates, sizes = (0.05, 0.15, 0.265, 0.4), (1000, 3000, 7000)
    for seed in range(args.seeds):
        rate, size = rates[seed % len(rates)], sizes[seed % len(sizes)]
        frame = generate_customers(size, seed=100 + seed, churn_rate=rate)
        churned = (frame["Churn"] == "Yes").to_numpy()
        frame = add_leaks(frame, churned, np.random.default_rng(seed))
        rows += evidence_rows(frame, config, f"generated seed={100 + seed} rate={rate} "
                              f"rows={size}", LEAKS)
    if TELCO.exists():
        rows += evidence_rows(pd.read_csv(TELCO), config, "telco train rows")
    defaults = LeakageConfig()
    for row in rows:
        row["flagged"] = bool(judge(row.pop("evidence"), defaults.max_auc,
                                    defaults.max_churners_only).findings)
    table = pd.DataFrame(rows)
    honest, leaks = table[~table["leak"]], table[table["leak"]]
    strongest = honest.sort_values("auc", ascending=False).head(8)
    result = {
        "seeds": args.seeds, "limits": defaults.model_dump(),
        "honest_columns": len(honest), "honest_flagged": int(honest["flagged"].sum()),
        "honest_false_flag_rate": float(honest["flagged"].mean()),
        "honest_max_auc": float(honest["auc"].max()),
        "honest_max_missing_auc": float(honest["missing_auc"].max()),
        "honest_max_churners_only": float(honest["churners_only"].max()),
        "honest_strongest": strongest[["table", "column", "auc"]].to_dict("records"),
        "telco": table[table["table"] == "telco train rows"].sort_values(
            "auc", ascending=False)[["column", "auc", "missing_auc", "churners_only",
                                     "flagged"]].head(6).to_dict("records"),
        "catch_rate": {leak: float(group["flagged"].mean())
                       for leak, group in leaks.groupby("column")},
        "leak_min_auc": {leak: float(group["auc"].min()) for leak, group in
                         leaks.groupby("column")},
        "dropped_by_roles_anyway": {leak: int(group["dropped_by_roles"].sum())
                                    for leak, group in leaks.groupby("column")},
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
