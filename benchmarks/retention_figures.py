"""The retention figures of the champion (issue 17), after a headless run of the graph:

    CHURN_DATASET_CONFIG=examples/telco_retention.yaml dagster asset materialize -m churn_assets \
        --select "*"
    CHURN_DATASET_CONFIG=examples/telco_retention.yaml python -m benchmarks.retention_figures

Prints, from the champion's MLflow run (all decided on validation rows, measured once on the
test split): the expected profit of the chosen policy, of contacting everyone, of the F1
threshold and of a random list of the same size; top-decile lift; Brier and ECE before and
after the chosen calibration, and what isotonic and Platt (fitted on the validation rows)
would have given on test; and the reasons of three test customers next to their raw rows.
"""

from __future__ import annotations

import dataclasses

import mlflow
import numpy as np
import pandas as pd

from churn_assets.cli.store import open_store
from churn_assets.data.sources import read_source
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.environment import current
from churn_assets.model.calibration import brier, expected_calibration_error, fit_calibrator
from churn_assets.model.contact_list import SCORE_PARAMS, contact_list, served_decision
from churn_assets.model.economics import customer_values, expected_profit
from churn_assets.registry.model_registry import current_champion_version

SHOWN_COLUMNS = ("tenure", "Contract", "MonthlyCharges", "TotalCharges", "InternetService",
                 "TechSupport", "PaymentMethod")


def _run_metrics(store, version: str) -> dict[str, float]:
    run_id = store.client.get_model_version(store.model_name, version).run_id
    return store.client.get_run(run_id).data.metrics


def main() -> None:
    store = open_store(None, current())
    version = current_champion_version(store.client, store.model_name)
    metrics = _run_metrics(store, version)
    print(f"champion {store.model_name} v{version}; dataset {store.config.source}")
    print("\n| test rows: expected profit of | value |\n|---|---|")
    for key in ("policy", "everyone", "f1_threshold", "random_same_size"):
        print(f"| {key} | {metrics[f'test_expected_profit_{key}']:,.0f} |")
    print(f"| (customers contacted by the policy) | {metrics['test_contacted']:.0f} "
          f"({metrics['test_contacted_share']:.1%}) |")
    print(f"\ntop-decile lift (test): {metrics['test_top_decile_lift']:.2f}")

    config = store.config
    frame = read_source(config.source, text_columns=[config.id_column]).frame
    split = assign_splits(frame[config.id_column], config.split).to_numpy()
    labels = binary_target(frame[config.target], config.positive_label).to_numpy()
    model = mlflow.pyfunc.load_model(f"models:/{store.model_name}/{version}")
    decision = served_decision(model)
    rows = frame.drop(columns=[config.target])
    raw = model.predict(rows)["churn_probability"].to_numpy()
    valid, test = split == "valid", split == "test"
    print("\n| calibration (test rows) | Brier | ECE | out-of-fold Brier on valid |")
    print("|---|---|---|---|")
    print(f"| raw (before) | {brier(labels[test], raw[test]):.4f} | "
          f"{expected_calibration_error(labels[test], raw[test]):.4f} | "
          f"{metrics['valid_brier_identity_out_of_fold']:.4f} |")
    for method in ("isotonic", "platt"):
        calibrated = fit_calibrator(labels[valid], raw[valid], method).apply(raw[test])
        chosen = " (chosen)" if decision.calibration["method"] == method else ""
        print(f"| {method}{chosen} | {brier(labels[test], calibrated):.4f} | "
              f"{expected_calibration_error(labels[test], calibrated):.4f} | "
              f"{metrics[f'valid_brier_{method}_out_of_fold']:.4f} |")
    print(f"| chosen: {decision.calibration['method']} (after) | "
          f"{metrics['test_brier_calibrated']:.4f} | {metrics['test_ece_calibrated']:.4f} | |")

    test_labels = labels[test]
    print(f"\ncustomers above the F1 threshold {decision.threshold:.3f} (test): "
          f"{int((raw[test] >= decision.threshold).sum())} of {int(test.sum())}")
    test_rows = frame[test].reset_index(drop=True)
    values = customer_values(decision.economics.customer_value, test_rows)
    ev = decision.expected_values(test_rows, raw[test])
    print("\n| other policies, same calibration (test rows) | contacted | expected profit |")
    print("|---|---|---|")
    for share in (0.05, 0.1, 0.2, 0.3):
        variant = dataclasses.replace(decision, policy="capacity", capacity=share)
        contact = variant.contact(raw[test] >= decision.threshold, ev).astype(bool)
        profit = expected_profit(test_labels, raw[test], contact, values, decision.economics)
        print(f"| capacity {share:.0%} | {contact.sum()} | {profit:,.0f} |")

    answers = model.predict(test_rows.drop(columns=[config.target]), params=SCORE_PARAMS)
    listed = contact_list(test_rows[[config.id_column]], answers, decision)
    contacted = listed[listed["contact"] == 1].sort_values("rank")
    picks = [contacted.index[0], contacted.index[len(contacted) // 2],
             listed[listed["contact"] == 0].sort_values("rank").index[0]]
    print("\nthree test customers: the best contact, the median contact, the best left out")
    for index in picks:
        row = test_rows.loc[index]
        answer = listed.loc[index]
        raw_text = ", ".join(f"{c}={row[c]}" for c in SHOWN_COLUMNS if c in row)
        print(f"\n- {row[config.id_column]} (churned: {row[config.target]}): {raw_text}")
        print(f"  p={answer['churn_probability']:.3f}, expected value "
              f"{answer['expected_value']:.2f}, rank {answer['rank']}, contact {answer['contact']}")
        print(f"  reasons: {answer['reason_1']}; {answer['reason_2']}; {answer['reason_3']}")
    assert np.isfinite(pd.to_numeric(listed["expected_value"])).all()


if __name__ == "__main__":
    main()
