"""An experiment config dropped into `experiment_configs` (a folder, or an S3 prefix on a real
moto server) starts one training run with its settings; a bad one starts nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
import yaml

from churn_assets.defs.experiment_sensor import (
    EXPERIMENT_KEY_TAG,
    EXPERIMENT_SHA_TAG,
    experiment_config_sensor,
)
from churn_assets.experiment_config import content_digest
from churn_assets_tests.defs.operator import Operator
from churn_assets_tests.helpers.s3_server import MotoS3Server, s3_in_environment
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # one whole training run

BUCKET = "churn-experiments"
EXPERIMENT = {"description": "two trials, seed 7, a ROC-AUC floor of 0.6",
              "tuning": {"n_trials": 2, "seed": 7},
              "promotion": {"min_roc_auc": 0.6, "resamples": 200}}


def drop(folder: Path, name: str, content: dict | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def materialized(result, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_one_config_file_one_run_that_competes_for_champion(workspace: ChurnWorkspace) -> None:
    configs = workspace.root / "configs"
    workspace.write_config(workspace.write_data("customers.csv", customers()),
                           experiment_configs="configs/")  # relative to the dataset YAML
    assert materialize_graph(workspace).success  # today's champion, v1
    operator = Operator(workspace)
    assert "no new experiment config" in operator.tick(experiment_config_sensor).skip_message

    path = drop(configs, "fewer-trials.yaml", EXPERIMENT)
    drop(configs, "notes.txt", "not a config")
    tick = operator.tick(experiment_config_sensor)
    (request,) = tick.run_requests
    text = path.read_text()
    assert request.run_key == f"experiment_config:fewer-trials.yaml:{content_digest(text)[:16]}"
    assert request.tags[EXPERIMENT_KEY_TAG] == "fewer-trials.yaml"
    assert request.tags[EXPERIMENT_SHA_TAG] == content_digest(text)
    (run,) = operator.launch(tick)
    assert run.success

    champion = materialized(run, "champion_model")
    assert champion["candidate_version"] == "2" and champion["previous_champion_version"] == "1"
    assert champion["promotion.min_roc_auc"] == 0.6 and champion["promotion.resamples"] == 200
    assert champion["decision"] in ("promoted", "rejected") and champion["reason"]
    tuned = materialized(run, "tuned_churn_model")
    assert tuned["tuning.n_trials"] == 2 and tuned["tuning.seed"] == 7
    params = workspace.client().get_run(tuned["mlflow_run_id"]).data.params
    assert params["experiment_config"] == str(path.resolve())
    assert params["tuning.n_trials"] == "2"
    versions = workspace.client().search_model_versions("name = 'churn-test'")
    assert {str(v.version) for v in versions} == {"1", "2"}

    path.touch()  # a new mtime, the same content: the same run key, no second run
    assert operator.launch(operator.tick(experiment_config_sensor)) == []
    assert mlflow.search_runs(search_all_experiments=True, filter_string=(
        "params.experiment_config != 'none'")).shape[0] == 1


@pytest.mark.parametrize(("content", "named"), [
    ({"tuning": {"n_trail": 3}}, "unknown key 'tuning.n_trail'"),
    ({"tuning": {"n_trials": "many"}}, "'tuning.n_trials' must be of type int"),
    ({"promotion": {"max_model_mb": -1}}, "'promotion.max_model_mb'"),
    ({"source": "other.csv"}, "unknown key 'source' (an experiment sets: description, "),
    ("tuning: [1, 2", "not valid YAML at line"),
])
def test_a_bad_config_is_one_line_naming_the_key_and_no_run(
        workspace: ChurnWorkspace, content, named: str) -> None:
    workspace.write_config(workspace.write_data("customers.csv", customers()),
                           experiment_configs=str(workspace.root / "configs"))
    drop(workspace.root / "configs", "bad.yml", content)
    tick = Operator(workspace).tick(experiment_config_sensor)
    assert not tick.run_requests
    assert named in tick.skip_message and "bad.yml" in tick.skip_message
    assert "\n" not in tick.skip_message


@pytest.fixture
def s3(workspace: ChurnWorkspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3Server]:
    with s3_in_environment(monkeypatch, BUCKET) as server:
        yield server


def test_configs_under_an_s3_prefix(workspace: ChurnWorkspace, s3: MotoS3Server) -> None:
    workspace.write_config(workspace.write_data("customers.csv", customers()),
                           experiment_configs=f"s3://{BUCKET}/experiments")
    text = yaml.safe_dump(EXPERIMENT)
    client = s3.client()
    client.put_object(Bucket=BUCKET, Key="experiments/a.yaml", Body=text.encode())
    client.put_object(Bucket=BUCKET, Key="experiments/b.yaml", Body=b"tuning: {n_trail: 3}\n")
    client.put_object(Bucket=BUCKET, Key="elsewhere/c.yaml", Body=text.encode())
    operator = Operator(workspace)
    (request,) = operator.tick(experiment_config_sensor).run_requests
    assert request.tags[EXPERIMENT_KEY_TAG] == "experiments/a.yaml"
    dataset = request.run_config["resources"]["dataset"]["config"]
    assert dataset["experiment_config"] == text
    assert dataset["experiment_config_source"] == f"s3://{BUCKET}/experiments/a.yaml"
    assert "no new experiment config" in operator.tick(experiment_config_sensor).skip_message
    time.sleep(1.1)  # S3 times are whole seconds: a re-upload within one is "already seen"
    client.put_object(Bucket=BUCKET, Key="experiments/a.yaml",
                      Body=text.replace("seed: 7", "seed: 8").encode())
    (changed,) = operator.tick(experiment_config_sensor).run_requests
    assert changed.run_key != request.run_key
