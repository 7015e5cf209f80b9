"""Where the decision threshold is chosen (issue 29): out of fold over train + valid when the
validation split holds few churners, on the validation split otherwise; never on test rows."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from pydantic import ValidationError

from churn_assets.model.candidate import Candidate, split_matrix, train_candidate
from churn_assets.model.metrics import best_f1_threshold
from churn_assets.model.sections import TuningConfig
from churn_assets.model.threshold_choice import OUT_OF_FOLD_POSITIVES
from churn_assets.model.tuning import open_study
from churn_assets.names import LABEL, ROW_ID, SPLIT

TUNING = TuningConfig(n_trials=2, max_estimators=60, early_stopping_rounds=10,
                      timeout_seconds=None, n_jobs=1, parallel_trials=1,
                      threshold_from="auto")


def _table(rows: int, seed: int = 5) -> pd.DataFrame:
    """~14 % churners, churn logistic in two columns, 70/15/15 splits."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    churn = rng.random(rows) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - x[:, 1] - 2.4)))
    return pd.DataFrame({ROW_ID: [f"c{i}" for i in range(rows)],
                         SPLIT: rng.choice(["train", "valid", "test"], rows,
                                           p=[0.7, 0.15, 0.15]),
                         LABEL: churn.astype("int8"), "a": x[:, 0], "b": x[:, 1]})


def _candidate(features: pd.DataFrame, **tuning) -> Candidate:
    return train_candidate(features, TUNING.model_copy(update=tuning),
                           lambda _: open_study(optuna.storages.InMemoryStorage(), "s", 1))


def test_a_small_table_chooses_the_threshold_out_of_fold() -> None:
    features = _table(3_000)
    candidate = _candidate(features)
    _, y_valid = split_matrix(features, "valid")
    assert y_valid.sum() < OUT_OF_FOLD_POSITIVES
    choice = candidate.threshold_choice
    assert (choice.source, choice.valid_positives, choice.folds) == \
        ("out_of_fold", int(y_valid.sum()), 5)
    assert choice.params()["threshold_source"] == "out_of_fold"
    assert candidate.threshold == choice.threshold
    # Not the valid split's own F1 peak: the train rows moved it.
    assert candidate.threshold != best_f1_threshold(y_valid, candidate.valid_probability)
    assert _candidate(features, cv_folds=3).threshold_choice.folds == 3


def test_a_large_table_keeps_the_valid_threshold() -> None:
    features = _table(12_000)
    candidate = _candidate(features)
    _, y_valid = split_matrix(features, "valid")
    assert y_valid.sum() >= OUT_OF_FOLD_POSITIVES
    assert candidate.threshold_choice.source == "valid"
    assert candidate.threshold_choice.params() == {
        "threshold_source": "valid", "threshold_valid_positives": int(y_valid.sum())}
    assert candidate.threshold == best_f1_threshold(y_valid, candidate.valid_probability)


def test_out_of_fold_is_opt_out_and_opt_in() -> None:
    small, large = _table(3_000), _table(12_000)
    assert _candidate(small, threshold_from="valid").threshold_choice.source == "valid"
    assert _candidate(large, threshold_from="out_of_fold").threshold_choice.source == \
        "out_of_fold"
    with pytest.raises(ValidationError, match="threshold_from"):
        TuningConfig(threshold_from="test")


def test_the_out_of_fold_threshold_never_reads_test_rows() -> None:
    features = _table(3_000)
    scrambled = features.copy()
    test = (scrambled[SPLIT] == "test").to_numpy()
    rng = np.random.default_rng(0)
    scrambled.loc[test, LABEL] = rng.permutation(scrambled.loc[test, LABEL].to_numpy())
    scrambled.loc[test, "a"] = rng.normal(size=test.sum())
    first, second = _candidate(features), _candidate(scrambled)
    assert second.threshold_choice.source == "out_of_fold"
    assert second.threshold == first.threshold
    assert second.metrics["test_f1"] != first.metrics["test_f1"]  # the test rows did change
