"""The whole asset graph, materialized in process against temporary stores."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import pytest

from churn_assets.defs.assets.scoring import churn_scores
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.scores_database import ScoresDatabase
from churn_assets.names import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from churn_assets.registry.model_registry import current_champion_version, version_for_alias
from churn_assets_tests.helpers.lookup_model import LOOKUP_MODEL, LOOKUP_REQUIREMENTS
from churn_assets_tests.helpers.workspace import (
    ChurnWorkspace,
    customers,
    file_fingerprint,
    materialize_graph,
)

pytestmark = pytest.mark.slow  # the whole asset graph, in process


CONTRACT_METRICS = ("valid_f1", "valid_roc_auc", "test_f1", "test_roc_auc")
DOWNSTREAM_OF_VALIDATION = ("customer_splits", "customer_features", "tuned_churn_model",
                            "champion_model")
SEGMENTS = ["Contract", {"column": "tenure", "bins": [0, 12, 24, 48, float("inf")]}]


def materialized_keys(result) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def check_results(result) -> dict[str, object]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def metadata_of(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def test_launchpad_settings_override_the_dataset_yaml_and_are_recorded(
    workspace: ChurnWorkspace,
):
    workspace.write_config(workspace.write_data("customers.csv", customers()))
    run_config = {"ops": {"tuned_churn_model": {"config": {"n_trials": 2, "seed": 7}},
                          "champion_model": {"config": {"min_f1": 0.99}}}}

    result = materialize_graph(workspace, run_config=run_config)

    assert result.success
    tuned = metadata_of(result, "tuned_churn_model")
    assert (tuned["n_trials"], tuned["tuning.n_trials"], tuned["tuning.seed"]) == (2, 2, 7)
    assert tuned["tuning.max_estimators"] == 300  # not given: the YAML's value stays
    params = workspace.client().get_run(tuned["mlflow_run_id"]).data.params
    assert (params["tuning.n_trials"], params["tuning.seed"]) == ("2", "7")
    promotion = metadata_of(result, "champion_model")
    assert promotion["promotion.min_f1"] == 0.99
    assert not promotion["promoted"] and "below floor 0.99" in promotion["reason"]


@dataclass
class FirstRun:
    """The module's one default training (whole graph, segments on), shared by the tests that
    read it — whole graph, invalid data, identical retrain, in file order; only the last one
    moves aliases."""

    workspace: ChurnWorkspace
    result: dg.ExecuteInProcessResult
    source: Path
    fingerprint: tuple[str, int]
    frame: pd.DataFrame
    scores: pd.DataFrame
    config: dict

    def restore_config(self) -> None:
        self.workspace.write_config(self.source, **self.config)


@pytest.fixture(scope="module")
def first_run(module_workspace: ChurnWorkspace) -> FirstRun:
    frame = customers()
    source = module_workspace.write_data("customers.csv", frame)
    fingerprint = file_fingerprint(source)
    config = {"experiment_name": "churn-e2e",
              "promotion": {"segments": SEGMENTS, "resamples": 500}}
    module_workspace.write_config(source, **config)
    result = materialize_graph(module_workspace)
    scores = pd.read_parquet(module_workspace.root / "state" / "assets" / "churn_scores.parquet")
    return FirstRun(module_workspace, result, source, fingerprint, frame, scores, config)


def test_whole_graph_registers_a_champion_that_predicts_raw_rows(first_run: FirstRun):
    workspace, result, source = first_run.workspace, first_run.result, first_run.source

    assert result.success
    assert {"raw_customers", "validated_customers", *DOWNSTREAM_OF_VALIDATION} <= \
        materialized_keys(result)
    assert all(check.passed for check in check_results(result).values())
    assert file_fingerprint(source) == first_run.fingerprint, \
        "the source file must never be modified"

    client = workspace.client()
    version = client.get_model_version_by_alias("churn-test", CHAMPION)
    run = client.get_run(version.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "churn-e2e"
    metrics = run.data.metrics
    # 1,500 rows: ~60 valid churners, so the threshold is chosen out of fold (issue 29).
    assert run.data.params["threshold_source"] == "out_of_fold"
    for name in CONTRACT_METRICS:
        assert 0.0 <= metrics[name] <= 1.0, name
    assert version.tags["promotion.decision"] == "promoted"
    assert version.tags["promotion.previous_champion_version"] == "none"

    raw_rows = pd.read_csv(source).drop(columns=["Churn"]).head(200)
    model = mlflow.pyfunc.load_model("models:/churn-test@champion")
    predictions = model.predict(raw_rows)
    assert list(predictions.columns) == ["churn_probability", "churn_prediction"]
    assert len(predictions) == len(raw_rows)
    probability = predictions["churn_probability"]
    assert probability.between(0, 1).all()
    threshold = metrics["decision_threshold"]
    expected = (probability >= threshold).astype(int)
    assert (predictions["churn_prediction"] == expected).all()
    assert set(predictions["churn_prediction"].unique()) <= {0, 1}

    split_meta = metadata_of(result, "customer_splits")
    assert split_meta["train_rows"] + split_meta["valid_rows"] + split_meta["test_rows"] == 1500
    model_meta = metadata_of(result, "tuned_churn_model")
    assert model_meta["n_trials"] == 4  # the dataset YAML's tuning.n_trials: nothing launched
    assert model_meta["tuning.n_trials"] == 4
    assert run.data.params["tuning.n_trials"] == "4"
    assert model_meta["mlflow_run_id"] == version.run_id


def test_blank_total_charges_are_coerced_and_reported(workspace: ChurnWorkspace):
    frame = customers()
    frame.loc[:4, "TotalCharges"] = " "
    source = workspace.write_data("customers.csv", frame)
    workspace.write_config(source)

    result = materialize_graph(
        workspace, selection="key:raw_customers or key:column_roles or key:validated_customers")

    assert result.success
    assert metadata_of(result, "validated_customers")["coerced_to_missing"]["TotalCharges"] >= 5


def test_free_text_and_extra_id_columns_are_dropped_with_a_reason(workspace: ChurnWorkspace):
    frame = customers().rename(columns={"Churn": "churned", "customerID": "account"})
    frame["churned"] = (frame["churned"] == "Yes").astype(int)
    frame["note"] = [f"called on day {i}, said {i * 7 % 1000}" for i in range(len(frame))]
    frame["legacy_row_number"] = np.arange(len(frame))
    frame["region"] = "EU"
    source = workspace.write_data("other.parquet", frame)
    workspace.write_config(source, target="churned", positive_label=1, id_column="account",
                           model_name="churn-other")

    result = materialize_graph(workspace)

    assert result.success
    dropped = metadata_of(result, "column_roles")["dropped_columns"]
    assert set(dropped) == {"note", "legacy_row_number", "region"}
    assert "near-unique" in dropped["note"] and "constant" in dropped["region"]
    assert metadata_of(result, "customer_features")["feature_count"] < 100
    assert current_champion_version(workspace.client(), "churn-other") == "1"


def shuffled_labels(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    shuffled = frame.copy()
    shuffled["Churn"] = shuffled["Churn"].sample(frac=1, random_state=seed).to_numpy()
    return shuffled


def test_baselines_block_a_weak_first_model(workspace: ChurnWorkspace):
    source = workspace.write_data("noise.csv", shuffled_labels(customers()))
    workspace.write_config(source)

    result = materialize_graph(workspace)

    assert result.success
    client = workspace.client()
    assert current_champion_version(client, "churn-test") is None
    rejected = client.get_model_version("churn-test", "1")
    assert rejected.tags["promotion.decision"] == "rejected"
    assert version_for_alias(client, "churn-test", CHALLENGER) is None  # nothing to trial
    assert "the baseline of ranking customers at random" in rejected.tags["promotion.reason"]


def test_champion_moves_only_for_a_better_candidate(workspace: ChurnWorkspace):
    client = workspace.client()
    weak = workspace.write_data("weak.csv", shuffled_labels(customers()))
    workspace.write_config(weak, promotion={"baselines": False})
    assert materialize_graph(workspace).success
    assert current_champion_version(client, "churn-test") == "1"

    real = workspace.write_data("real.csv", customers())
    workspace.write_config(real)
    result = materialize_graph(workspace)
    assert result.success
    promoted = client.get_model_version("churn-test", "2")
    assert current_champion_version(client, "churn-test") == "2"
    assert promoted.tags["promotion.previous_champion_version"] == "1"
    assert float(promoted.tags["promotion.candidate_test_f1"]) > \
        float(promoted.tags["promotion.champion_test_f1"])

    # A candidate that only sees gender is worse on the same rows; floors off so that the
    # comparison with the champion, not a floor, is what keeps it out.
    uninformative = [c for c in customers().columns
                     if c not in ("customerID", "Churn", "gender")]
    workspace.write_config(real, drop=uninformative,
                           promotion={"min_f1": 0.0, "min_roc_auc": 0.0})
    result = materialize_graph(workspace)
    assert result.success
    assert current_champion_version(client, "churn-test") == "2"
    # Conclusively worse: rejected, and not put on trial as @challenger.
    assert version_for_alias(client, "churn-test", CHALLENGER) is None
    assert client.get_model_version("churn-test", "3").tags["promotion.outcome"] == "rejected"
    summary = metadata_of(result, "champion_model")
    assert summary["promoted"] is False
    # Its F1 may tie by luck (a near all-positive answer on ~225 rows); ranking gives it away
    # and the paired interval keeps the tie out.
    assert summary["candidate_test_roc_auc"] < summary["champion_test_roc_auc"]
    assert summary["reason"].startswith("not promoted:") and "resamples" in summary["reason"]


@pytest.mark.parametrize(
    ("corrupt", "failed_check", "named"),
    [
        (lambda f: f.drop(columns=["Churn"]), "required_columns", "Churn"),
        (lambda f: f.assign(Churn="No"), "target_labels", "Churn"),
        (lambda f: pd.concat([f, f.head(3)]), "unique_ids", "customerID"),
    ],
    ids=["missing-target", "one-class", "duplicate-ids"],
)
def test_invalid_data_fails_a_blocking_check_and_keeps_the_champion(
    first_run: FirstRun, corrupt, failed_check: str, named: str
):
    workspace = first_run.workspace
    bad = workspace.write_data(f"bad-{failed_check}.csv", corrupt(customers(seed=9)))
    before = file_fingerprint(bad)
    workspace.write_config(bad)

    result = materialize_graph(workspace)

    assert not result.success
    check = check_results(result)[failed_check]
    assert not check.passed
    assert named in check.description
    assert not materialized_keys(result) & set(DOWNSTREAM_OF_VALIDATION)
    assert current_champion_version(workspace.client(), "churn-test") == "1"
    assert file_fingerprint(bad) == before


def log_broken_version(workspace: ChurnWorkspace, name: str) -> str:
    """A registered version that loads but answers with the wrong columns."""
    folder = workspace.root / "broken-model"
    folder.mkdir()
    (folder / "state.json").write_text(json.dumps(
        {"probability": {}, "threshold": 0.5, "columns": ["score", "label"]}))
    mlflow.set_experiment("broken")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=str(LOOKUP_MODEL),
                                       pip_requirements=LOOKUP_REQUIREMENTS,
                                       artifacts={"state": str(folder / "state.json")})
    return str(mlflow.register_model(info.model_uri, name).version)


def rollback_run(workspace: ChurnWorkspace, **config):
    job = workspace.definitions().resolve_job_def("rollback_champion_job")
    return job.execute_in_process(
        run_config={"ops": {"rollback_champion": {"config": config}}},
        instance=workspace.instance, raise_on_error=False)


def test_identical_retrain_keeps_the_champion_explains_why_and_rollback_is_audited(
    first_run: FirstRun,
):
    workspace, first, frame = first_run.workspace, first_run.result, first_run.frame
    assert first.success
    assert check_results(first)["candidate_loads_in_fresh_process"].passed
    champion = metadata_of(first, "champion_model")
    assert champion["promoted"] and champion["champion_version"] == "1"
    assert champion["evaluation"].count("data:image/png;base64,") >= 6
    assert champion["model_card"].startswith("# Model card: churn-test v1")
    assert "Contract=Month-to-month" in champion["segments"]
    assert "tenure in [0, 12)" in champion["segments"]
    tuned = metadata_of(first, "tuned_churn_model")
    assert 0 < tuned["test_brier"] < 0.25 and "Calibration curve" in tuned["evaluation"]
    scores = first_run.scores
    assert list(scores.columns) == ["customerID", "churn_probability", "churn_prediction",
                                    "reason_1", "reason_2", "reason_3"]  # no economics here
    assert len(scores) == len(frame) and scores["customerID"].is_unique
    assert metadata_of(first, "churn_scores")["champion_version"] == "1"

    first_run.restore_config()  # the invalid-data tests pointed it at their files
    second = materialize_graph(workspace)  # same data, same settings: a tie
    assert second.success
    decision = metadata_of(second, "champion_model")
    assert not decision["promoted"] and decision["champion_version"] == "1"
    assert "ROC-AUC gain +0.0000 [+0.0000, +0.0000]" in decision["reason"]
    assert decision["f1_delta_low"] == 0.0 and "lower bound not above" in decision["reason"]
    assert decision["promotion.delta_low"] == 0.0 and decision["outcome"] == "rejected"
    client = workspace.client()
    assert current_champion_version(client, "churn-test") == "1"
    assert client.get_model_version("churn-test", "2").description.startswith(
        "# Model card: churn-test v2")

    forward = rollback_run(workspace, target_version="2", requested_by="ana", reason="test")
    assert forward.success and current_champion_version(client, "churn-test") == "2"
    back = rollback_run(workspace, requested_by="bob", reason="INC-42: v2 misbehaves")
    assert back.success
    assert current_champion_version(client, "churn-test") == "1"
    assert version_for_alias(client, "churn-test", PREVIOUS_CHAMPION) == "2"
    restored = client.get_model_version("churn-test", "1").tags
    assert (restored["rollback.requested_by"], restored["rollback.reason"]) == \
        ("bob", "INC-42: v2 misbehaves")

    broken = log_broken_version(workspace, "churn-test")
    refused = rollback_run(workspace, target_version=broken, requested_by="bob", reason="x")
    assert not refused.success
    (failure,) = [e for e in refused.all_events if e.is_step_failure]
    assert "failed the load check" in failure.step_failure_data.user_failure_data.description
    assert current_champion_version(client, "churn-test") == "1"

    unlabeled = frame.drop(columns=["Churn"]).head(40)
    (output,) = churn_scores(context=dg.build_asset_context(), validated_customers=unlabeled,
                             dataset=DatasetResource(config_path=workspace.settings.dataset_config),
                             mlflow_tracking=MlflowTracking(tracking_uri=workspace.tracking_uri),
                             scores_database=ScoresDatabase(), dask_cluster=DaskCluster())
    assert len(output.value) == 40 and output.metadata["champion_version"].value == "1"
