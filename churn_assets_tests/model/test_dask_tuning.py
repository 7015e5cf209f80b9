"""Tuning and the final fit on a real Dask cluster (LocalCluster, 2 workers on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.splits import assign_splits, binary_target
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.optuna_storage import OptunaStorage
from churn_assets.generator import generate_customers
from churn_assets.model import dask_tuning
from churn_assets.model.candidate import split_matrix, train_candidate
from churn_assets.model.dask_tuning import (
    WORKER_ATTR,
    DaskStudy,
    fit_on_cluster,
    open_dask_study,
    split_trials,
)
from churn_assets.model.families import get_family, load_fitted, save_fitted
from churn_assets.model.families.xgboost_family import XGBoostModel, cluster_settings
from churn_assets.model.preprocessing import ChurnPreprocessor
from churn_assets.model.tuning import study_storage, tune
from churn_assets.names import LABEL, ROW_ID, SPLIT
from churn_assets_tests.helpers.small_candidate import CONFIG

TUNING = CONFIG.tuning.model_copy(update={"n_trials": 6})


@pytest.mark.parametrize(("n_trials", "n_workers", "shares"), [
    (6, 2, [3, 3]), (7, 2, [4, 3]), (1, 2, [1]), (5, 1, [5]), (2, 4, [1, 1])])
def test_trials_are_shared_out_without_empty_shares(n_trials, n_workers, shares) -> None:
    assert split_trials(n_trials, n_workers) == shares


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, processes=True) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    """The feature table as the customer_features asset builds it, for 3,000 customers."""
    customers = generate_customers(3000, seed=5)
    split = assign_splits(customers["customerID"], CONFIG.split)
    roles = infer_column_roles(customers, CONFIG)
    preprocessor = ChurnPreprocessor(roles.numeric, roles.categorical).fit(
        customers[split == "train"])
    meta = pd.DataFrame({ROW_ID: customers["customerID"], SPLIT: split,
                         LABEL: binary_target(customers["Churn"], CONFIG.positive_label)})
    return pd.concat([meta, preprocessor.transform(customers)], axis=1)


def test_resource_without_address_keeps_trials_local(tmp_path: Path) -> None:
    storage = OptunaStorage(url=f"journal://{tmp_path / 's.journal'}")
    study = storage.open_study("local", seed=1)
    assert not isinstance(study, DaskStudy)


@pytest.mark.slow
def test_trials_run_on_both_workers_and_the_model_scores_like_a_local_one(
        cluster: str, features: pd.DataFrame, tmp_path: Path) -> None:
    seen: list[int] = []
    dask = DaskCluster(scheduler_address=cluster, final_fit_min_rows=0)
    storage = OptunaStorage(url=f"journal://{tmp_path / 'dask.journal'}", dask_cluster=dask)
    runner = storage.trial_runner()  # trials on the workers, the final fit via xgboost.dask
    on_dask = train_candidate(features, TUNING, lambda family: runner.open_study("churn-dask", 42),
                              lambda trial, finished: seen.append(trial.number),
                              fit_final=runner.fit_final)
    local_storage = OptunaStorage(url=f"journal://{tmp_path / 'local.journal'}")
    local = train_candidate(features, TUNING, lambda family: local_storage.open_study("churn", 42))

    workers = sorted(dask.get_client().scheduler_info(n_workers=-1)["workers"])
    # The study outlives the cluster's storage: it is in the journal file, every trial there.
    trials = optuna.load_study(study_name="churn-dask", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "dask.journal")))).trials
    assert len(workers) == 2
    assert sorted(t.user_attrs[WORKER_ATTR] for t in trials) == sorted(
        [workers[0]] * 3 + [workers[1]] * 3)
    assert on_dask.tuning.n_trials == 6 and sorted(seen) == list(range(6))  # callbacks here
    # The trials differ (own seeds per worker, parallel TPE), the models score alike.
    assert abs(on_dask.metrics["test_roc_auc"] - local.metrics["test_roc_auc"]) < 0.03
    assert on_dask.metrics["test_roc_auc"] > 0.75
    assert isinstance(on_dask.model, XGBoostModel)


@pytest.mark.slow
def test_final_fit_through_xgboost_dask_gives_the_booster_the_served_model_loads(
        cluster: str, features: pd.DataFrame, tmp_path: Path) -> None:
    from distributed import Client

    params = {"learning_rate": 0.1, "max_depth": 3}
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (
        split_matrix(features, s) for s in ("train", "valid", "test"))
    with Client(cluster, set_as_default=False) as client:
        distributed_model = fit_on_cluster(client, get_family("xgboost"), params, TUNING,
                                           x_train, y_train, x_valid, y_valid)
    local_model = get_family("xgboost").fit(params, TUNING, x_train, y_train, x_valid, y_valid)

    # Saved as log_candidate saves it, loaded as the served pyfunc loads it.
    save_fitted(distributed_model, tmp_path / "model")
    served = load_fitted(tmp_path / "model")
    served_probability = served.predict_proba(x_test)
    assert served.booster.feature_names == list(x_train.columns)
    assert distributed_model.size > 1
    probability = distributed_model.predict_proba(x_test)
    local_probability = local_model.predict_proba(x_test)
    assert np.isfinite(served_probability).all()
    assert abs(roc_auc_score(y_test, probability)
               - roc_auc_score(y_test, local_probability)) < 0.02


def test_the_distributed_fit_trains_with_each_workers_own_threads(cluster: str) -> None:
    """xgboost.dask resolves a worker's thread count from the fit's settings (its own
    get_n_threads, run on the real one-thread workers): the training step's two threads
    must not reach a one-thread worker."""
    from distributed import Client
    from xgboost.dask.utils import get_n_threads

    settings = cluster_settings({"max_depth": 3}, TUNING.model_copy(update={"n_jobs": 2}))
    with Client(cluster, set_as_default=False) as client:
        threads = client.run(lambda dask_worker: get_n_threads(settings, dask_worker))
    assert sorted(threads.values()) == [1, 1]


@pytest.mark.slow
@pytest.mark.parametrize("workers_reach_the_file", [True, False])
def test_workers_open_a_journal_they_reach_else_go_through_the_scheduler(
        cluster: str, features: pd.DataFrame, tmp_path: Path, monkeypatch,
        workers_reach_the_file: bool) -> None:
    from distributed import Client

    data = (*split_matrix(features, "train"), *split_matrix(features, "valid"))
    url = f"journal://{tmp_path / 'study.journal'}"
    with Client(cluster, set_as_default=False) as client:
        assert dask_tuning.workers_share_this_machine(client)  # a LocalCluster on 127.0.0.1
        monkeypatch.setattr(dask_tuning, "workers_share_this_machine",
                            lambda _: workers_reach_the_file)  # as if the workers were remote
        study = open_dask_study(client, study_storage(url), url, "shared", seed=1)
        assert (study.worker_storage_url == url) is workers_reach_the_file
        result = tune(study, TUNING.model_copy(update={"n_trials": 4}), *data)
    stored = optuna.load_study(study_name="shared", storage=study_storage(url)).trials
    assert result.n_trials == 4 and len(stored) == 4
    assert len({t.user_attrs[WORKER_ATTR] for t in stored}) == 2


@pytest.mark.slow
def test_a_family_without_a_distributed_fit_tunes_on_the_workers_and_fits_here(
        cluster: str, features: pd.DataFrame, tmp_path: Path) -> None:
    dask = DaskCluster(scheduler_address=cluster, final_fit_min_rows=0)
    storage = OptunaStorage(url=f"journal://{tmp_path / 'lgb.journal'}", dask_cluster=dask)
    runner = storage.trial_runner()
    candidate = train_candidate(features, TUNING.model_copy(update={"n_trials": 4}),
                                lambda family: runner.open_study(f"churn-{family}", 42),
                                families=("lightgbm",), fit_final=runner.fit_final)
    trials = optuna.load_study(study_name="churn-lightgbm", storage=study_storage(
        f"journal://{tmp_path / 'lgb.journal'}")).trials
    assert len({t.user_attrs[WORKER_ATTR] for t in trials}) == 2  # both workers tuned
    assert get_family("lightgbm").fit_on_cluster is None  # so the final fit ran here
    assert candidate.family == "lightgbm" and candidate.metrics["test_roc_auc"] > 0.75
