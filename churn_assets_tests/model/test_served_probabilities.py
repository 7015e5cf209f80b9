"""The logged model answers with the same probabilities the candidate was scored with."""

from __future__ import annotations

import mlflow
import numpy as np

from churn_assets.model.batch_scoring import predict_in_batches
from churn_assets.model.candidate import split_matrix
from churn_assets.model.model_logging import log_candidate
from churn_assets_tests.helpers.small_candidate import train_small_candidate
from churn_assets_tests.helpers.workspace import seed_mlflow_store


def test_served_probabilities_equal_the_candidates_predict_proba(tmp_path):
    small = train_small_candidate(tmp_path)
    booster = small.candidate.model.classifier.get_booster()
    best = int(booster.attributes()["best_iteration"])
    assert booster.num_boosted_rounds() > best + 1, "early stopping left no extra rounds"
    seed_mlflow_store(tmp_path / "mlflow.db", tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("served", artifact_location=(tmp_path / "a").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_candidate(small.candidate, small.preprocessor.state(),
                             small.customers.drop(columns="Churn"))
    test_rows = small.split_rows("test").drop(columns="Churn")
    model = mlflow.pyfunc.load_model(info.model_uri)
    served = model.predict(test_rows)
    batched = predict_in_batches(model, test_rows, batch_rows=7)
    assert len(test_rows) > 7 and batched.index.equals(test_rows.index)
    np.testing.assert_array_equal(batched.to_numpy(), served.to_numpy())
    x_test, _ = split_matrix(small.features, "test")
    expected = small.candidate.model.predict_proba(x_test)
    np.testing.assert_allclose(served["churn_probability"].to_numpy(), expected, atol=1e-6)
    assert (served["churn_prediction"].to_numpy()
            == (expected >= small.candidate.threshold)).all()
