"""[training] Optuna-tuned XGBoost, logged to MLflow as a pyfunc over raw rows."""

import hashlib
import tempfile
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd

from churn_assets.defs.assets.features import PREPROCESSOR_ATTR
from churn_assets.defs.resources import DatasetResource, MlflowResource, local_state_dir
from churn_assets.model.candidate import features_version, train_candidate
from churn_assets.model.model_logging import log_candidate
from churn_assets.monitoring.drift import sample_rows
from churn_assets.names import LABEL, REFERENCE_ARTIFACT, SPLIT

SCHEMA_ROWS = 1_000


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


@dg.asset(group_name="training", kinds={"xgboost", "optuna", "mlflow"})
def tuned_churn_model(
    context: dg.AssetExecutionContext, customer_features: pd.DataFrame,
    customer_splits: pd.DataFrame, dataset: DatasetResource, mlflow_tracking: MlflowResource,
) -> dg.Output[dict]:
    """Tune on the validation split, pick the F1-optimal threshold there, score test once.
    Trials are logged to the MLflow run as a table and as `trial_valid_logloss` per step."""
    config = dataset.load()
    data_version = features_version(customer_features)
    study_file = local_state_dir() / "optuna" / f"{config.model_name}.journal"

    def on_trial(trial, finished: int) -> None:
        if trial.value is not None:
            mlflow.log_metric("trial_valid_logloss", trial.value, step=trial.number)
        context.log.info(f"trial {trial.number} ({finished}/{config.tuning.n_trials}): "
                         f"{trial.state.name} valid log-loss={trial.value}")

    raw_columns = [c for c in customer_splits.columns if c not in (SPLIT, LABEL, config.target)]
    train_mask = customer_splits[SPLIT] == "train"
    train_rows = customer_splits.loc[train_mask, [*raw_columns, config.target]]
    with mlflow_tracking.run(context, config.experiment_name) as run:
        mlflow.log_params({f"tuning.{k}": v for k, v in asdict(config.tuning).items()}
                          | {"model_name": config.model_name, "source": config.source})
        _log_inputs_and_reference(train_rows, config.source, config.target)
        candidate = train_candidate(customer_features, config, study_file, data_version, on_trial)
        mlflow.log_params({f"best.{k}": v for k, v in candidate.tuning.best_params.items()})
        mlflow.log_metrics(candidate.metrics | {"decision_threshold": candidate.threshold,
                                                "n_trials": candidate.tuning.n_trials,
                                                "n_pruned": candidate.tuning.n_pruned})
        mlflow.log_table(candidate.tuning.trials.astype(str), "optuna_trials.json")
        info = log_candidate(candidate, customer_features.attrs[PREPROCESSOR_ATTR],
                             customer_splits[raw_columns])
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
        "decision_threshold": candidate.threshold,
        "n_trials": candidate.tuning.n_trials,
        "n_pruned": candidate.tuning.n_pruned,
        **{k: float(v) for k, v in candidate.metrics.items()},
    })
