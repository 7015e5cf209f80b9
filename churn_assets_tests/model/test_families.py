"""The model families behind one seam: the default family reproduces the pre-seam XGBoost
search bit for bit, every family explains its own predictions in log-odds and round-trips
its export without pickle, and the candidate is the family that does best on valid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import log_loss

from churn_assets.model.candidate import family_budget, split_matrix, train_candidate
from churn_assets.model.families import (
    DEFAULT_FAMILY,
    FAMILY_NAMES,
    get_family,
    load_fitted,
    save_fitted,
)
from churn_assets.model.families.base import logit
from churn_assets.model.families.xgboost_family import classifier_settings
from churn_assets.model.sections import TuningConfig
from churn_assets.model.tuning import open_study, tune

TUNING = TuningConfig(n_trials=4, max_estimators=150, early_stopping_rounds=15,
                      timeout_seconds=None, n_jobs=1, parallel_trials=1)
PICKLE_MAGIC = b"\x80"  # every pickle protocol >= 2 starts with PROTO 0x80


def _data(features: pd.DataFrame) -> tuple:
    return (*split_matrix(features, "train"), *split_matrix(features, "valid"))


def _memory_study(name: str = "s") -> optuna.Study:
    return open_study(optuna.storages.InMemoryStorage(), name, TUNING.seed)


def test_the_default_family_is_the_pre_seam_xgboost_search_bit_for_bit(features) -> None:
    """The search as it was written before the seam: the same eight suggestions in the same
    order, an XGBClassifier with the same constructor settings, valid log-loss."""
    x_train, y_train, x_valid, y_valid = _data(features)

    def before_the_seam(trial: optuna.Trial) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
            "max_depth": trial.suggest_int("max_depth", 1, 6),
            "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 50.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 20.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 5.0, log=True),
            "gamma": trial.suggest_float("gamma", 1e-3, 5.0, log=True),
        }
        model = xgb.XGBClassifier(**classifier_settings(params, TUNING))
        model.fit(x_train, y_train, eval_set=[(x_valid, y_valid)], verbose=False)
        return float(log_loss(y_valid, model.predict_proba(x_valid)[:, 1]))

    reference = _memory_study("before")
    reference.optimize(before_the_seam, n_trials=TUNING.n_trials)
    result = tune(_memory_study("seam"), TUNING, x_train, y_train, x_valid, y_valid)

    assert result.family == DEFAULT_FAMILY == "xgboost"
    assert result.best_params == reference.best_params
    assert result.trials["value"].tolist() == [t.value for t in reference.trials]


@pytest.fixture(scope="module", params=FAMILY_NAMES)
def fitted(request, features):
    family = get_family(request.param)
    params = {name: (d.choices[0] if d.kind == "categorical" else
                     int(d.low + d.high) // 2 if d.kind == "int" else
                     float(np.sqrt(d.low * d.high)) if d.log else (d.low + d.high) / 2)
              for name, d in family.space.items()}
    return family.fit(params, TUNING, *_data(features))


def test_contributions_sum_to_the_log_odds_of_the_prediction(fitted, features) -> None:
    x_test, _ = split_matrix(features, "test")
    contributions = fitted.contributions(x_test)
    probability = fitted.predict_proba(x_test)
    assert contributions.shape == (len(x_test), x_test.shape[1] + 1)
    assert probability.shape == (len(x_test),) and ((probability > 0) & (probability < 1)).all()
    tolerance = 1e-5 if fitted.family == "xgboost" else 1e-9  # XGBoost sums in float32
    np.testing.assert_allclose(contributions.sum(axis=1), logit(probability), atol=tolerance)
    assert np.abs(contributions[:, :-1]).sum() > 0  # the features explain something


def test_export_round_trips_without_pickle(fitted, features, tmp_path: Path) -> None:
    x_test, _ = split_matrix(features, "test")
    save_fitted(fitted, tmp_path / "model")
    files = sorted(p for p in (tmp_path / "model").iterdir())
    assert len(files) >= 2  # family.json and the family's own files
    assert not any(p.read_bytes().startswith(PICKLE_MAGIC) for p in files)
    loaded = load_fitted(tmp_path / "model")
    assert loaded.family == fitted.family
    np.testing.assert_allclose(loaded.predict_proba(x_test), fitted.predict_proba(x_test),
                               atol=1e-7, rtol=0)
    np.testing.assert_allclose(loaded.contributions(x_test.head(20)),
                               fitted.contributions(x_test.head(20)), atol=1e-6, rtol=0)


def test_importances_name_the_model_matrix_columns(fitted, features) -> None:
    x_test, _ = split_matrix(features, "test")
    importances = fitted.importances()
    assert importances and set(importances) <= set(x_test.columns)
    assert all(value > 0 for value in importances.values())


def test_the_budget_is_shared_out_and_a_single_family_keeps_all_of_it() -> None:
    tuning = TuningConfig(n_trials=10, timeout_seconds=600)
    shares = [family_budget(tuning, 4, i) for i in range(4)]
    assert [s.n_trials for s in shares] == [3, 3, 2, 2]
    assert {s.timeout_seconds for s in shares} == {150}
    assert family_budget(tuning, 1, 0) == tuning


def test_the_candidate_is_the_family_with_the_lowest_valid_log_loss(features) -> None:
    opened: dict[str, optuna.Study] = {}

    def open_for(family: str) -> optuna.Study:
        opened[family] = _memory_study(family)
        return opened[family]

    families = ("logistic_regression", "lightgbm", "random_forest")
    candidate = train_candidate(features, TUNING.model_copy(update={"n_trials": 5}), open_for,
                                families=families)
    board = candidate.leaderboard()

    assert list(opened) == list(families)
    assert [len(opened[f].trials) for f in families] == [2, 2, 1]  # one budget of 5 trials
    assert board["valid_log_loss"].is_monotonic_increasing
    assert board.loc[0, "family"] == candidate.family and board["chosen"].sum() == 1
    x_valid, y_valid = split_matrix(features, "valid")
    winner = next(r for r in candidate.families if r.family == candidate.family)
    assert winner.valid_log_loss == pytest.approx(
        log_loss(y_valid, candidate.model.predict_proba(x_valid)))
    assert not any(name.startswith("test") for name in board.columns)  # valid decides


def test_search_space_overrides_narrow_the_search_and_bad_ones_fail_first(features) -> None:
    study = _memory_study()
    tune(study, TUNING, *_data(features), family=get_family("xgboost"),
         space_overrides={"max_depth": [2, 2], "learning_rate": [0.1, 0.1]})
    assert {t.params["max_depth"] for t in study.trials} == {2}

    opened: list[str] = []
    with pytest.raises(ValueError, match=r"model\.search_space\.lightgbm\.depth: unknown "
                                         r"parameter \(known: learning_rate, num_leaves"):
        train_candidate(features, TUNING, lambda f: opened.append(f) or _memory_study(f),
                        families=("xgboost", "lightgbm"),
                        search_space={"lightgbm": {"depth": [1, 3]}})
    assert opened == []  # no study opened for a run that cannot be right
