"""Optuna (seeded TPE) over one model family; every decision is taken on the validation
split only. The family (``churn_assets.model.families``) supplies the search space, the fit
with early stopping and pruning; this module runs the study."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn_assets.model.families import DEFAULT_FAMILY, ModelFamily, get_family
from churn_assets.model.sections import TuningConfig

# optuna and sklearn are imported where a study runs: a process that only loads the
# definitions (code server, sensor, `dg check defs`) never pays for them.
if TYPE_CHECKING:
    import optuna

    TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]

# Validation log-loss is the objective, the early-stopping metric and the pruning signal of
# every family: one figure everywhere (pruning compares intermediate values in the study's
# direction), and a proper scoring rule overfits the validation rows less than ROC-AUC.

# Part of every study's name: change it with the search space or the objective, so that a
# stored study from before the change is never resumed as if it were the same search.
SEARCH_SPACE_VERSION = "logloss-v3"
SIZE_ATTR = "model_size"  # boosting rounds or trees a trial's model kept


@dataclass(frozen=True)
class TuningResult:
    best_params: dict[str, Any]
    best_value: float
    n_trials: int
    n_pruned: int
    trials: pd.DataFrame
    seconds: float = 0.0  # wall time of this call's trials
    family: str = DEFAULT_FAMILY


def trial_config(config: TuningConfig) -> TuningConfig:
    """A trial's share of the threads: ``parallel_trials`` fits share ``n_jobs``."""
    return config.model_copy(update={"n_jobs": max(1, config.n_jobs // config.parallel_trials)})


def study_storage(url: str) -> optuna.storages.BaseStorage:
    """``journal:///path/file.journal`` (local default) or an RDB URL such as
    ``postgresql://...`` that trials on several machines share."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if url.startswith("journal://"):
        # A journal file tolerates concurrent writers, unlike SQLite (Optuna 5 advice).
        path = Path(url.removeprefix("journal://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    return optuna.storages.RDBStorage(url)


def make_sampler(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def make_pruner() -> optuna.pruners.BasePruner:
    # Slow learners look worse in early rounds; a long warm-up stops pruning from
    # favouring high learning rates, which generalise worse.
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=8, n_warmup_steps=150)


def open_study(storage: optuna.storages.BaseStorage, study_name: str, seed: int) -> optuna.Study:
    import optuna

    return optuna.create_study(
        study_name=study_name, storage=storage, direction="minimize", load_if_exists=True,
        sampler=make_sampler(seed), pruner=make_pruner(),
    )


def optimize_in_batches(
    study: optuna.Study, evaluate: Callable[[optuna.Trial, dict[str, Any]], float],
    n_trials: int, parallel: int, timeout: float | None, callbacks: list[TrialCallback],
    suggest: Callable[[optuna.Trial], dict[str, Any]] | None = None,
) -> None:
    """``study.optimize`` for ``parallel`` trials at once that stays reproducible. Optuna's own
    ``n_jobs`` threads draw parameters from the shared seeded sampler in whatever order the
    threads run; here each batch's parameters are drawn in order on this thread, the fits run
    in threads (the model libraries release the GIL), and the trials are told in order once
    the whole batch is done, so pruning compares a trial only with trials told before its
    batch. ``suggest``: the family's (default: the default family's)."""
    import optuna

    suggest = suggest or get_family(DEFAULT_FAMILY).suggest
    deadline = time.monotonic() + timeout if timeout else None
    done, told = 0, []

    def report_told() -> None:
        for frozen in told:
            for callback in callbacks:
                callback(study, frozen)
        told.clear()

    with ThreadPoolExecutor(parallel, thread_name_prefix="trial") as pool:
        while done < n_trials and (deadline is None or time.monotonic() < deadline):
            trials, futures = [], []
            for _ in range(min(parallel, n_trials - done)):
                # Each fit starts as soon as its parameters are drawn, beside the drawing of
                # the next ones (TPE takes tens of ms a trial). Same draws: the sampler sees
                # the batch's earlier trials as running either way, and only this thread
                # asks it.
                trials.append(study.ask())
                futures.append(pool.submit(evaluate, trials[-1], suggest(trials[-1])))
            report_told()  # the last batch's logging overlaps this batch's fits
            wait(futures)
            failure: BaseException | None = None
            for trial, future in zip(trials, futures, strict=True):
                error = future.exception()
                if error is None:
                    told.append(study.tell(trial, future.result()))
                elif isinstance(error, optuna.TrialPruned):
                    told.append(study.tell(trial, state=optuna.trial.TrialState.PRUNED))
                else:  # no trial left RUNNING; the first error is the call's error
                    told.append(study.tell(trial, state=optuna.trial.TrialState.FAIL))
                    failure = failure or error
            if failure is not None:
                report_told()
                raise failure
            done += len(trials)
    report_told()


def cross_validated_logloss(
    trial: optuna.Trial, params: dict[str, Any], config: TuningConfig, x_train: pd.DataFrame,
    y_train: np.ndarray, x_valid: pd.DataFrame, y_valid: np.ndarray,
    family: ModelFamily | None = None,
) -> float:
    """Mean out-of-fold log-loss of ``config.cv_folds`` stratified folds of train + valid,
    each fold early-stopped on its held-out rows. Not pruned: MedianPruner's steps are
    rounds or trees, and a fold is not one."""
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    family = family or get_family(DEFAULT_FAMILY)
    x = pd.concat([x_train, x_valid], ignore_index=True)
    y = np.concatenate([y_train, y_valid])
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.seed)
    out_of_fold = np.empty(len(y))
    sizes = []
    for fit_rows, held_rows in folds.split(x, y):
        model = family.fit(params, config, x.iloc[fit_rows], y[fit_rows],
                           x.iloc[held_rows], y[held_rows])
        out_of_fold[held_rows] = model.predict_proba(x.iloc[held_rows])
        sizes.append(model.size or 0)
    trial.set_user_attr(SIZE_ATTR, int(np.mean(sizes)))
    trial.set_user_attr("valid_roc_auc", float(roc_auc_score(y, out_of_fold)))
    return float(log_loss(y, out_of_fold))


def tune(
    study: optuna.Study, config: TuningConfig, x_train: pd.DataFrame, y_train: np.ndarray,
    x_valid: pd.DataFrame, y_valid: np.ndarray,
    on_trial: Callable[[optuna.trial.FrozenTrial, int], None] | None = None,
    family: ModelFamily | None = None, space_overrides: Mapping[str, Any] | None = None,
) -> TuningResult:
    """Run trials of ``family`` until the study holds ``n_trials`` finished ones (so a crash
    resumes), ``config.parallel_trials`` at a time."""
    import optuna
    from sklearn.metrics import log_loss, roc_auc_score

    family = family or get_family(DEFAULT_FAMILY)
    fit_config = trial_config(config)
    # Trials in this process share what the family prepares once per set of rows; trials
    # on Dask workers (``runs_its_own_trials``) prepare nothing and share nothing.
    shared = {}
    if family.prepare_trials and not getattr(study, "runs_its_own_trials", False):
        shared["shared"] = family.prepare_trials(x_train, y_train, x_valid, y_valid)

    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        return family.suggest(trial, space_overrides)

    def evaluate(trial: optuna.Trial, params: dict[str, Any]) -> float:
        if config.cv_folds:
            return cross_validated_logloss(trial, params, fit_config, x_train, y_train,
                                           x_valid, y_valid, family)
        model = family.fit(params, fit_config, x_train, y_train, x_valid, y_valid, trial=trial,
                           **shared)
        probability = model.predict_proba(x_valid)
        trial.set_user_attr(SIZE_ATTR, model.size or 0)
        trial.set_user_attr("valid_roc_auc", float(roc_auc_score(y_valid, probability)))
        return float(log_loss(y_valid, probability))

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if on_trial:
            # Not ``study.trials``: it deep-copies every trial, on every report (50 trials:
            # 1,275 copies read back from the storage).
            on_trial(trial, len(study.get_trials(deepcopy=False)))

    started = time.monotonic()
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    remaining = config.n_trials - len(study.get_trials(states=finished))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timeout = config.timeout_seconds or None
    if remaining > 0 and getattr(study, "runs_its_own_trials", False):  # e.g. on Dask workers
        study.optimize(lambda trial: evaluate(trial, suggest(trial)),
                       n_trials=remaining, timeout=timeout, callbacks=[report], catch=())
    elif remaining > 0:
        optimize_in_batches(study, evaluate, remaining, config.parallel_trials, timeout,
                            [report], suggest)
    trials = study.trials_dataframe(
        attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    return TuningResult(
        best_params=dict(study.best_params),
        best_value=float(study.best_value),
        n_trials=len(study.get_trials(states=finished)),
        n_pruned=len(study.get_trials(states=(optuna.trial.TrialState.PRUNED,))),
        trials=trials,
        seconds=time.monotonic() - started,
        family=family.name,
    )
