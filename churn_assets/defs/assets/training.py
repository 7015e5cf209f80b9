"""[training] Optuna-tuned XGBoost, logged to MLflow as a pyfunc over raw rows."""

import hashlib
import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
from pydantic import Field

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
from churn_assets.model.model_logging import log_candidate
from churn_assets.monitoring.drift import sample_rows
from churn_assets.monitoring.performance_estimation import fit_calibrator
from churn_assets.names import CALIBRATOR_ARTIFACT, LABEL, REFERENCE_ARTIFACT, SPLIT

SCHEMA_ROWS = 1_000


class TuningBudget(dg.Config):
    """Empty fields take the dataset YAML's `tuning` section (else the documented default)."""

    n_trials: int | None = Field(None, description="Finished trials the study must hold; a "
                                 "re-run on the same data resumes it (YAML tuning.n_trials, 50).")
    timeout_seconds: float | None = Field(None, description="Stop tuning after this many "
                                          "seconds; 0 means no limit "
                                          "(YAML tuning.timeout_seconds, 600).")
    seed: int | None = Field(None, description="Sampler and model seed (YAML tuning.seed, 42).")


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


def _log_calibrator(candidate: Candidate, customer_features: pd.DataFrame) -> None:
    # Monitoring estimates the champion's performance on unlabeled snapshots (CBPE) from
    # probabilities calibrated on rows it never trained on: the valid split.
    x_valid, y_valid = split_matrix(customer_features, "valid")
    calibrator = fit_calibrator(y_valid, candidate.model.predict_proba(x_valid)[:, 1])
    mlflow.log_dict(calibrator.to_dict(), CALIBRATOR_ARTIFACT)


@dg.asset(group_name="training", kinds={"xgboost", "optuna", "mlflow"}, owners=OWNERS,
          tags={"stage": "training"}, code_version="1", pool="churn_training")
def tuned_churn_model(
    context: dg.AssetExecutionContext, config: TuningBudget, customer_features: pd.DataFrame,
    customer_splits: pd.DataFrame, feature_preprocessor: dict, dataset: DatasetResource,
    mlflow_tracking: MlflowTracking, optuna_storage: OptunaStorage,
) -> dg.Output[dict]:
    """Tune on the validation split, pick the F1-optimal threshold there, score test once.
    Trials are logged to the MLflow run as a table and as `trial_valid_logloss` per step."""
    data = dataset.load()
    tuning = effective(data.tuning, config, "tuning")
    study_name = study_name_for(data.model_name, tuning, features_version(customer_features))

    def on_trial(trial, finished: int) -> None:
        if trial.value is not None:
            mlflow.log_metric("trial_valid_logloss", trial.value, step=trial.number)
        value = "-" if trial.value is None else f"{trial.value:.4f}"
        context.log.info(f"trial {trial.number} ({finished}/{tuning.n_trials}): "
                         f"{trial.state.name} valid log-loss={value}")

    raw_columns = [c for c in customer_splits.columns if c not in (SPLIT, LABEL, data.target)]
    train_rows = customer_splits.loc[customer_splits[SPLIT] == "train", [*raw_columns, data.target]]
    with mlflow_tracking.run(context, data.experiment_name) as run:
        mlflow_tracking.log_params(as_metadata("tuning", tuning) | {
            "model_name": data.model_name, "source": data.source, "study_name": study_name})
        _log_inputs_and_reference(train_rows, data.source, data.target)
        candidate = train_candidate(
            customer_features, tuning,
            lambda: optuna_storage.open_study(study_name, tuning.seed), on_trial)
        mlflow_tracking.log_params({f"best.{k}": v for k, v in
                                    candidate.tuning.best_params.items()})
        mlflow.log_metrics(candidate.metrics | {"decision_threshold": candidate.threshold,
                                                "n_trials": candidate.tuning.n_trials,
                                                "n_pruned": candidate.tuning.n_pruned})
        mlflow.log_table(candidate.tuning.trials.astype(str), "optuna_trials.json")
        info = log_candidate(candidate, feature_preprocessor, customer_splits[raw_columns])
        _log_calibrator(candidate, customer_features)
    summary = {
        "run_id": run.info.run_id,
        "model_uri": info.model_uri,
        "threshold": candidate.threshold,
        "metrics": candidate.metrics,
        "best_params": candidate.tuning.best_params,
        "n_trials": candidate.tuning.n_trials,
        "n_pruned": candidate.tuning.n_pruned,
    }
    context.log.info(f"candidate: test F1={candidate.metrics['test_f1']:.4f}, "
                     f"test ROC-AUC={candidate.metrics['test_roc_auc']:.4f}")
    return dg.Output(summary, metadata={
        "mlflow_run_id": run.info.run_id,
        "model_uri": info.model_uri,
        "decision_threshold": round(candidate.threshold, 4),
        "n_trials": candidate.tuning.n_trials,
        "n_pruned": candidate.tuning.n_pruned,
        **as_metadata("tuning", tuning),
        **{k: round(float(v), 4) for k, v in candidate.metrics.items()},
    })
