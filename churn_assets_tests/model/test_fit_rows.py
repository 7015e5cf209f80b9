"""tuning.fit_rows: the final fit's rows are a stratified sample of the split, taken before
any copy of the split's matrix."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd

from churn_assets.model.candidate import (
    SINGLE_THREAD_FIT_ROWS,
    final_fit_config,
    split_matrix,
    split_sample,
    train_candidate,
)
from churn_assets.model.families.xgboost_family import fit
from churn_assets.model.tuning import open_study
from churn_assets.names import LABEL, META_COLUMNS, ROW_ID, SPLIT
from churn_assets_tests.model.test_sources_and_tuning import TUNING


def _features(rows: int = 6_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({ROW_ID: [f"c{i}" for i in range(rows)],
                         SPLIT: rng.choice(["train", "valid", "test"], rows, p=[0.7, 0.15, 0.15]),
                         LABEL: (rng.random(rows) < 0.27).astype("int8"),
                         "x": rng.normal(size=rows).astype("float32")},
                        index=pd.RangeIndex(100, 100 + rows))


def test_split_sample_is_stratified_and_bounded() -> None:
    features = _features()
    x, y = split_sample(features, "train", 1_000, seed=1)
    x_all, y_all = split_matrix(features, "train")
    assert len(x) == len(y) == 1_000
    assert list(x.columns) == [c for c in features.columns if c not in META_COLUMNS]
    assert set(x.index) <= set(x_all.index)  # rows of the train split, with their index
    assert abs(y.mean() - y_all.mean()) < 0.002  # each class keeps its share
    np.testing.assert_array_equal(features.loc[x.index, LABEL].to_numpy(), y)
    again, _ = split_sample(features, "train", 1_000, seed=1)
    assert again.index.equals(x.index)  # seeded


def test_split_sample_keeps_a_small_split_whole() -> None:
    features = _features()
    x, y = split_sample(features, "valid", 10_000, seed=1)
    x_all, y_all = split_matrix(features, "valid")
    pd.testing.assert_frame_equal(x, x_all)
    np.testing.assert_array_equal(y, y_all)
    x_none, _ = split_sample(features, "valid", None, seed=1)
    pd.testing.assert_frame_equal(x_none, x_all)


def test_a_small_final_fit_runs_on_one_thread_and_fits_the_same_model(features) -> None:
    tuning = TUNING.model_copy(update={"n_jobs": 2, "parallel_trials": 1, "n_trials": 3})
    candidate = train_candidate(
        features, tuning, lambda _: open_study(optuna.storages.InMemoryStorage(), "s", 1))
    assert candidate.model.classifier.n_jobs == 1  # predictions on one thread too

    two_threads = fit(candidate.tuning.best_params, tuning, *split_matrix(features, "train"),
                      *split_matrix(features, "valid"))
    x_test, _ = split_matrix(features, "test")
    np.testing.assert_array_equal(candidate.model.predict_proba(x_test),
                                  two_threads.predict_proba(x_test))

    assert final_fit_config(tuning, SINGLE_THREAD_FIT_ROWS).n_jobs == 1
    assert final_fit_config(tuning, SINGLE_THREAD_FIT_ROWS + 1) is tuning  # n_jobs threads
