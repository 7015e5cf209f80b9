"""XGBoost trials of one tuning call reuse their matrices (built once per thread) and still
fit exactly the models they fitted when every trial built its own."""

from __future__ import annotations

import dataclasses
import threading

import optuna
import xgboost as xgb

from churn_assets.model.candidate import split_matrix
from churn_assets.model.families import get_family
from churn_assets.model.families import xgboost_family as family_module
from churn_assets.model.families.xgboost_family import TrialMatrices, fit
from churn_assets.model.tuning import SIZE_ATTR, open_study, tune
from churn_assets_tests.model.test_sources_and_tuning import TUNING

PARAMS = {"learning_rate": 0.1, "max_depth": 3, "min_child_weight": 2.0, "subsample": 0.8,
          "colsample_bytree": 0.7, "reg_lambda": 0.1, "reg_alpha": 0.01, "gamma": 0.01}


def _trials(study: optuna.Study) -> list[tuple]:
    return [(t.number, t.state, t.params, t.value, t.user_attrs.get(SIZE_ATTR))
            for t in study.trials]



class CountingMatrices(TrialMatrices):
    """Counts the matrices built for the rows it caches (a copy of the rows is not counted)."""

    def __init__(self, *rows):
        super().__init__(*rows)
        self.built = 0
        self._count_lock = threading.Lock()

    def get(self, data, label, build):
        cached_rows = any(data is x and label is y for x, y in self._rows)

        def counted():
            if cached_rows:
                with self._count_lock:
                    self.built += 1
            return build()

        return super().get(data, label, counted)


def test_shared_matrices_give_the_same_trials_and_are_built_once_per_thread(
        features, monkeypatch):
    data = (*split_matrix(features, "train"), *split_matrix(features, "valid"))
    config = TUNING.model_copy(update={"n_trials": 8, "parallel_trials": 2,
                                       "max_estimators": 200, "early_stopping_rounds": 20})
    prepared: list[CountingMatrices] = []

    def recording(*rows):
        prepared.append(CountingMatrices(*rows))
        return prepared[-1]

    threads: set[str] = set()

    def fit_recording_thread(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return fit(*args, **kwargs)

    xgboost = get_family("xgboost")
    shared = dataclasses.replace(xgboost, prepare_trials=recording, fit=fit_recording_thread)
    alone = dataclasses.replace(xgboost, prepare_trials=None)
    built_alone = []
    original = family_module.PlainEvalSetClassifier._create_dmatrix

    def counting(self, ref, **kwargs):
        built_alone.append(ref is None)
        return original(self, ref, **kwargs)

    studies = {name: open_study(optuna.storages.InMemoryStorage(), name, seed=5)
               for name in ("shared", "alone")}
    tune(studies["shared"], config, *data, family=shared)
    monkeypatch.setattr(family_module.PlainEvalSetClassifier, "_create_dmatrix", counting)
    tune(studies["alone"], config, *data, family=alone)

    assert _trials(studies["shared"]) == _trials(studies["alone"])
    assert len(built_alone) == 16  # without sharing: a train and a valid matrix per trial
    # with sharing: one train and one valid matrix per thread that fitted trials
    assert 1 <= len(threads) <= 2 and prepared[0].built == 2 * len(threads)


def test_a_fit_on_other_rows_builds_its_own_matrices(features):
    x_train, y_train = split_matrix(features, "train")
    x_valid, y_valid = split_matrix(features, "valid")
    matrices = CountingMatrices(x_train, y_train, x_valid, y_valid)
    config = TUNING.model_copy(update={"max_estimators": 30})
    fit(PARAMS, config, x_train, y_train, x_valid, y_valid, shared=matrices)
    first_train = matrices.get(x_train, y_train, lambda: None)
    assert isinstance(first_train, xgb.QuantileDMatrix) and matrices.built == 2

    # a copy of the rows is other rows for the cache: never the matrix of the originals
    fit(PARAMS, config, x_train.copy(), y_train.copy(), x_valid, y_valid, shared=matrices)
    assert matrices.built == 2
    assert matrices.get(x_train.copy(), y_train, lambda: "built anew") == "built anew"
    assert matrices.get(x_train, y_train, lambda: None) is first_train
