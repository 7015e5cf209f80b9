"""The logged pyfunc of every family: raw rows in, the candidate's own probabilities out,
with the family's library among the model's requirements."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest

from churn_assets.model.candidate import split_matrix, train_candidate
from churn_assets.model.families import FAMILY_NAMES, get_family
from churn_assets.model.model_logging import log_candidate
from churn_assets.model.tuning import open_study
from churn_assets_tests.helpers.small_candidate import CONFIG, train_small_candidate
from churn_assets_tests.helpers.workspace import seed_mlflow_store


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    return train_small_candidate(tmp_path_factory.mktemp("small"), rows=1200)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_is_served_with_its_own_probabilities(small, family, tmp_path: Path):
    tuning = CONFIG.tuning.model_copy(update={"n_trials": 2})
    candidate = train_candidate(small.features, tuning, lambda name: open_study(
        optuna.storages.InMemoryStorage(), name, tuning.seed), families=(family,))
    previous = mlflow.get_tracking_uri()
    seed_mlflow_store(tmp_path / "mlflow.db", tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment = mlflow.create_experiment("families",
                                               artifact_location=(tmp_path / "a").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = log_candidate(candidate, small.preprocessor.state(),
                                 small.customers.drop(columns="Churn"))
        served = mlflow.pyfunc.load_model(info.model_uri)
        requirements = Path(mlflow.pyfunc.get_model_dependencies(info.model_uri)).read_text()
    finally:
        mlflow.set_tracking_uri(previous)
    test_rows = small.split_rows("test").drop(columns="Churn")
    answer = served.predict(test_rows)
    x_test, _ = split_matrix(small.features, "test")
    expected = candidate.model.predict_proba(x_test)
    assert candidate.family == family
    np.testing.assert_allclose(answer["churn_probability"].to_numpy(), expected, atol=1e-6)
    assert (answer["churn_prediction"].to_numpy() == (expected >= candidate.threshold)).all()
    for requirement in get_family(family).requirements:
        assert requirement in requirements
