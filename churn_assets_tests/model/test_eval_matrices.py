"""The classifier's early-stopping sets are plain DMatrixes (fast to evaluate each round) and
the model it fits is the one XGBoost's own classifier fits."""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from churn_assets.model.families.xgboost_family import (
    PlainEvalSetClassifier,
    classifier_settings,
)
from churn_assets.model.families.xgboost_family import fit_classifier as fit_on_train
from churn_assets.model.sections import TuningConfig

PARAMS = {"learning_rate": 0.1, "max_depth": 3, "min_child_weight": 2.0, "subsample": 0.8,
          "colsample_bytree": 0.7, "reg_lambda": 0.1, "reg_alpha": 0.01, "gamma": 0.01}


def _table(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    logit = x[:, 0] - 0.7 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3]
    return x, (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)


def test_eval_sets_are_plain_dmatrices_and_the_training_matrix_stays_quantised():
    model = PlainEvalSetClassifier(tree_method="hist")
    x, y = _table(50, 0)
    assert type(model._create_dmatrix(None, data=x, label=y)) is xgb.QuantileDMatrix
    train = model._create_dmatrix(None, data=x, label=y)
    assert type(model._create_dmatrix(train, data=x, label=y)) is xgb.DMatrix


def test_same_trees_evaluation_and_early_stop_as_xgboosts_classifier():
    config = TuningConfig(max_estimators=300, early_stopping_rounds=20)
    x_train, y_train = _table(3000, 1)
    x_valid, y_valid = _table(1000, 2)
    ours = fit_on_train(PARAMS, config, x_train, y_train, x_valid, y_valid)
    theirs = xgb.XGBClassifier(**classifier_settings(PARAMS, config))
    theirs.fit(x_train, y_train, eval_set=[(x_valid, y_valid)], verbose=False)

    assert ours.best_iteration == theirs.best_iteration < 299  # early stopping did stop
    assert ours.evals_result() == theirs.evals_result()
    np.testing.assert_array_equal(ours.predict_proba(x_valid), theirs.predict_proba(x_valid))
