"""Model families through the whole graph: the YAML lists them, the launchpad narrows the list
for one run, the best family on valid becomes the candidate and is served like any other."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from churn_assets.defs.assets.monitoring import DriftThresholds
from churn_assets.defs.assets.training import TuningBudget
from churn_assets_tests.defs.test_graph import metadata_of
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph


def test_launchpad_configs_are_derived_from_the_yaml_schema() -> None:
    from churn_assets.dataset_config import DriftConfig
    from churn_assets.model.sections import ModelConfig, TuningConfig

    tuning_fields = TuningBudget.model_fields
    assert set(TuningConfig.model_fields) | {"families"} == set(tuning_fields)
    assert set(DriftConfig.model_fields) | {"force_retrain"} == set(DriftThresholds.model_fields)
    for name, field in tuning_fields.items():
        assert field.default is None, name  # empty: the YAML's value
    assert "YAML tuning.n_trials, 50" in tuning_fields["n_trials"].description
    assert tuning_fields["n_trials"].description.startswith(
        TuningConfig.model_fields["n_trials"].description.rstrip("."))
    assert "YAML model.families, ['xgboost']" in tuning_fields["families"].description
    assert ModelConfig.model_fields["families"].description.rstrip(".") in \
        tuning_fields["families"].description
    assert DriftThresholds().force_retrain is False


@pytest.mark.slow
def test_a_forest_champion_then_the_launchpad_narrows_the_families(workspace: ChurnWorkspace):
    """The family with no rounds and a skops export, through promotion and scoring; then, on
    the same workspace's features (one whole-graph run, not two), the tuning step alone with
    three families in the YAML, narrowed to two by the launchpad: the best of them on valid
    is the candidate and is served like any other."""
    import pandas as pd

    rows = customers()
    workspace.write_config(workspace.write_data("customers.csv", rows),
                           model={"families": ["random_forest"]})

    result = materialize_graph(workspace)

    assert result.success
    tuned = metadata_of(result, "tuned_churn_model")
    assert tuned["model_family"] == "random_forest"
    assert "**Feature importance**" in tuned["evaluation"]
    assert "**Shap summary**" in tuned["evaluation"]
    assert "| model_family | random_forest |" in tuned["model_card"]
    champion = metadata_of(result, "champion_model")
    assert champion["promoted"] and champion["champion_version"] == "1"
    scores = pd.read_parquet(workspace.root / "state" / "assets" / "churn_scores.parquet")
    assert len(scores) == len(rows) and scores["churn_probability"].between(0, 1).all()

    workspace.write_config(workspace.write_data("customers.csv", rows),
                           model={"families": ["xgboost", "lightgbm", "logistic_regression"]})
    run_config = {"ops": {"tuned_churn_model": {"config": {
        "families": ["lightgbm", "logistic_regression"], "n_trials": 4}}}}

    result = materialize_graph(workspace, selection="tuned_churn_model", run_config=run_config)

    assert result.success
    tuned = metadata_of(result, "tuned_churn_model")
    board = tuned["family_leaderboard"]
    families = [record.data["family"] for record in board.records]
    losses = [record.data["valid_log_loss"] for record in board.records]
    assert sorted(families) == ["lightgbm", "logistic_regression"]  # narrowed for this run
    assert losses == sorted(losses) and tuned["model_family"] == families[0]
    assert [record.data["trials"] for record in board.records] == [2.0, 2.0]  # one budget
    assert tuned["model.families"] == "lightgbm, logistic_regression"
    client = workspace.client()
    run = client.get_run(tuned["mlflow_run_id"])
    assert run.data.params["model_family"] == tuned["model_family"]
    nested = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert sorted(r.data.params["model_family"] for r in nested) == sorted(families)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "family_leaderboard.json" in artifacts
    evaluation = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert "evaluation/family_leaderboard.png" in evaluation
    served = mlflow.pyfunc.load_model(tuned["model_uri"])
    answer = served.predict(rows.drop(columns="Churn").head(50))
    assert np.isfinite(answer["churn_probability"]).all()
