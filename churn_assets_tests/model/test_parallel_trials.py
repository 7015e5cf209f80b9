"""Trials side by side (``tuning.parallel_trials``): really concurrent, yet reproducible."""

from __future__ import annotations

import threading
from pathlib import Path

import optuna
import pytest

from churn_assets.model.candidate import split_matrix
from churn_assets.model.tuning import (
    SIZE_ATTR,
    open_study,
    optimize_in_batches,
    study_storage,
    tune,
)
from churn_assets_tests.model.test_sources_and_tuning import TUNING

STATES = optuna.trial.TrialState


def journal_study(tmp_path: Path, name: str = "s") -> optuna.Study:
    return open_study(study_storage(f"journal://{tmp_path / name}.journal"), name, seed=3)


def trial_facts(study: optuna.Study) -> list[tuple]:
    return [(t.number, t.state, t.params, t.value, t.user_attrs.get(SIZE_ATTR))
            for t in study.trials]


def test_the_same_seed_gives_the_same_trials_whatever_the_threads_do(features, tmp_path):
    data = (*split_matrix(features, "train"), *split_matrix(features, "valid"))
    config = TUNING.model_copy(update={"n_trials": 10, "parallel_trials": 2,
                                       "max_estimators": 200, "early_stopping_rounds": 20})
    first, second = journal_study(tmp_path, "a"), journal_study(tmp_path, "b")
    result = tune(first, config, *data)
    tune(second, config, *data)
    assert result.n_trials == 10
    assert trial_facts(first) == trial_facts(second)
    assert len({repr(t.params) for t in first.trials}) == 10  # no batch drew twice the same


def test_a_batch_runs_its_trials_at_the_same_time(tmp_path):
    both_running = threading.Barrier(2, timeout=30)  # breaks unless two fits overlap
    threads: set[str] = set()

    def evaluate(trial: optuna.Trial, params: dict) -> float:
        threads.add(threading.current_thread().name)
        both_running.wait()
        return params["learning_rate"]

    study = journal_study(tmp_path)
    optimize_in_batches(study, evaluate, n_trials=4, parallel=2, timeout=None, callbacks=[])
    assert [t.state for t in study.trials] == [STATES.COMPLETE] * 4
    assert len(threads) == 2


def test_a_failed_trial_fails_the_call_and_leaves_no_trial_running(tmp_path):
    told: list[tuple[int, STATES]] = []

    def evaluate(trial: optuna.Trial, params: dict) -> float:
        if trial.number == 2:
            raise ValueError("trial 2 broke")
        if trial.number == 1:
            raise optuna.TrialPruned()
        return 0.5

    study = journal_study(tmp_path)
    with pytest.raises(ValueError, match="trial 2 broke"):
        optimize_in_batches(study, evaluate, n_trials=6, parallel=2, timeout=None,
                            callbacks=[lambda _, t: told.append((t.number, t.state))])
    assert [t.state for t in study.trials] == [STATES.COMPLETE, STATES.PRUNED, STATES.FAIL,
                                               STATES.COMPLETE]
    assert told == [(t.number, t.state) for t in study.trials]  # reported in order


def test_the_timeout_stops_between_batches(tmp_path):
    def evaluate(trial: optuna.Trial, params: dict) -> float:
        threading.Event().wait(0.3)
        return 1.0

    study = journal_study(tmp_path)
    optimize_in_batches(study, evaluate, n_trials=20, parallel=2, timeout=0.1, callbacks=[])
    assert [t.state for t in study.trials] == [STATES.COMPLETE] * 2


def test_a_fit_starts_while_the_next_trial_of_its_batch_is_drawn(tmp_path):
    first_fit_started = threading.Event()
    drawn_while_fitting: list[bool] = []

    def suggest(trial: optuna.Trial) -> dict:
        if trial.number % 2:  # the batch's second trial: its first one must be fitting
            drawn_while_fitting.append(first_fit_started.wait(timeout=30))
        return {"learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3)}

    def evaluate(trial: optuna.Trial, params: dict) -> float:
        if trial.number % 2 == 0:
            first_fit_started.set()
        else:
            first_fit_started.clear()  # for the next batch
        return params["learning_rate"]

    study = journal_study(tmp_path)
    optimize_in_batches(study, evaluate, n_trials=4, parallel=2, timeout=None, callbacks=[],
                        suggest=suggest)
    assert drawn_while_fitting == [True, True]
    assert [t.state for t in study.trials] == [STATES.COMPLETE] * 4
