"""Optional k-fold CV inside the tuning objective (``tuning.cv_folds``), for small tables."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from churn_assets.model.candidate import study_name_for
from churn_assets.model.families.xgboost_family import fit_classifier as fit_on_train
from churn_assets.model.sections import TuningConfig
from churn_assets.model.tuning import cross_validated_logloss, open_study, tune

PARAMS = {"learning_rate": 0.1, "max_depth": 2, "min_child_weight": 2.0, "subsample": 0.9,
          "colsample_bytree": 0.8, "reg_lambda": 1.0, "reg_alpha": 0.01, "gamma": 0.01}
CONFIG = TuningConfig(n_trials=4, max_estimators=200, early_stopping_rounds=10, n_jobs=1,
                      parallel_trials=1, cv_folds=3)


def _table(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(rows, 4)), columns=list("abcd"))
    logit = 1.5 * x["a"] - x["b"] + 0.5 * x["c"] * x["d"]
    return x, (rng.random(rows) < 1 / (1 + np.exp(-logit))).to_numpy().astype(int)


def test_objective_is_the_out_of_fold_logloss_over_train_and_valid():
    (x_train, y_train), (x_valid, y_valid) = _table(600, 1), _table(200, 2)
    study = optuna.create_study()
    value = cross_validated_logloss(study.ask(), PARAMS, CONFIG, x_train, y_train,
                                    x_valid, y_valid)

    x = pd.concat([x_train, x_valid], ignore_index=True)
    y = np.concatenate([y_train, y_valid])
    out_of_fold = np.full(len(y), np.nan)
    for fit_rows, held in StratifiedKFold(3, shuffle=True, random_state=CONFIG.seed).split(x, y):
        model = fit_on_train(PARAMS, CONFIG, x.iloc[fit_rows], y[fit_rows], x.iloc[held], y[held])
        out_of_fold[held] = model.predict_proba(x.iloc[held])[:, 1]
    assert not np.isnan(out_of_fold).any()  # every row held out exactly once
    assert value == log_loss(y, out_of_fold)
    single_split = fit_on_train(PARAMS, CONFIG, x_train, y_train, x_valid, y_valid)
    assert value != log_loss(y_valid, single_split.predict_proba(x_valid)[:, 1])


def test_cv_trials_complete_and_cv_starts_its_own_study():
    (x_train, y_train), (x_valid, y_valid) = _table(400, 3), _table(150, 4)
    study = open_study(optuna.storages.InMemoryStorage(), "cv", CONFIG.seed)
    result = tune(study, CONFIG, x_train, y_train, x_valid, y_valid)

    assert result.n_trials == 4 and result.n_pruned == 0
    assert result.trials["user_attrs_valid_roc_auc"].between(0.5, 1).all()
    without_cv = CONFIG.model_copy(update={"cv_folds": None})
    assert study_name_for("m", CONFIG, "v1") != study_name_for("m", without_cv, "v1")
