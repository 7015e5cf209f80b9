"""[monitoring] Drift of the newest validated data against the champion's training rows."""

import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.defs.resources import DatasetResource, MlflowResource
from churn_assets.monitoring.drift import DriftReport, detect_drift, sample_rows
from churn_assets.monitoring.drift_report import write_drift_report
from churn_assets.monitoring.retraining_policy import decide_retraining
from churn_assets.names import REFERENCE_ARTIFACT
from churn_assets.registry.model_registry import load_champion_reference


def _drift_table(report: DriftReport) -> dg.MetadataValue:
    frame = report.to_frame()
    return dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=".4f"))


@dg.asset(group_name="monitoring", kinds={"scipy", "mlflow"}, deps=["champion_model"])
def feature_drift(
    context: dg.AssetExecutionContext, validated_customers: pd.DataFrame,
    dataset: DatasetResource, mlflow_tracking: MlflowResource,
) -> dg.MaterializeResult:
    """Per-feature drift (Evidently's tests by sample size), the champion's prediction drift,
    and the retraining decision that `drift_retraining_sensor` acts on."""
    config = dataset.load()
    champion = load_champion_reference(mlflow_tracking.client(), config.model_name,
                                       REFERENCE_ARTIFACT)
    if champion is None:
        decision = decide_retraining(None, config.drift.retrain_policy)
        context.log.info(decision.reason)
        return dg.MaterializeResult(metadata={
            "drift_detected": False, "drifted_share": 0.0, "retrain": decision.retrain,
            "retrain_reason": decision.reason, "current_rows": len(validated_customers),
        })

    roles = infer_column_roles(champion.rows, config)
    model = mlflow.pyfunc.load_model(champion.model_uri)

    def scores(rows: pd.DataFrame):
        features_only = rows.drop(columns=[config.target], errors="ignore")
        return model.predict(features_only)["churn_probability"].to_numpy()

    # Seeded samples of large tables: the distances decide within ~0.005 of the full figure.
    reference, current = sample_rows(champion.rows), sample_rows(validated_customers)
    reference_scores, current_scores = scores(reference), scores(current)
    report = detect_drift(reference, current, roles.numeric, roles.categorical,
                          config.drift, reference_scores, current_scores)
    decision = decide_retraining(report, config.drift.retrain_policy)
    context.log.info(f"{decision.reason}; retrain={decision.retrain}")
    with mlflow_tracking.run(context, config.experiment_name), \
            tempfile.TemporaryDirectory() as tmp:
        html = write_drift_report(reference, current, report, Path(tmp),
                                  reference_scores=reference_scores,
                                  current_scores=current_scores)
        mlflow.log_artifacts(str(html.parent), artifact_path="drift_report")
        mlflow.log_metrics({"drifted_share": report.drifted_share,
                            "drift_detected": float(report.drift_detected)})
        run_id = mlflow.active_run().info.run_id
    metadata = {
        "drift_detected": report.drift_detected,
        "drifted_share": report.drifted_share,
        "retrain": decision.retrain,
        "retrain_reason": decision.reason,
        "champion_version": champion.version,
        "reference_rows": len(champion.rows),
        "current_rows": len(validated_customers),
        "compared_rows": {"reference": len(reference), "current": len(current)},
        "features": _drift_table(report),
        "mlflow_report_run_id": run_id,
    }
    if report.prediction_drift:
        metadata["prediction_drift_statistic"] = report.prediction_drift.statistic
        metadata["prediction_drifted"] = report.prediction_drift.drifted
    return dg.MaterializeResult(metadata=metadata)
