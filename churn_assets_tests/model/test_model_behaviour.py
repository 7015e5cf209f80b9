"""Model behaviour (in the spirit of Made-With-ML): a small real model, trained by the
package's own functions and logged as the served pyfunc, answers like a churn model should.

Predictions go through ``mlflow.pyfunc.load_model`` (raw rows in), as downstream services
call it, so preprocessing inside the model is part of what is tested."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churn_assets.model.model_logging import log_candidate
from churn_assets.names import OUTPUT_COLUMNS, PROBABILITY
from churn_assets_tests.helpers.small_candidate import SmallCandidate, train_small_candidate
from churn_assets_tests.helpers.workspace import ChurnWorkspace


@pytest.fixture(scope="module")
def trained(module_workspace: ChurnWorkspace) -> SmallCandidate:
    return train_small_candidate(module_workspace.root, rows=2000, seed=31)


@pytest.fixture(scope="module")
def served(trained: SmallCandidate, module_workspace: ChurnWorkspace):
    module_workspace.client()  # points MLflow at the temporary store
    mlflow.set_experiment("behaviour")
    with mlflow.start_run():
        info = log_candidate(trained.candidate, trained.preprocessor.state(),
                             trained.customers.drop(columns=["Churn"]))
    return mlflow.pyfunc.load_model(info.model_uri)


def probability(served, rows: pd.DataFrame) -> np.ndarray:
    return served.predict(rows.drop(columns=["Churn"], errors="ignore"))[PROBABILITY].to_numpy()


def test_minimum_functionality_on_unseen_rows(trained: SmallCandidate, served) -> None:
    test = trained.split_rows("test")
    answer = served.predict(test.drop(columns=["Churn"]))
    assert tuple(answer.columns) == OUTPUT_COLUMNS and len(answer) == len(test)
    assert roc_auc_score(test["Churn"] == "Yes", answer[PROBABILITY]) > 0.75


def test_higher_monthly_charges_do_not_lower_month_to_month_churn(
    trained: SmallCandidate, served
) -> None:
    rows = trained.customers[trained.customers["Contract"] == "Month-to-month"]
    dearer = rows.assign(MonthlyCharges=rows["MonthlyCharges"] * 1.3)
    before, after = probability(served, rows), probability(served, dearer)
    assert after.mean() >= before.mean()


def test_predictions_ignore_column_order_and_unknown_columns(
    trained: SmallCandidate, served
) -> None:
    rows = trained.split_rows("test").drop(columns=["Churn"])
    expected = served.predict(rows)
    reordered = served.predict(rows[list(reversed(rows.columns))])
    widened = served.predict(rows.assign(campaign_note="called twice"))
    pd.testing.assert_frame_equal(reordered, expected)
    pd.testing.assert_frame_equal(widened, expected)


def test_loyal_two_year_customer_scores_below_new_month_to_month_fiber_customer(
    trained: SmallCandidate, served
) -> None:
    base = trained.customers.drop(columns=["Churn"]).iloc[[0]]
    loyal = base.assign(tenure=70, Contract="Two year", InternetService="DSL",
                        MonthlyCharges=60.0, TotalCharges=str(70 * 60.0),
                        PaymentMethod="Credit card (automatic)")
    new = base.assign(tenure=1, Contract="Month-to-month", InternetService="Fiber optic",
                      MonthlyCharges=90.0, TotalCharges="90.0",
                      PaymentMethod="Electronic check")
    loyal_p, new_p = probability(served, loyal)[0], probability(served, new)[0]
    assert loyal_p < new_p
