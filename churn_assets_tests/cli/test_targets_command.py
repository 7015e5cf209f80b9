"""`targets` and `score --reasons` against a real MLflow store and a small real champion
that carries a capacity decision."""

from __future__ import annotations

import mlflow
import pandas as pd

from churn_assets.cli.main import main
from churn_assets.model.candidate import split_matrix
from churn_assets.model.model_logging import log_candidate
from churn_assets.model.retention import train_retention
from churn_assets.model.sections import DecisionConfig, EconomicsConfig
from churn_assets.names import CHAMPION
from churn_assets.registry.model_registry import register_candidate
from churn_assets_tests.helpers.small_candidate import train_small_candidate
from churn_assets_tests.helpers.workspace import ChurnWorkspace

ECONOMICS = {"contact_cost": 5, "incentive_cost": 20, "retention_rate": 0.3,
             "customer_value": "MonthlyCharges * 12"}
CAPACITY = {"policy": "capacity", "capacity": 0.1}


def _champion_with_capacity(workspace: ChurnWorkspace) -> pd.DataFrame:
    small = train_small_candidate(workspace.root / "small")
    x_test, _ = split_matrix(small.features, "test")
    retention = train_retention(
        small.features, small.customers.drop(columns="Churn"),
        small.candidate.valid_probability, small.candidate.model.predict_proba(x_test),
        small.candidate.threshold, EconomicsConfig(**ECONOMICS), DecisionConfig(**CAPACITY),
        workspace.root / "pictures")
    client = workspace.client()
    mlflow.set_experiment("targets")
    with mlflow.start_run() as run:
        info = log_candidate(small.candidate, small.preprocessor.state(),
                             small.customers.drop(columns="Churn"),
                             decision=retention.fit.decision.to_dict())
    version = register_candidate("churn-test", info.model_uri, run.info.run_id)
    client.set_registered_model_alias("churn-test", CHAMPION, version)
    return small.customers


def test_targets_writes_the_best_contacts_with_reasons(workspace: ChurnWorkspace, capsys):
    customers = _champion_with_capacity(workspace)
    source = workspace.write_data("customers.csv", customers)
    workspace.write_config(source, economics=ECONOMICS, decision=CAPACITY)

    everyone = workspace.root / "calls.csv"
    assert main(["targets", "--out", str(everyone)], workspace.settings) == 0
    listed = pd.read_csv(everyone)
    assert 0 < len(listed) <= -(-len(customers) // 10)  # at most ceil(10%) of the list
    assert (listed["contact"] == 1).all() and (listed["expected_value"] > 0).all()
    assert listed["rank"].tolist() == sorted(listed["rank"]) and listed["rank"].iloc[0] == 1
    assert listed["expected_value"].is_monotonic_decreasing
    assert listed["reason_1"].str.match(r"^[^=]+=.* \([+-]\d+\.\d\d\)$").all()
    assert f"wrote {len(listed)} customers to contact (of {len(customers)} scored" in \
        capsys.readouterr().out

    top = workspace.root / "top.parquet"
    assert main(["targets", "--top", "5", "--out", str(top)], workspace.settings) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(top), listed.head(5), check_dtype=False)

    scored = workspace.root / "scores.csv"
    assert main(["score", str(source), "--reasons", "--out", str(scored)], workspace.settings) == 0
    assert list(pd.read_csv(scored).columns) == ["customerID", "churn_probability",
                                                 "churn_prediction", "reason_1", "reason_2",
                                                 "reason_3"]
    assert main(["score", str(source), "--out", str(scored)], workspace.settings) == 0
    assert list(pd.read_csv(scored).columns) == ["customerID", "churn_probability",
                                                 "churn_prediction"]
    assert main(["targets", "--out", str(workspace.root / "calls.xlsx")], workspace.settings) == 1
    assert "--out must end in .csv or .parquet" in capsys.readouterr().err
