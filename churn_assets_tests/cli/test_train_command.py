"""`train` runs the plain Dagster CLI headless on a small dataset, then `score` and
`champion` use what it registered: the README's path without the UI, in new processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from churn_assets_tests.helpers.workspace import FAST_TUNING, SMALL_EXPECTATIONS, customers

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).parents[2]


def churn_assets(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "churn_assets", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=1800)


def test_train_then_score_and_inspect_the_champion(tmp_path: Path) -> None:
    source = tmp_path / "customers.csv"
    customers(1500, seed=3).to_csv(source, index=False)
    (tmp_path / "dataset.yaml").write_text(yaml.safe_dump({
        "source": str(source), "target": "Churn", "positive_label": "Yes",
        "id_column": "customerID", "model_name": "churn-cli", "landing": "landing/",
        "tuning": FAST_TUNING | {"n_trials": 8}, "expectations": SMALL_EXPECTATIONS,
        "promotion": {"min_f1": 0.3, "min_roc_auc": 0.6},
    }))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = dict(os.environ) | {
        "DAGSTER_HOME": str(tmp_path / "home"), "CHURN_STATE_DIR": str(tmp_path / "state"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "CHURN_DATASET_CONFIG": str(tmp_path / "dataset.yaml"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")])),
    }

    trained = churn_assets("train", "--n-trials", "2", env=env, cwd=tmp_path)

    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "models:/churn-cli@champion = version 1" in trained.stdout
    assert "test_f1" in trained.stdout and "promotion.decision = promoted" in trained.stdout
    # --n-trials reached the asset's run config: two trials, not the YAML's eight.
    assert "trial 1 (2/2)" in trained.stderr and "(3/8)" not in trained.stderr

    scored = churn_assets("score", str(source), "--out", "scores.csv", env=env, cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr[-2000:]
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 1500 and scores["churn_probability"].between(0, 1).all()
    assert set(scores["churn_prediction"]) <= {0, 1}

    assert churn_assets("champion", env=env, cwd=tmp_path).returncode == 0
