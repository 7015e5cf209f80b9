"""From the feature table to a fitted, thresholded and honestly evaluated candidate: each
configured model family is tuned on its share of the budget, the family with the lowest
validation log-loss wins, and only the winner ever sees the test rows."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn_assets.model.families import DEFAULT_FAMILY, FittedModel, ModelFamily, get_family
from churn_assets.model.families.base import narrowed
from churn_assets.model.metrics import best_f1_threshold, classification_metrics
from churn_assets.model.sections import TuningConfig
from churn_assets.model.threshold_choice import ThresholdChoice, choose_threshold
from churn_assets.model.tuning import SEARCH_SPACE_VERSION, TuningResult, tune
from churn_assets.model.tuning import open_study as open_local_study
from churn_assets.names import LABEL, META_COLUMNS, SPLIT

if TYPE_CHECKING:
    import optuna

# A small table's fit gains little from a second thread and loses much when the machine is
# busy: OpenMP's threads wait for each other every round. Telco's final fit (4,996 rows, 289
# rounds, load 9.6): 0.31-0.53 s on one thread against 1.47-5.18 s on two. Trials already
# fit on one thread each.
SINGLE_THREAD_FIT_ROWS = 20_000
LEADERBOARD_COLUMNS = ("family", "valid_log_loss", "valid_roc_auc", "valid_pr_auc", "valid_f1",
                       "trials", "pruned", "tune_seconds", "fit_seconds", "chosen")


@dataclass(frozen=True)
class FamilyResult:
    """One family's best: its tuning, and its best parameters fitted on all train rows."""

    family: str
    tuning: TuningResult
    model: FittedModel
    valid_log_loss: float
    valid_metrics: dict[str, float]  # at this family's own F1-optimal valid threshold
    fit_seconds: float


@dataclass(frozen=True)
class Candidate:
    model: FittedModel
    threshold: float
    tuning: TuningResult  # the winning family's
    metrics: dict[str, float]  # valid_* and test_*; test rows touched only here, once
    refit_rounds: int | None = None  # rounds/trees of the train+valid refit, if any
    family: str = DEFAULT_FAMILY
    families: tuple[FamilyResult, ...] = field(default=())

    def leaderboard(self) -> pd.DataFrame:
        """Valid figures, trials and seconds per family, best (lowest log-loss) first."""
        rows = [{"family": r.family, "valid_log_loss": r.valid_log_loss,
                 "valid_roc_auc": r.valid_metrics["roc_auc"],
                 "valid_pr_auc": r.valid_metrics["pr_auc"], "valid_f1": r.valid_metrics["f1"],
                 "trials": r.tuning.n_trials, "pruned": r.tuning.n_pruned,
                 "tune_seconds": r.tuning.seconds, "fit_seconds": r.fit_seconds,
                 "chosen": r.family == self.family} for r in self.families]
        board = pd.DataFrame(rows, columns=list(LEADERBOARD_COLUMNS))
        return board.sort_values("valid_log_loss", kind="stable").reset_index(drop=True)
    # The valid probabilities (before any refit): calibration's input.
    valid_probability: np.ndarray | None = None
    threshold_choice: ThresholdChoice | None = None  # how the threshold was chosen


def split_matrix(features: pd.DataFrame, split: str) -> tuple[pd.DataFrame, np.ndarray]:
    rows = features[features[SPLIT] == split]
    return rows.drop(columns=list(META_COLUMNS)), rows[LABEL].to_numpy()


def stratified_sample(labels: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``max_rows`` rows, each class keeping its share; all rows
    when there are no more than ``max_rows``."""
    if len(labels) <= max_rows:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(1, round(max_rows * len(members) / len(labels)))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def study_name_for(model_name: str, tuning: TuningConfig, data_version: str,
                   family: str = DEFAULT_FAMILY,
                   space_overrides: Mapping[str, Any] | None = None) -> str:
    """One study per model, family, search space, objective settings and feature data:
    re-running the same data resumes the study (a larger n_trials adds trials); any change
    to what a trial computes starts a new one. The default family's name is the name
    studies had before there were families, so stored ones resume."""
    settings = (tuning.seed, tuning.early_stopping_rounds, tuning.max_estimators,
                tuning.sample_rows, tuning.parallel_trials)
    if tuning.cv_folds:  # only then, so studies stored before the option keep their names
        settings += (("cv_folds", tuning.cv_folds),)
    if space_overrides:
        settings += (("space", sorted((k, repr(v)) for k, v in space_overrides.items())),)
    digest = hashlib.sha256(repr(settings).encode() + data_version.encode()).hexdigest()[:16]
    prefix = model_name if family == DEFAULT_FAMILY else f"{model_name}-{family}"
    return f"{prefix}-{SEARCH_SPACE_VERSION}-{digest}"


def final_fit_config(tuning: TuningConfig, train_rows: int) -> TuningConfig:
    """The final fit's settings: one thread up to ``SINGLE_THREAD_FIT_ROWS`` train rows (the
    fitted model then also predicts on one), ``tuning.n_jobs`` above."""
    if train_rows > SINGLE_THREAD_FIT_ROWS:
        return tuning
    return tuning.model_copy(update={"n_jobs": 1})


# (family, best params, tuning, x_train, y_train, x_valid, y_valid) -> the fitted model
FinalFit = Callable[..., FittedModel]


def fit_here(family: ModelFamily, params: dict[str, Any], tuning: TuningConfig,
             x_train: pd.DataFrame, y_train: np.ndarray, x_valid: pd.DataFrame,
             y_valid: np.ndarray) -> FittedModel:
    """The final fit in this process (a trial runner's default)."""
    return family.fit(params, final_fit_config(tuning, len(y_train)), x_train, y_train,
                      x_valid, y_valid)


@dataclass(frozen=True)
class LocalTrials:
    """The default trial runner: a family's trials in this process (``parallel_trials`` at a
    time) on a study kept in ``storage``, its final fit here too."""

    storage: optuna.storages.BaseStorage

    def open_study(self, study_name: str, seed: int) -> optuna.Study:
        return open_local_study(self.storage, study_name, seed)

    def fit_final(self, *args: Any) -> FittedModel:
        return fit_here(*args)


def family_budget(tuning: TuningConfig, n_families: int, position: int) -> TuningConfig:
    """Family ``position``'s share of one budget: trials split as evenly as possible (the
    first families get the remainder), the timeout split evenly. One family: all of it."""
    base, extra = divmod(tuning.n_trials, n_families)
    timeout = tuning.timeout_seconds / n_families if tuning.timeout_seconds else \
        tuning.timeout_seconds
    return tuning.model_copy(update={"n_trials": max(1, base + (position < extra)),
                                     "timeout_seconds": timeout})


def split_sample(features: pd.DataFrame, split: str, limit: int | None, seed: int
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    """``split_matrix`` of at most ``limit`` stratified rows of the split (all when fewer),
    sampled before copying: a 7M-row train matrix never exists when 250k rows are fitted."""
    members = np.flatnonzero((features[SPLIT] == split).to_numpy())
    labels = features[LABEL].to_numpy()[members]
    if limit is not None and len(labels) > limit:
        chosen = stratified_sample(labels, limit, seed)
        members, labels = members[chosen], labels[chosen]
    return features.iloc[members].drop(columns=list(META_COLUMNS)), labels


def _best_of_family(
    family: ModelFamily, study: optuna.Study, tuning: TuningConfig, overrides: Mapping,
    tuning_rows: tuple, fit_rows: tuple, x_valid: pd.DataFrame, y_valid: np.ndarray,
    on_trial: Callable | None, fit_final: FinalFit,
) -> FamilyResult:
    from sklearn.metrics import log_loss  # heavy: paid by training, not at code-location load

    result = tune(study, tuning, *tuning_rows, on_trial, family=family,
                  space_overrides=overrides)
    started = time.monotonic()
    model = fit_final(family, result.best_params, tuning, *fit_rows)
    seconds = time.monotonic() - started
    probability = model.predict_proba(x_valid)
    metrics = classification_metrics(y_valid, probability,
                                     best_f1_threshold(y_valid, probability))
    return FamilyResult(family.name, result, model,
                        float(log_loss(y_valid, probability, labels=[0, 1])), metrics, seconds)


def train_candidate(
    features: pd.DataFrame, tuning: TuningConfig, open_study: Callable[[str], optuna.Study],
    on_trial: Callable[[optuna.trial.FrozenTrial, int], None] | None = None,
    families: Sequence[str] = (DEFAULT_FAMILY,),
    search_space: Mapping[str, Mapping[str, Any]] | None = None,
    fit_final: FinalFit = fit_here,
) -> Candidate:
    """Tune each family on at most ``tuning.sample_rows`` stratified train rows (and as many
    valid rows) within its share of the budget, fit its best parameters on at most
    ``tuning.fit_rows`` train rows (early stopping on as many valid rows; all when fewer),
    keep the family with the lowest validation log-loss, threshold it on all valid rows and
    score test once (with ``tuning.refit_on_train_valid``, by the refit on train + valid).

    ``open_study(family)`` is called only once the data is known to be usable, so a rejected
    table leaves no study behind. ``open_study`` and ``fit_final`` usually come from one
    trial runner (``model.tuning.LocalTrials``, ``model.dask_tuning.DaskTrials``)."""
    for name in ("train", "valid", "test"):
        if features.loc[features[SPLIT] == name, LABEL].nunique() < 2:
            raise ValueError(f"the {name} split holds a single class; cannot train or evaluate")
    x_valid, y_valid = split_matrix(features, "valid")
    chosen = [get_family(name) for name in families]
    search_space = search_space or {}
    for family in chosen:  # a bad override fails here, before any study exists
        narrowed(family.space, search_space.get(family.name, {}), family.name)

    # Each split is sampled on its own (stratified_sample keeps a split that fits whole).
    tuning_rows = (*split_sample(features, "train", tuning.sample_rows, tuning.seed),
                   *split_sample(features, "valid", tuning.sample_rows, tuning.seed))
    fit_rows = (*split_sample(features, "train", tuning.fit_rows, tuning.seed),
                *split_sample(features, "valid", tuning.fit_rows, tuning.seed))
    results = tuple(
        _best_of_family(family, open_study(family.name), family_budget(tuning, len(chosen), i),
                        search_space.get(family.name, {}), tuning_rows, fit_rows, x_valid,
                        y_valid, on_trial, fit_final)
        for i, family in enumerate(chosen))
    best = min(results, key=lambda r: r.valid_log_loss)  # first listed wins a tie
    model = best.model

    valid_probability = model.predict_proba(x_valid)
    fitted_rows = len(fit_rows[1])
    choice = choose_threshold(get_family(best.family), best.tuning.best_params,
                              final_fit_config(tuning, fitted_rows), model, fitted_rows,
                              lambda: split_matrix(features, "train"), (x_valid, y_valid),
                              valid_probability)
    threshold = choice.threshold
    metrics = {f"valid_{k}": v for k, v in
               classification_metrics(y_valid, valid_probability, threshold).items()}
    refit_rounds = None
    if tuning.refit_on_train_valid:  # valid figures and threshold stay the honest ones above
        x_train, y_train = split_matrix(features, "train")
        model = get_family(best.family).refit(
            best.tuning.best_params, tuning, model, pd.concat([x_train, x_valid]),
            np.concatenate([y_train, y_valid]), (len(y_train) + len(y_valid)) / len(y_train))
        refit_rounds = model.size
    x_test, y_test = split_matrix(features, "test")  # only now: not held through tuning
    test_probability = model.predict_proba(x_test)
    metrics |= {f"test_{k}": v for k, v in
                classification_metrics(y_test, test_probability, threshold).items()}
    return Candidate(model=model, threshold=threshold, tuning=best.tuning, metrics=metrics,
                     refit_rounds=refit_rounds, family=best.family, families=results,
                     valid_probability=valid_probability, threshold_choice=choice)
