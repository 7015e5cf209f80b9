"""[training] Optuna-tuned XGBoost, logged to MLflow as a pyfunc over raw rows."""

import hashlib
import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import optuna
import pandas as pd
from pydantic import Field

from churn_assets.data.column_roles import ColumnRoles
from churn_assets.data.splits import split_summary
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.optuna_storage import OptunaStorage
from churn_assets.defs.settings import OWNERS, as_metadata, effective
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
)
from churn_assets.model.intervals import metric_interval
from churn_assets.model.model_card import render_model_card
from churn_assets.model.model_logging import (
    log_candidate,
    log_evaluation,
    run_url,
    served_booster,
)
from churn_assets.model.retention import (
    retention_metadata,
    retention_params,
    retention_summary,
    train_retention,
)
from churn_assets.monitoring.drift import sample_rows
from churn_assets.monitoring.performance_estimation import fit_calibrator
from churn_assets.names import CALIBRATOR_ARTIFACT, LABEL, REFERENCE_ARTIFACT, SPLIT

SCHEMA_ROWS = 1_000
KNOWN_LIMITS = [
    "Judged on one held-out test split of the same snapshot; later snapshots are watched "
    "by `feature_drift`, not guaranteed.",
    "The threshold maximises F1 on the validation split; another cost of false alarms "
    "versus missed churners needs another threshold.",
    "Probabilities come from a log-loss objective without extra calibration; see the "
    "calibration curve and the Brier score.",
    "Associations, not causes: the importances say what the model uses, not what to change.",
]


class TuningBudget(dg.Config):
    """Empty fields take the dataset YAML's `tuning` section (else the documented default)."""

    n_trials: int | None = Field(None, description="Finished trials the study must hold; a "
                                 "re-run on the same data resumes it (YAML tuning.n_trials, 50).")
    timeout_seconds: float | None = Field(None, description="Stop tuning after this many "
                                          "seconds; 0 means no limit "
                                          "(YAML tuning.timeout_seconds, 600).")
    seed: int | None = Field(None, description="Sampler and model seed (YAML tuning.seed, 42).")
    refit_on_train_valid: bool | None = Field(
        None, description="Refit the chosen parameters on train + valid (rounds scaled from "
        "early stopping) before the test scoring (YAML tuning.refit_on_train_valid, false).")
    cv_folds: int | None = Field(None, description="Small tables: score each trial by "
                                 "stratified k-fold CV over train + valid instead of the valid "
                                 "split alone (YAML tuning.cv_folds, off).")


def _log_inputs_and_reference(train_rows: pd.DataFrame, source: str, target: str) -> None:
    # A digest of every row and the schema of a slice: MLflow's PandasDataset infers its
    # schema from all rows on every use (27 CPU s for 700k rows), for the same schema.
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.models import infer_signature

    digest = hashlib.sha256(
        pd.util.hash_pandas_object(train_rows, index=False).to_numpy()).hexdigest()[:16]
    schema = infer_signature(train_rows.head(SCHEMA_ROWS)).inputs
    dataset = MetaDataset(resolve_dataset_source(source), name="train", digest=digest,
                          schema=schema)
    mlflow.log_input(dataset, context="training",
                     tags={"rows": str(len(train_rows)), "target": target})
    with tempfile.TemporaryDirectory() as tmp:  # what drift monitoring compares against
        path = Path(tmp) / Path(REFERENCE_ARTIFACT).name
        sample_rows(train_rows).to_parquet(path, index=False)  # drift compares samples
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
    parameters["boosting_rounds"] = candidate.refit_rounds or int(
        candidate.model.best_iteration + 1)
    parameters["refit_on_train_valid"] = candidate.refit_rounds is not None
    return {
        "model_name": data.model_name, "run_id": run.info.run_id,
        "run_url": run_url(tracking_uri, run.info.experiment_id, run.info.run_id),
        "data": {"source": data.source, "rows": len(customer_splits),
                 "sha256": hashlib.sha256(pd.util.hash_pandas_object(
                     customer_splits, index=False).to_numpy()).hexdigest()},
        "splits": {row.split: {"rows": int(row.rows), "churn_rate": float(row.churn_rate)}
                   for row in summary.itertuples()},
        "features": {"kept": list(roles.features), "dropped": roles.dropped},
        "parameters": parameters, "threshold": candidate.threshold, "metrics": metrics,
        "top_features": top_features(served_booster(candidate.model)),
        "known_limits": KNOWN_LIMITS,
    }


def _log_calibrator(candidate: Candidate, customer_features: pd.DataFrame) -> None:
    # Monitoring estimates the champion's performance on unlabeled snapshots (CBPE) from
    # probabilities calibrated on rows it never trained on: the valid split.
    x_valid, y_valid = split_matrix(customer_features, "valid")
    calibrator = fit_calibrator(y_valid, candidate.model.predict_proba(x_valid)[:, 1])
    mlflow.log_dict(calibrator.to_dict(), CALIBRATOR_ARTIFACT)


@dg.asset(group_name="training", kinds={"xgboost", "optuna", "mlflow"}, owners=OWNERS,
          tags={"stage": "training"}, code_version="2", pool="churn_training")
def tuned_churn_model(
    context: dg.AssetExecutionContext, config: TuningBudget, customer_features: pd.DataFrame,
    customer_splits: pd.DataFrame, feature_preprocessor: dict, column_roles: dict,
    dataset: DatasetResource, mlflow_tracking: MlflowTracking, optuna_storage: OptunaStorage,
) -> dg.Output[dict]:
    """Tune on the validation split, pick the F1-optimal threshold there, score test once.
    Trials are logged to the MLflow run as a table and as `trial_valid_logloss` per step;
    the evaluation pictures (test rows, at the threshold fixed on valid) and the model card
    go to the run's artifacts and to this asset's metadata."""
    data = dataset.load()
    tuning = effective(data.tuning, config, "tuning")
    study_name = study_name_for(data.model_name, tuning, features_version(customer_features))
    opened: list[optuna.Study] = []

    def open_study() -> optuna.Study:
        opened.append(optuna_storage.open_study(study_name, tuning.seed))
        return opened[-1]

    def on_trial(trial, finished: int) -> None:
        if trial.value is not None:
            mlflow.log_metric("trial_valid_logloss", trial.value, step=trial.number)
        value = "-" if trial.value is None else f"{trial.value:.4f}"
        context.log.info(f"trial {trial.number} ({finished}/{tuning.n_trials}): "
                         f"{trial.state.name} valid log-loss={value}")

    raw_columns = [c for c in customer_splits.columns if c not in (SPLIT, LABEL, data.target)]
    train_rows = customer_splits.loc[customer_splits[SPLIT] == "train", [*raw_columns, data.target]]
    with mlflow_tracking.run(context, data.experiment_name) as run, \
            tempfile.TemporaryDirectory() as tmp:
        mlflow_tracking.log_params(as_metadata("tuning", tuning) | {
            "model_name": data.model_name, "source": data.source, "study_name": study_name})
        _log_inputs_and_reference(train_rows, data.source, data.target)
        candidate = train_candidate(customer_features, tuning, open_study, on_trial)
        mlflow_tracking.log_params({f"best.{k}": v for k, v in
                                    candidate.tuning.best_params.items()})
        x_test, y_test = split_matrix(customer_features, "test")
        test_probability = candidate.model.predict_proba(x_test)[:, 1]
        pictures = write_evaluation_plots(
            Path(tmp) / "evaluation", y_test, test_probability, candidate.threshold,
            served_booster(candidate.model), x_test, opened[0] if opened else None)
        retention = train_retention(  # calibration and policy on valid rows, figures on test
            customer_features, customer_splits[raw_columns], candidate.valid_probability,
            test_probability, candidate.threshold, data.economics, data.decision,
            Path(tmp) / "campaign", tuning.seed)
        pictures.paths.update(retention.pictures)
        mlflow.log_metrics(retention.metrics)
        mlflow_tracking.log_params(retention_params(retention.fit.decision))
        intervals = {name: metric_interval(name, y_test, test_probability, candidate.threshold)
                     for name in ("f1", "roc_auc")}
        mlflow.log_metrics(candidate.metrics | {"decision_threshold": candidate.threshold,
                                                "test_brier": pictures.brier_score,
                                                "n_trials": candidate.tuning.n_trials,
                                                "n_pruned": candidate.tuning.n_pruned})
        mlflow.log_table(candidate.tuning.trials.astype(str), "optuna_trials.json")
        facts = _card_facts(data, customer_splits, column_roles, candidate, intervals,
                            pictures.brier_score, run, mlflow_tracking.resolved_uri())
        facts["retention"] = retention_summary(retention.fit.decision, retention.metrics)
        card = render_model_card(facts)
        log_evaluation(pictures.paths, card)
        info = log_candidate(candidate, feature_preprocessor, customer_splits[raw_columns],
                             decision=retention.fit.decision.to_dict())
        pictures_md = markdown_with_images(pictures.paths)
        _log_calibrator(candidate, customer_features)
    context.log.info(f"candidate: test F1={candidate.metrics['test_f1']:.4f}, "
                     f"test ROC-AUC={candidate.metrics['test_roc_auc']:.4f}")
    summary = {"run_id": run.info.run_id, "model_uri": info.model_uri,
               "threshold": candidate.threshold, "metrics": candidate.metrics,
               "best_params": candidate.tuning.best_params, "n_trials": candidate.tuning.n_trials,
               "n_pruned": candidate.tuning.n_pruned, "card_facts": facts}
    metadata = {
        "mlflow_run_id": run.info.run_id,
        "model_uri": info.model_uri,
        "decision_threshold": round(candidate.threshold, 4),
        "n_trials": candidate.tuning.n_trials,
        "n_pruned": candidate.tuning.n_pruned,
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
    return dg.Output(summary, metadata=metadata)
