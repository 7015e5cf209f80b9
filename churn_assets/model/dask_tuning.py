"""Optuna trials and the final fit on a Dask cluster (``dask.distributed``).

``DaskTrials`` is the trial runner for a cluster. Its studies (``open_dask_study``) are
:class:`DaskStudy`: an ``optuna.Study`` whose ``optimize`` runs the trials on the cluster's
workers, so ``tune()`` and ``train_candidate()`` work unchanged; its ``fit_final`` decides
where the chosen parameters' final fit runs.
Every worker's sampler sees every finished trial through one shared storage: workers open the
configured RDB (``postgresql://...``) themselves, and so they do a journal file when they
all run on this machine; only a journal file the workers cannot reach is hosted on the
scheduler (optuna-integration's ``DaskStorage``), whose round trip per storage call made
50 trials on 2 local workers take 13.8 s instead of 8.1 s.
Workers need the ``churn_assets`` package importable (same image or environment).
"""

from __future__ import annotations

import hashlib
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import optuna
import pandas as pd

from churn_assets.model.candidate import fit_here
from churn_assets.model.families import FittedModel, ModelFamily
from churn_assets.model.sections import TuningConfig
from churn_assets.model.tuning import (
    make_pruner,
    make_sampler,
    study_storage,
)
from churn_assets.names import LABEL, META_COLUMNS, SPLIT

if TYPE_CHECKING:
    import dask.dataframe as dd

# The user attribute naming the Dask worker that ran a trial (seen in the trials table).
WORKER_ATTR = "dask_worker"
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
POLL_SECONDS = 0.5


def split_trials(n_trials: int, n_workers: int) -> list[int]:
    """``n_trials`` as near-equal shares, larger first; no empty shares."""
    base, extra = divmod(n_trials, n_workers)
    return [share for share in (base + (i < extra) for i in range(n_workers)) if share]


def _run_trials(study_name: str, storage: optuna.storages.BaseStorage | str, seed: int,
                objective: Callable[[optuna.Trial], float], n_trials: int,
                timeout: float | None, catch: tuple[type[Exception], ...]) -> int:
    """On a worker: ``n_trials`` of the shared study, each tagged with this worker."""
    from distributed import get_worker

    address = get_worker().address
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if isinstance(storage, str):  # a URL this worker opens itself
        storage = study_storage(storage)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=make_sampler(seed), pruner=make_pruner())

    def tagged(trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER_ATTR, address)
        return objective(trial)

    study.optimize(tagged, n_trials=n_trials, timeout=timeout, catch=catch)
    return n_trials


class DaskStudy(optuna.Study):
    """A study whose ``optimize`` spreads ``n_trials`` over the cluster's workers, one share
    per worker (``threads_per_worker`` trials would fight over the same cores a fit uses).
    Each worker's sampler has its own seed, else seeded TPE would propose the same startup
    points on every worker. Callbacks run here, on the client, as trials finish."""

    runs_its_own_trials = True  # ``tune()`` hands it whole objectives, not batches

    def __init__(self, study_name: str, storage: optuna.storages.BaseStorage, seed: int,
                 client: Any, worker_storage_url: str | None = None):
        super().__init__(study_name=study_name, storage=storage, sampler=make_sampler(seed),
                         pruner=make_pruner())
        self.client = client
        self.worker_storage_url = worker_storage_url  # None: workers use ``storage`` itself
        self.seed = seed

    def worker_addresses(self) -> list[str]:
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def optimize(self, func: Callable[[optuna.Trial], float], n_trials: int | None = None,
                 timeout: float | None = None, n_jobs: int = 1,
                 catch: Sequence[type[Exception]] | type[Exception] = (),
                 callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]]
                 | None = None, gc_after_trial: bool = False,
                 show_progress_bar: bool = False) -> None:
        if n_trials is None:
            raise ValueError("a DaskStudy needs n_trials to share them among the workers")
        workers = self.worker_addresses()
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        catch = tuple(catch) if isinstance(catch, Sequence) else (catch,)
        reported = {t.number for t in self.get_trials(deepcopy=False, states=FINISHED)}
        # Shipped once per worker, not once per task (it holds the tuning data).
        [objective] = self.client.scatter([func], broadcast=True, hash=False)
        futures = [
            self.client.submit(_run_trials, self.study_name,
                               self.worker_storage_url or self._storage, self.seed + 1 + i,
                               objective, share, timeout, catch, workers=[address],
                               allow_other_workers=False, pure=False)
            for i, (address, share) in enumerate(zip(workers, split_trials(n_trials,
                                                                           len(workers)),
                                                     strict=False))
        ]
        self._wait_reporting(futures, reported, callbacks or ())
        for future in futures:
            future.result()  # a worker's failure is this call's failure

    def _wait_reporting(self, futures: list, reported: set[int],
                        callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial],
                                                     None]]) -> None:
        """Until every share is done (or one failed), call ``callbacks`` for new trials."""
        while True:
            finished = all(f.done() for f in futures) or any(f.status == "error"
                                                              for f in futures)
            for trial in self.get_trials(deepcopy=False, states=FINISHED):
                if trial.number not in reported:
                    reported.add(trial.number)
                    for callback in callbacks:
                        callback(self, trial)
            if finished:
                return
            time.sleep(POLL_SECONDS)


def _partitioned(client: Any, x: pd.DataFrame, y: np.ndarray) -> tuple[Any, Any]:
    """Rows as a Dask frame and a label series with the same partitions, one per worker."""
    import dask.dataframe as dd

    n_parts = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    x = x.reset_index(drop=True)
    labels = pd.Series(y, index=x.index, name="label")
    return (client.persist(dd.from_pandas(x, npartitions=n_parts, sort=True)),
            client.persist(dd.from_pandas(labels, npartitions=n_parts, sort=True)))


def fit_on_cluster(client: Any, family: ModelFamily, params: dict[str, Any],
                   config: TuningConfig, x_train: pd.DataFrame, y_train: np.ndarray,
                   x_valid: pd.DataFrame, y_valid: np.ndarray) -> FittedModel:
    """The family's distributed fit (e.g. ``xgboost.dask``), the rows partitioned one part
    per worker; the model comes back as a local one, exported and scored like any other."""
    if family.fit_on_cluster is None:
        raise ValueError(f"model family '{family.name}' has no distributed fit")
    return family.fit_on_cluster(client, params, config, x_train, y_train, x_valid, y_valid,
                                 _partitioned)


def workers_share_this_machine(client: Any) -> bool:
    """Every worker runs on this machine (a ``LocalCluster``), so it can open local files."""
    here = {"127.0.0.1", "localhost", socket.gethostname(),
            socket.gethostbyname(socket.gethostname())}
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return bool(workers) and all(urlsplit(address).hostname in here for address in workers)


def open_dask_study(client: Any, storage: optuna.storages.BaseStorage, storage_url: str,
                    study_name: str, seed: int) -> DaskStudy:
    """The study (created if new) in ``storage``, which the workers open by ``storage_url``
    when they can reach it, else through the scheduler (the same URL always maps to the
    same scheduler-side storage)."""
    if not storage_url.startswith("journal://") or workers_share_this_machine(client):
        optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                            load_if_exists=True)
        return DaskStudy(study_name, storage, seed, client, worker_storage_url=storage_url)
    from optuna_integration import DaskStorage

    name = "churn-" + hashlib.sha256(storage_url.encode()).hexdigest()[:16]
    with warnings.catch_warnings():  # "experimental since Optuna 3.1": known, and pinned
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        shared = DaskStorage(storage=storage, name=name, client=client)
    optuna.create_study(study_name=study_name, storage=shared, direction="minimize",
                        load_if_exists=True)
    return DaskStudy(study_name, shared, seed, client)


@dataclass(frozen=True)
class DaskTrials:
    """The trial runner for a Dask cluster: each family's trials on the workers
    (``DaskStudy``), its final fit through the family's distributed fit from
    ``final_fit_min_rows`` train rows up (None: never), else here. ``feature_partitions``:
    the Dask data path's ``customer_features``, whose every train row (``partition_train_rows``)
    a distributed final fit then reads, instead of the local sample it is handed."""

    client: Any
    storage: optuna.storages.BaseStorage
    storage_url: str
    final_fit_min_rows: int | None = None
    feature_partitions: Any = None
    partition_train_rows: int = 0

    def open_study(self, study_name: str, seed: int) -> DaskStudy:
        return open_dask_study(self.client, self.storage, self.storage_url, study_name, seed)

    def fit_final(self, family: ModelFamily, params: dict[str, Any], config: TuningConfig,
                  x_train: pd.DataFrame, y_train: np.ndarray, x_valid: pd.DataFrame,
                  y_valid: np.ndarray) -> FittedModel:
        rows = self.partition_train_rows if self.feature_partitions is not None \
            else len(x_train)
        if (family.fit_on_cluster is None or self.final_fit_min_rows is None
                or rows < self.final_fit_min_rows):
            return fit_here(family, params, config, x_train, y_train, x_valid, y_valid)
        if self.feature_partitions is not None:
            return fit_final_on_cluster(self.client, params, config, self.feature_partitions,
                                        family)
        return fit_on_cluster(self.client, family, params, config, x_train, y_train, x_valid,
                              y_valid)


def fit_final_on_cluster(client: Any, params: dict[str, Any], config: Any,
                         features: dd.DataFrame, family: Any = None) -> Any:
    """The final fit on the feature partitions through the family's distributed fit
    (XGBoost's ``xgboost.dask`` by default): train rows fit, valid rows decide when boosting
    stops, as the local fit does. Returns a local model, exported and scored like any
    other."""
    if family is None:
        from churn_assets.model.families.xgboost_family import fit_on_cluster as fit_family
    else:
        fit_family = family.fit_on_cluster

    def part(split: str) -> tuple[dd.DataFrame, dd.Series]:
        # Persisted first: read lazily, the matrix and the label column would be read with
        # different partition counts (dask fuses Parquet parts by the columns read).
        rows = client.persist(features[features[SPLIT] == split])
        return rows.drop(columns=list(META_COLUMNS)), rows[LABEL]

    (x_train, y_train), (x_valid, y_valid) = part("train"), part("valid")
    return fit_family(client, params, config, x_train, y_train, x_valid, y_valid,
                          lambda _client, x, y: (x, y))  # already partitioned
