"""[training] Optuna-tuned model families competing on valid, the best logged to MLflow as a
pyfunc over raw rows."""

import tempfile
import time
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import optuna
import pandas as pd

from churn_assets.data.column_roles import ColumnRoles
from churn_assets.data.frames import columns_view, content_digest
from churn_assets.data.leakage import card_rows
from churn_assets.data.splits import split_summary
from churn_assets.dataset_config import ModelConfig, TuningConfig
from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.optuna_storage import OptunaStorage
from churn_assets.defs.retries import SERVICE_RETRIES
from churn_assets.defs.settings import (
    OWNERS,
    as_metadata,
    effective,
    launchpad_config,
    launchpad_fields,
)
from churn_assets.distributed.local_views import LOCAL_ROWS, local_split_rows, partitions_digest
from churn_assets.model.calibration import fit_calibrator
from churn_assets.model.candidate import (
    Candidate,
    features_version,
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
from churn_assets.model.families import DEFAULT_FAMILY, get_family
from churn_assets.model.intervals import metric_intervals
from churn_assets.model.model_card import render_model_card
from churn_assets.model.model_logging import log_candidate, log_evaluation, run_url
from churn_assets.model.retention import (
    retention_metadata,
    retention_params,
    retention_summary,
    train_retention,
)
from churn_assets.monitoring.drift import sample_positions
from churn_assets.names import CALIBRATOR_ARTIFACT, LABEL, REFERENCE_ARTIFACT, SPLIT
from churn_assets.process_memory import LARGE_TABLE_ROWS, release_freed_memory
from churn_assets.registry.first_model import logistic_comparison
from churn_assets.registry.load_check import prestart_load_check, requirement_modules

SCHEMA_ROWS = 1_000
METRICS_PER_BATCH = 1_000  # MLflow's cap on metrics in one log_batch request
KNOWN_LIMITS = [
    "Judged on one held-out test split of the same snapshot; later snapshots are watched "
    "by `feature_drift`, not guaranteed.",
    "The threshold maximises F1 on the validation split; another cost of false alarms "
    "versus missed churners needs another threshold.",
    "Probabilities come from a log-loss objective without extra calibration; see the "
    "calibration curve and the Brier score.",
    "Associations, not causes: the importances say what the model uses, not what to change.",
]


TuningBudget = launchpad_config(
    "TuningBudget", launchpad_fields(TuningConfig, "tuning"),
    launchpad_fields(ModelConfig, "model", exclude=("search_space",)),
    doc="Empty fields take the dataset YAML's `tuning` and `model` sections (else the "
    "documented default); `families` may name a subset for this run.")


def _log_inputs_and_reference(customer_splits: pd.DataFrame, columns: list[str],
                              train: np.ndarray, source: str, target: str) -> None:
    """The train rows (positions ``train``, ``columns``) as the run's input and the drift
    reference, copying only what is logged: at 10M rows a copy of the train rows was 2 GB."""
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
    x_valid, y_valid = split_matrix(customer_features, "valid")
    calibrator = fit_calibrator(y_valid, candidate.model.predict_proba(x_valid))
    mlflow.log_dict(calibrator.to_dict(), CALIBRATOR_ARTIFACT)


def _log_family_runs(candidate: Candidate) -> None:
    """Each family's best trial as a nested run: its parameters and valid figures."""
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


def _local_cap(tuning: TuningConfig) -> int:
    """Rows per split held here on the Dask data path: what tuning and a local final fit
    read (valid and test figures then come from as many rows)."""
    if tuning.fit_rows is None:  # "fit on every train row": as many as a local view holds
        return max(LOCAL_ROWS, tuning.sample_rows or 0)
    return max(tuning.sample_rows or 0, tuning.fit_rows)


def _local_sample(splits, preprocessor_state: dict, id_column: str, tuning: TuningConfig,
                  card_data: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded samples of each split's rows and their features, made as the partitions'."""
    from churn_assets.distributed.steps import feature_rows

    sizes = {name: split["rows"] for name, split in card_data["splits"].items()}
    rows = local_split_rows(splits, _local_cap(tuning), tuning.seed, sizes)
    return rows, feature_rows(rows, preprocessor_state, id_column)


def _partitioned_card_data(splits, features) -> dict:
    """The whole table's figures for the model card; the digest is the feature table's
    (one pass fewer than hashing the split rows too, and it names the same data)."""
    from churn_assets.distributed.steps import split_sizes

    sizes = split_sizes(splits)
    return {"data": {"rows": int(sizes["rows"].sum()), "sha256": partitions_digest(features)},
            "splits": {name: {"rows": int(row.rows), "churn_rate": float(row.churn_rate)}
                       for name, row in sizes.iterrows()}}


def _log_trial_values(mlflow_tracking: MlflowTracking, run_id: str,
                      values: list[tuple[str, float, int]]) -> None:
    """Each trial's valid log-loss as a metric series, in a few requests: one request per
    trial cost the main thread 15-40 ms each while both cores were fitting trials."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(series, value, now, step) for series, value, step in values]
    client = mlflow_tracking.client()
    for start in range(0, len(metrics), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metrics[start:start + METRICS_PER_BATCH])


def _load_check_follows_here(context: dg.AssetExecutionContext, rows: int) -> bool:
    """True when ``champion_model`` runs later in this same process (in-process executor, in
    the run's plan): its load check's fresh process can then start now and import meanwhile.
    Not for large tables: there the child's ~300 MB would sit on this step's peak (1M rows:
    2,130 MiB with it), for an overlap of seconds in a step of minutes."""
    plan = context.get_step_execution_context().execution_plan
    return (rows < LARGE_TABLE_ROWS
            and context.job_def.executor_def.name == dg.in_process_executor.name
            and "champion_model" in plan.step_keys_to_execute)


def _leaderboard_metadata(board: pd.DataFrame) -> dg.MetadataValue:
    columns = [dg.TableColumn(name, "bool" if name == "chosen" else
                              "string" if name == "family" else "float")
               for name in board.columns]
    records = [dg.TableRecord({k: (round(float(v), 4) if isinstance(v, float) else
                                   bool(v) if k == "chosen" else v if k == "family" else
                                   float(v)) for k, v in row.items()})
               for row in board.to_dict("records")]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


@dg.asset(group_name="training", kinds={DEFAULT_FAMILY, "optuna", "mlflow"}, owners=OWNERS,
          tags={"stage": "training"}, code_version="2", pool="churn_training",
          retry_policy=SERVICE_RETRIES)
def tuned_churn_model(
    context: dg.AssetExecutionContext, config: TuningBudget, customer_features: Table,
    customer_splits: Table, feature_preprocessor: dict, column_roles: dict,
    dataset: DatasetResource, mlflow_tracking: MlflowTracking, optuna_storage: OptunaStorage,
    dask_cluster: DaskCluster,
) -> dg.Output[dict]:
    """Tune each configured model family on the validation split within one shared budget,
    keep the family with the lowest valid log-loss (leaderboard in `family_leaderboard`),
    pick the F1-optimal threshold on valid, score test once. Trials are logged to the MLflow
    run as a table and as `trial_valid_logloss` per step (one series per family);
    the evaluation pictures (test rows, at the threshold fixed on valid) and the model card
    go to the run's artifacts and to this asset's metadata. On the Dask data path all of
    this reads a seeded local sample of each split (`local_rows_per_split`), and a final fit
    from `final_fit_min_rows` train rows up reads every train partition on the cluster."""
    data = dataset.load()
    tuning = effective(data.tuning, config, "tuning")
    families = effective(data.model, config, "model").families
    partitions, card_data = None, {}
    if dask_cluster.holds(customer_features):
        partitions = customer_features
        card_data = _partitioned_card_data(customer_splits, partitions)
        customer_splits, customer_features = _local_sample(
            customer_splits, feature_preprocessor, data.id_column, tuning, card_data)
        context.log.info(f"tuning and evaluation on {len(customer_splits)} sampled rows of "
                         f"{card_data['data']['rows']}")
    version = features_version(customer_features) if partitions is None else \
        card_data["data"]["sha256"]
    opened: dict[str, optuna.Study] = {}
    trial_values: list[tuple[str, float, int]] = []  # (series, value, step), logged at once

    def open_study(family: str) -> optuna.Study:
        overrides = data.model.search_space.get(family)
        name = study_name_for(data.model_name, tuning, version, family, overrides)
        opened[family] = optuna_storage.open_study(name, tuning.seed)
        if partitions is not None and hasattr(opened[family], "fit_on_partitions"):
            opened[family].fit_on_partitions(partitions, card_data["splits"]["train"]["rows"])
        return opened[family]

    def on_trial(trial, finished: int) -> None:
        family = list(opened)[-1]  # families are tuned one after the other
        series = "trial_valid_logloss" if len(families) == 1 else \
            f"trial_valid_logloss.{family}"
        if trial.value is not None:
            trial_values.append((series, trial.value, trial.number))
        value = "-" if trial.value is None else f"{trial.value:.4f}"
        progress = (f"{finished}/{tuning.n_trials}" if len(families) == 1 else
                    f"{finished} in its study, {tuning.n_trials} shared")
        context.log.info(f"{family} trial {trial.number} ({progress}): {trial.state.name} "
                         f"valid log-loss={value}")

    raw_columns = [c for c in customer_splits.columns if c not in (SPLIT, LABEL, data.target)]
    with mlflow_tracking.run(context, data.experiment_name) as run, \
            tempfile.TemporaryDirectory() as tmp:
        mlflow_tracking.log_params(as_metadata("tuning", tuning) | {
            "model_name": data.model_name, "source": data.source,
            "model.families": ",".join(families),
            "experiment_config": data.experiment_config or "none"})
        _log_inputs_and_reference(
            customer_splits, [*raw_columns, data.target],
            np.flatnonzero((customer_splits[SPLIT] == "train").to_numpy()), data.source,
            data.target)
        if len(customer_splits) >= LARGE_TABLE_ROWS:  # what hashing and logging freed
            release_freed_memory()
        try:
            candidate = train_candidate(customer_features, tuning, open_study, on_trial,
                                        families, data.model.search_space)
        finally:  # also the trials before a failure: a retry resumes the study and this run
            _log_trial_values(mlflow_tracking, run.info.run_id, trial_values)
        if _load_check_follows_here(context, len(customer_splits)):
            # Trials keep both cores busy; what follows here (pictures, logging) uses one, so
            # the child's imports (MLflow and the candidate's own requirements) run beside it.
            prestart_load_check(mlflow_tracking.resolved_uri(), requirement_modules(
                get_family(candidate.family).requirements))
        study = opened.get(candidate.family)
        mlflow_tracking.log_params({f"best.{k}": v for k, v in
                                    candidate.tuning.best_params.items()}
                                   | {"model_family": candidate.family,
                                      "study_name": study.study_name if study else ""})
        board = candidate.leaderboard()
        _log_family_runs(candidate)
        mlflow.log_table(board, "family_leaderboard.json")
        x_test, y_test = split_matrix(customer_features, "test")
        test_probability = candidate.model.predict_proba(x_test)
        pictures = write_evaluation_plots(
            Path(tmp) / "evaluation", y_test, test_probability, candidate.threshold,
            candidate.model, x_test, study)
        pictures.paths["family_leaderboard"] = write_leaderboard_figure(
            Path(tmp) / "evaluation", board)
        retention = train_retention(  # calibration and policy on valid rows, figures on test
            customer_features, columns_view(customer_splits, raw_columns),
            candidate.valid_probability,
            test_probability, candidate.threshold, data.economics, data.decision,
            Path(tmp) / "campaign", tuning.seed)
        pictures.paths.update(retention.pictures)
        mlflow.log_metrics(retention.metrics)
        mlflow_tracking.log_params(retention_params(retention.fit.decision))
        intervals = metric_intervals(("f1", "roc_auc"), y_test, test_probability,
                                     candidate.threshold)
        mlflow.log_metrics(candidate.metrics | {"decision_threshold": candidate.threshold,
                                                "test_brier": pictures.brier_score,
                                                "n_trials": candidate.tuning.n_trials,
                                                "n_pruned": candidate.tuning.n_pruned})
        mlflow.log_table(candidate.tuning.trials.astype(str), "optuna_trials.json")
        facts = _card_facts(data, customer_splits, column_roles, candidate, intervals,
                            pictures.brier_score, run, mlflow_tracking.resolved_uri())
        if card_data:  # the whole table's rows and splits, not the local sample's
            facts["data"] |= card_data["data"]
            facts["splits"] = card_data["splits"]
        facts["retention"] = retention_summary(retention.fit.decision, retention.metrics)
        card = render_model_card(facts)
        log_evaluation(pictures.paths, card)
        info = log_candidate(candidate, feature_preprocessor,  # it keeps an input example
                             customer_splits.head(5)[raw_columns],
                             decision=retention.fit.decision.to_dict())
        pictures_md = markdown_with_images(pictures.paths)
        _log_calibrator(candidate, customer_features)
    context.log.info(f"candidate ({candidate.family}): test F1={candidate.metrics['test_f1']:.4f}, "
                     f"test ROC-AUC={candidate.metrics['test_roc_auc']:.4f}")
    summary = {"run_id": run.info.run_id, "model_uri": info.model_uri,
               "threshold": candidate.threshold, "metrics": candidate.metrics,
               "best_params": candidate.tuning.best_params, "n_trials": candidate.tuning.n_trials,
               "n_pruned": candidate.tuning.n_pruned, "model_family": candidate.family,
               "card_facts": facts,  # a first model must beat this baseline (first_model)
               "baselines": logistic_comparison(customer_features, test_probability,
                                                candidate.threshold, data.promotion)}
    metadata = {
        "mlflow_run_id": run.info.run_id,
        "model_uri": info.model_uri,
        "decision_threshold": round(candidate.threshold, 4),
        "n_trials": candidate.tuning.n_trials,
        "n_pruned": candidate.tuning.n_pruned,
        "model_family": candidate.family,
        "family_leaderboard": _leaderboard_metadata(board),
        "model.families": ", ".join(families),
        "test_brier": dg.MetadataValue.float(round(pictures.brier_score, 4)),
        **{f"test_{name}_interval": i.text() for name, i in intervals.items()},
        **as_metadata("tuning", tuning),
        **{k: round(float(v), 4) for k, v in candidate.metrics.items()},
        **retention_metadata(retention),
        "evaluation": dg.MetadataValue.md(pictures_md),
        "model_card": dg.MetadataValue.md(card),
    }
    if facts["run_url"]:
        metadata["mlflow_run"] = dg.MetadataValue.url(facts["run_url"])
    if candidate.refit_rounds:
        metadata["refit_boosting_rounds"] = candidate.refit_rounds
    if partitions is not None:
        metadata["local_rows_per_split"] = _local_cap(tuning)
    return dg.Output(summary, metadata=metadata)
