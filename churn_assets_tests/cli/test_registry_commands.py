"""`champion`, `promote`, `rollback`, `report` and `score` against a real MLflow store.

The models are the registry tests' lookup pyfuncs (a probability per customer id); every
promotion and rollback runs the fresh-process load check, hence ``slow`` (seconds each)."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from churn_assets.cli.main import main
from churn_assets.generator import generate_customers
from churn_assets.model.model_logging import served_signature
from churn_assets.names import CHAMPION, PREVIOUS_CHAMPION
from churn_assets.registry.model_registry import (
    current_champion_version,
    register_candidate,
    version_for_alias,
)
from churn_assets_tests.helpers.lookup_model import LOOKUP_MODEL, LOOKUP_REQUIREMENTS
from churn_assets_tests.helpers.workspace import ChurnWorkspace

pytestmark = pytest.mark.slow

NAME = "churn-test"  # the workspace YAML's model_name


def log_lookup_model(workspace: ChurnWorkspace, rows: pd.DataFrame, seed: int) -> str:
    probability = np.random.default_rng(seed).random(len(rows))
    state = workspace.root / f"state-{seed}.json"
    state.write_text(json.dumps({"probability": dict(zip(rows["customerID"], probability,
                                                         strict=True)), "threshold": 0.5}))
    mlflow.set_experiment("cli-tests")
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="model", python_model=str(LOOKUP_MODEL),
                                       pip_requirements=LOOKUP_REQUIREMENTS,
                                       artifacts={"state": str(state)},
                                       signature=served_signature(),
                                       input_example=rows.head(3))
    return register_candidate(NAME, info.model_uri, run.info.run_id)


def test_a_person_promotes_inspects_rolls_back_and_scores(workspace: ChurnWorkspace,
                                                           capsys) -> None:
    customers = generate_customers(200, seed=4)
    source = workspace.write_data("customers.csv", customers)
    workspace.write_config(source)
    client = workspace.client()
    rows = customers.drop(columns=["Churn"])
    first, second = (log_lookup_model(workspace, rows, seed) for seed in (1, 2))
    client.update_model_version(NAME, first, description="# Model card\n\nversion one")

    assert main(["promote", "--version", first, "--reason", "first release",
                 "--by", "alice"], workspace.settings) == 0
    assert f"v{first} is @champion (was nobody); load check passed" in capsys.readouterr().out
    assert main(["promote", "--version", second, "--reason", "A/B test won", "--by", "bob"],
                workspace.settings) == 0
    assert current_champion_version(client, NAME) == second
    assert version_for_alias(client, NAME, PREVIOUS_CHAMPION) == first
    capsys.readouterr()

    assert main(["champion"], workspace.settings) == 0
    shown = capsys.readouterr().out
    assert f"models:/{NAME}@{CHAMPION} = version {second}" in shown
    assert "promoted by hand by bob" in shown and "A/B test won" in shown
    assert f"@{PREVIOUS_CHAMPION}: version {first}" in shown
    assert "manual_promotion.from_version = " + first in shown

    assert main(["promote", "--version", second, "--reason", "again", "--by", "bob"],
                workspace.settings) == 1
    assert "already holds @champion" in capsys.readouterr().err

    assert main(["rollback", "--reason", "complaints", "--by", "carol"], workspace.settings) == 0
    assert f"rolled back from v{second} to v{first}" in capsys.readouterr().out
    assert current_champion_version(client, NAME) == first
    assert client.get_model_version(NAME, first).tags["rollback.requested_by"] == "carol"
    assert main(["champion"], workspace.settings) == 0
    assert f"rolled back from v{second} by carol" in capsys.readouterr().out

    assert main(["report"], workspace.settings) == 0
    assert capsys.readouterr().out.startswith("# Model card\n\nversion one")
    assert main(["report", "--version", second], workspace.settings) == 1
    assert "has no model card" in capsys.readouterr().err

    out = workspace.root / "scores.parquet"
    assert main(["score", str(source), "--out", str(out)], workspace.settings) == 0
    assert "wrote 200 scores" in capsys.readouterr().out
    scores = pd.read_parquet(out)
    assert list(scores.columns) == ["customerID", "churn_probability", "churn_prediction"]
    assert scores["customerID"].tolist() == customers["customerID"].tolist()
    assert main(["score", str(source)], workspace.settings) == 0  # CSV on standard output
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "customerID,churn_probability,churn_prediction" and len(printed) == 201

    no_ids = workspace.write_data("no_ids.csv", customers.drop(columns=["customerID"]))
    assert main(["score", str(no_ids)], workspace.settings) == 1
    assert "no id column 'customerID'" in capsys.readouterr().err
