"""One training run's work, inside the MLflow run the asset opened: tune and fit the
families (``train_candidate``), then log what a person and the promotion step read (inputs
and the drift reference, trials, leaderboard, evaluation pictures, retention policy, model
card, calibrator, the pyfunc). Plain code: the asset hands in the rows, the settings, a trial
runner and the few tracking calls it owns, and turns the result into metadata.

On the Dask data path the rows here are a seeded local sample of each split
(``distributed.training_rows``): tuning, figures and a local final fit read them, a
distributed final fit reads every train partition (the trial runner's
``feature_partitions``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churn_assets.data.column_roles import ColumnRoles
from churn_assets.data.frames import columns_view, content_digest, features_version
from churn_assets.data.leakage import card_rows
from churn_assets.data.splits import split_summary
from churn_assets.dataset_config import DatasetConfig
from churn_assets.model.calibration import fit_calibrator
from churn_assets.model.candidate import (
    Candidate,
    split_matrix,
    study_name_for,
    train_candidate,
)
from churn_assets.model.evaluation_plots import (
    markdown_with_images,
    top_features,
    write_evaluation_plots,
    write_leaderboard_figure,
)
from churn_assets.model.families import get_family
from churn_assets.model.intervals import Interval, metric_intervals
from churn_assets.model.model_card import render_model_card
from churn_assets.model.model_logging import log_candidate, log_evaluation, run_url
from churn_assets.model.retention import (
    RetentionOutcome,
    retention_params,
    retention_summary,
    train_retention,
)
from churn_assets.model.sections import TuningConfig
from churn_assets.monitoring.drift import sample_positions
from churn_assets.names import CALIBRATOR_ARTIFACT, LABEL, REFERENCE_ARTIFACT, SPLIT
from churn_assets.process_memory import LARGE_TABLE_ROWS, release_freed_memory
from churn_assets.registry.first_model import logistic_comparison
from churn_assets.registry.load_check import prestart_load_check, requirement_modules

# mlflow and optuna are imported where they are used: the definitions import this module,
# and loading them (code server, sensor, `dg check defs`) runs no training.
if TYPE_CHECKING:
    import optuna

SCHEMA_ROWS = 1_000
METRICS_PER_BATCH = 1_000  # MLflow's cap on metrics in one log_batch request
KNOWN_LIMITS = [
    "Judged on one held-out test split of the same snapshot; later snapshots are watched "
    "by `feature_drift`, not guaranteed.",
    "The threshold maximises F1 on the validation split (or out of fold over train + valid: "
    "the run's `threshold_source` param); another cost of false alarms versus missed "
    "churners needs another threshold.",
    "Probabilities come from a log-loss objective without extra calibration; see the "
    "calibration curve and the Brier score.",
    "Associations, not causes: the importances say what the model uses, not what to change.",
]


@dataclass(frozen=True)
class TrainingRows:
    """The rows a training run reads: the splits and their features, as they are on the pandas
    path. On the Dask data path (``distributed.training_rows``): a local sample of at most
    ``local_rows_per_split`` rows of each split, the feature ``partitions`` themselves (for a
    distributed final fit), and the whole table's figures for the model card."""

    splits: pd.DataFrame
    features: pd.DataFrame
    partitions: Any = None
    card_data: dict = field(default_factory=dict)
    local_rows_per_split: int | None = None

    @property
    def train_rows(self) -> int:
        return self.card_data["splits"]["train"]["rows"] if self.card_data else 0

    def features_version(self) -> str:
        return self.card_data["data"]["sha256"] if self.card_data \
            else features_version(self.features)


@dataclass(frozen=True)
class Tracking:
    """What a training run needs of the tracking resource, besides the active MLflow run."""

    log_params: Callable[[dict[str, Any]], None]
    client: Any  # an MlflowClient
    uri: str


@dataclass(frozen=True)
class TrainingResult:
    candidate: Candidate
    run: Any  # the MLflow run
    model_uri: str
    board: pd.DataFrame
    brier: float
    intervals: dict[str, Interval]
    retention: RetentionOutcome
    facts: dict
    card: str
    pictures_md: str
    baselines: dict  # the logistic regression a first model must beat (registry.first_model)

    def summary(self) -> dict:
        """The asset's value: what ``champion_model`` reads."""
        c = self.candidate
        return {"run_id": self.run.info.run_id, "model_uri": self.model_uri,
                "threshold": c.threshold, "metrics": c.metrics,
                "best_params": c.tuning.best_params, "n_trials": c.tuning.n_trials,
                "n_pruned": c.tuning.n_pruned, "model_family": c.family,
                "card_facts": self.facts, "baselines": self.baselines,
                "threshold_choice": c.threshold_choice.params() if c.threshold_choice else {}}


class TrialLog:
    """Opens each family's study through the trial runner, reports each finished trial, and
    keeps the trials' valid log-loss to log as metric series at the end."""

    def __init__(self, runner: Any, data: DatasetConfig, tuning: TuningConfig,
                 families: tuple[str, ...], version: str, log: Callable[[str], None]):
        self.runner, self.data, self.tuning, self.families = runner, data, tuning, families
        self.version, self.log = version, log
        self.opened: dict[str, optuna.Study] = {}
        self.values: list[tuple[str, float, int]] = []  # (series, value, step)

    def open_study(self, family: str) -> optuna.Study:
        overrides = self.data.model.search_space.get(family)
        name = study_name_for(self.data.model_name, self.tuning, self.version, family,
                              overrides)
        self.opened[family] = self.runner.open_study(name, self.tuning.seed)
        return self.opened[family]

    def on_trial(self, trial: optuna.trial.FrozenTrial, finished: int) -> None:
        family = list(self.opened)[-1]  # families are tuned one after the other
        one = len(self.families) == 1
        series = "trial_valid_logloss" if one else f"trial_valid_logloss.{family}"
        if trial.value is not None:
            self.values.append((series, trial.value, trial.number))
        value = "-" if trial.value is None else f"{trial.value:.4f}"
        progress = (f"{finished}/{self.tuning.n_trials}" if one else
                    f"{finished} in its study, {self.tuning.n_trials} shared")
        self.log(f"{family} trial {trial.number} ({progress}): {trial.state.name} "
                 f"valid log-loss={value}")


def train_and_log(rows: TrainingRows, data: DatasetConfig, tuning: TuningConfig,
                  families: tuple[str, ...], column_roles: dict, preprocessor_state: dict,
                  runner: Any, tracking: Tracking, run: Any, log: Callable[[str], None],
                  settings: dict[str, Any], prestart_load_check_now: bool = False
                  ) -> TrainingResult:
    """Inside the active MLflow ``run``: tune, fit, evaluate on test once, log everything.
    ``settings``: the effective run settings as params (``tuning.n_trials``, ...)."""
    splits, features = rows.splits, rows.features
    raw_columns = [c for c in splits.columns if c not in (SPLIT, LABEL, data.target)]
    tracking.log_params(settings | {"model_name": data.model_name, "source": data.source,
                                    "model.families": ",".join(families),
                                    "experiment_config": data.experiment_config or "none"})
    _log_inputs_and_reference(splits, [*raw_columns, data.target],
                              np.flatnonzero((splits[SPLIT] == "train").to_numpy()),
                              data.source, data.target)
    if len(splits) >= LARGE_TABLE_ROWS:  # what hashing and logging freed
        release_freed_memory()
    trials = TrialLog(runner, data, tuning, families, rows.features_version(), log)
    try:
        candidate = train_candidate(features, tuning, trials.open_study, trials.on_trial,
                                    families, data.model.search_space,
                                    fit_final=runner.fit_final)
    finally:  # also the trials before a failure: a retry resumes the study and this run
        _log_trial_values(tracking.client, run.info.run_id, trials.values)
    if prestart_load_check_now:
        # Trials kept both cores busy; what follows (pictures, logging) uses one, so the
        # child's imports (MLflow and the candidate's own requirements) run beside it.
        prestart_load_check(tracking.uri, requirement_modules(
            get_family(candidate.family).requirements))
    study = trials.opened.get(candidate.family)
    tracking.log_params({f"best.{k}": v for k, v in candidate.tuning.best_params.items()}
                        | {"model_family": candidate.family,
                           "study_name": study.study_name if study else ""}
                        | (candidate.threshold_choice.params()
                           if candidate.threshold_choice else {}))
    with tempfile.TemporaryDirectory() as tmp:
        return _evaluate_and_log(rows, data, column_roles, preprocessor_state, candidate,
                                 study, raw_columns, tracking, run, Path(tmp), tuning.seed)


def _evaluate_and_log(rows: TrainingRows, data: DatasetConfig, column_roles: dict,
                      preprocessor_state: dict, candidate: Candidate, study: Any,
                      raw_columns: list[str], tracking: Tracking, run: Any, tmp: Path,
                      seed: int) -> TrainingResult:
    """Test figures and pictures (at the threshold fixed on valid), retention, the model
    card and the pyfunc, all into the active run."""
    import mlflow

    splits, features = rows.splits, rows.features
    board = candidate.leaderboard()
    _log_family_runs(candidate)
    mlflow.log_table(board, "family_leaderboard.json")
    x_test, y_test = split_matrix(features, "test")
    test_probability = candidate.model.predict_proba(x_test)
    pictures = write_evaluation_plots(tmp / "evaluation", y_test, test_probability,
                                      candidate.threshold, candidate.model, x_test, study)
    pictures.paths["family_leaderboard"] = write_leaderboard_figure(tmp / "evaluation", board)
    retention = train_retention(  # calibration and policy on valid rows, figures on test
        features, columns_view(splits, raw_columns), candidate.valid_probability,
        test_probability, candidate.threshold, data.economics, data.decision, tmp / "campaign",
        seed)
    pictures.paths.update(retention.pictures)
    mlflow.log_metrics(retention.metrics)
    tracking.log_params(retention_params(retention.fit.decision))
    intervals = metric_intervals(("f1", "roc_auc"), y_test, test_probability,
                                 candidate.threshold)
    mlflow.log_metrics(candidate.metrics | {"decision_threshold": candidate.threshold,
                                            "test_brier": pictures.brier_score,
                                            "n_trials": candidate.tuning.n_trials,
                                            "n_pruned": candidate.tuning.n_pruned})
    mlflow.log_table(candidate.tuning.trials.astype(str), "optuna_trials.json")
    facts = _card_facts(data, splits, column_roles, candidate, intervals, pictures.brier_score,
                        run, tracking.uri)
    if rows.card_data:  # the whole table's rows and splits, not the local sample's
        facts["data"] |= rows.card_data["data"]
        facts["splits"] = rows.card_data["splits"]
    facts["retention"] = retention_summary(retention.fit.decision, retention.metrics)
    card = render_model_card(facts)
    log_evaluation(pictures.paths, card)
    info = log_candidate(candidate, preprocessor_state,  # it keeps an input example
                         splits.head(5)[raw_columns], decision=retention.fit.decision.to_dict())
    pictures_md = markdown_with_images(pictures.paths)
    _log_calibrator(candidate, features)
    baselines = logistic_comparison(features, test_probability, candidate.threshold,
                                    data.promotion)
    return TrainingResult(candidate, run, info.model_uri, board, pictures.brier_score,
                          intervals, retention, facts, card, pictures_md, baselines)


def _log_inputs_and_reference(customer_splits: pd.DataFrame, columns: list[str],
                              train: np.ndarray, source: str, target: str) -> None:
    """The train rows (positions ``train``, ``columns``) as the run's input and the drift
    reference, copying only what is logged: at 10M rows a copy of the train rows was 2 GB."""
    import mlflow

    # A digest of every row and the schema of a slice: MLflow's PandasDataset infers its
    # schema from all rows on every use (27 CPU s for 700k rows), for the same schema.
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.models import infer_signature

    from churn_assets.data.sql_source import lineage_source  # files, s3:// and databases

    digest = content_digest(customer_splits, train, columns).hexdigest()[:16]
    positions = [customer_splits.columns.get_loc(c) for c in columns]
    schema = infer_signature(customer_splits.iloc[train[:SCHEMA_ROWS], positions]).inputs
    dataset = MetaDataset(lineage_source(source), name="train", digest=digest,
                          schema=schema)
    mlflow.log_input(dataset, context="training",
                     tags={"rows": str(len(train)), "target": target})
    with tempfile.TemporaryDirectory() as tmp:  # what drift monitoring compares against
        path = Path(tmp) / Path(REFERENCE_ARTIFACT).name
        reference = train[sample_positions(len(train))]  # drift compares samples
        customer_splits.iloc[reference, positions].to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))


def _card_facts(
    data, customer_splits: pd.DataFrame, column_roles: dict, candidate, test_intervals: dict,
    brier: float, run, tracking_uri: str,
) -> dict:
    """Everything the model card says except the promotion (decided downstream); plain JSON."""
    roles = ColumnRoles.from_dict(column_roles)
    summary = split_summary(customer_splits[SPLIT], customer_splits[LABEL])
    metrics = {"valid": {k.removeprefix("valid_"): v for k, v in candidate.metrics.items()
                         if k.startswith("valid_")},
               "test": {k.removeprefix("test_"): v for k, v in candidate.metrics.items()
                        if k.startswith("test_")}}
    metrics["test"] |= {name: {"estimate": i.estimate, "low": i.low, "high": i.high}
                        for name, i in test_intervals.items()} | {"brier": brier}
    parameters = {k: round(v, 4) if isinstance(v, float) else v
                  for k, v in candidate.tuning.best_params.items()}
    parameters["model_family"] = candidate.family
    if candidate.model.size is not None:
        parameters["model_size"] = int(candidate.model.size)  # rounds or trees in use
    parameters["refit_on_train_valid"] = candidate.refit_rounds is not None
    return {
        "model_name": data.model_name, "run_id": run.info.run_id,
        "run_url": run_url(tracking_uri, run.info.experiment_id, run.info.run_id),
        "data": {"source": data.source, "rows": len(customer_splits),
                 "sha256": content_digest(customer_splits).hexdigest()},
        "splits": {row.split: {"rows": int(row.rows), "churn_rate": float(row.churn_rate)}
                   for row in summary.itertuples()},
        "features": {"kept": list(roles.features), "dropped": roles.dropped,
                     "leakage": card_rows(column_roles)},
        "parameters": parameters, "threshold": candidate.threshold, "metrics": metrics,
        "top_features": top_features(candidate.model),
        "known_limits": KNOWN_LIMITS,
    }


def _log_calibrator(candidate: Candidate, customer_features: pd.DataFrame) -> None:
    # Monitoring estimates the champion's performance on unlabeled snapshots (CBPE) from
    # probabilities calibrated on rows it never trained on: the valid split.
    import mlflow

    x_valid, y_valid = split_matrix(customer_features, "valid")
    calibrator = fit_calibrator(y_valid, candidate.model.predict_proba(x_valid))
    mlflow.log_dict(calibrator.to_dict(), CALIBRATOR_ARTIFACT)


def _log_family_runs(candidate: Candidate) -> None:
    """Each family's best trial as a nested run: its parameters and valid figures."""
    import mlflow

    for result in candidate.families:
        with mlflow.start_run(run_name=f"family {result.family}", nested=True):
            mlflow.log_params({"model_family": result.family,
                               **{f"best.{k}": v for k, v in result.tuning.best_params.items()}})
            mlflow.log_metrics({"valid_log_loss": result.valid_log_loss,
                                **{f"valid_{k}": v for k, v in result.valid_metrics.items()},
                                "n_trials": result.tuning.n_trials,
                                "n_pruned": result.tuning.n_pruned,
                                "tune_seconds": result.tuning.seconds,
                                "fit_seconds": result.fit_seconds})
            mlflow.set_tag("chosen", str(result.family == candidate.family).lower())


def _log_trial_values(client: Any, run_id: str, values: list[tuple[str, float, int]]) -> None:
    """Each trial's valid log-loss as a metric series, in a few requests: one request per
    trial cost the main thread 15-40 ms each while both cores were fitting trials."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(series, value, now, step) for series, value, step in values]
    for start in range(0, len(metrics), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metrics[start:start + METRICS_PER_BATCH])
