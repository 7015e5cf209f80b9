"""[training] Optuna-tuned model families competing on valid, the best logged to MLflow as a
pyfunc over raw rows."""

import dagster as dg
import pandas as pd

from churn_assets.defs.resources.dask_cluster import DaskCluster
from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.io_manager import Table
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.resources.optuna_storage import OptunaStorage
from churn_assets.defs.settings import (
    OWNERS,
    as_metadata,
    effective,
    launchpad_config,
    launchpad_fields,
)
from churn_assets.model.families import DEFAULT_FAMILY
from churn_assets.model.retention import retention_metadata
from churn_assets.model.sections import ModelConfig, TuningConfig
from churn_assets.pipeline.training import Tracking, TrainingResult, TrainingRows, train_and_log
from churn_assets.process_memory import LARGE_TABLE_ROWS

TuningBudget = launchpad_config(
    "TuningBudget", launchpad_fields(TuningConfig, "tuning"),
    launchpad_fields(ModelConfig, "model", exclude=("search_space",)),
    doc="Empty fields take the dataset YAML's `tuning` and `model` sections (else the "
    "documented default); `families` may name a subset for this run.")


def _load_check_follows_here(context: dg.AssetExecutionContext, rows: int) -> bool:
    """True when ``champion_model`` runs later in this same process: its load check's fresh
    process can then start now and import meanwhile. The step's own plan says so: a step
    process of the multiprocess (or a step-delegating) executor plans only its own step,
    while the in-process executor and ``execute_in_process`` (``dg.materialize``, whatever
    the job's executor definition, e.g. the tests') plan the whole run here.
    Not for large tables: there the child's ~300 MB would sit on this step's peak (1M rows:
    2,130 MiB with it), for an overlap of seconds in a step of minutes."""
    plan = context.get_step_execution_context().execution_plan
    return rows < LARGE_TABLE_ROWS and "champion_model" in plan.step_keys_to_execute


def _leaderboard_metadata(board: pd.DataFrame) -> dg.MetadataValue:
    columns = [dg.TableColumn(name, "bool" if name == "chosen" else
                              "string" if name == "family" else "float")
               for name in board.columns]
    records = [dg.TableRecord({k: (round(float(v), 4) if isinstance(v, float) else
                                   bool(v) if k == "chosen" else v if k == "family" else
                                   float(v)) for k, v in row.items()})
               for row in board.to_dict("records")]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def tuned_churn_model_asset(retries: dg.RetryPolicy) -> dg.AssetsDefinition:
    """``tuned_churn_model`` with the deployment's service retries (it talks to MLflow)."""
    return dg.asset(
        group_name="training", kinds={DEFAULT_FAMILY, "optuna", "mlflow"}, owners=OWNERS,
        tags={"stage": "training"}, code_version="2", pool="churn_training",
        retry_policy=retries,
    )(tuned_churn_model)


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
    rows = dask_cluster.tables_for(customer_features).training_rows(
        customer_splits, customer_features, feature_preprocessor, data.id_column, tuning)
    if rows.partitions is not None:
        context.log.info(f"tuning and evaluation on {len(rows.splits)} sampled rows of "
                         f"{rows.card_data['data']['rows']}")
    runner = optuna_storage.trial_runner(rows.partitions, rows.train_rows)
    tracking = Tracking(mlflow_tracking.log_params, mlflow_tracking.client(),
                        mlflow_tracking.resolved_uri())
    with mlflow_tracking.run(context, data.experiment_name) as run:
        result = train_and_log(rows, data, tuning, families, column_roles, feature_preprocessor,
                               runner, tracking, run, context.log.info,
                               as_metadata("tuning", tuning),
                               _load_check_follows_here(context, len(rows.splits)))
    candidate = result.candidate
    context.log.info(f"candidate ({candidate.family}): test F1={candidate.metrics['test_f1']:.4f}, "
                     f"test ROC-AUC={candidate.metrics['test_roc_auc']:.4f}")
    return dg.Output(result.summary(), metadata=_metadata(result, tuning, families, rows))


def _metadata(result: TrainingResult, tuning: TuningConfig, families: tuple[str, ...],
              rows: TrainingRows) -> dict:
    candidate = result.candidate
    metadata = {
        "mlflow_run_id": result.run.info.run_id,
        "model_uri": result.model_uri,
        "decision_threshold": round(candidate.threshold, 4),
        "n_trials": candidate.tuning.n_trials,
        "n_pruned": candidate.tuning.n_pruned,
        "model_family": candidate.family,
        "family_leaderboard": _leaderboard_metadata(result.board),
        "model.families": ", ".join(families),
        "test_brier": dg.MetadataValue.float(round(result.brier, 4)),
        **{f"test_{name}_interval": i.text() for name, i in result.intervals.items()},
        **as_metadata("tuning", tuning),
        **{k: round(float(v), 4) for k, v in candidate.metrics.items()},
        **retention_metadata(result.retention),
        "evaluation": dg.MetadataValue.md(result.pictures_md),
        "model_card": dg.MetadataValue.md(result.card),
    }
    if result.facts["run_url"]:
        metadata["mlflow_run"] = dg.MetadataValue.url(result.facts["run_url"])
    if candidate.refit_rounds:
        metadata["refit_boosting_rounds"] = candidate.refit_rounds
    if rows.local_rows_per_split is not None:
        metadata["local_rows_per_split"] = rows.local_rows_per_split
    return metadata
