"""[monitoring] Drift of the newest validated data against the champion's training rows."""

import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd
from pydantic import Field

from churn_assets.defs.resources.dataset import DatasetResource
from churn_assets.defs.resources.mlflow_tracking import MlflowTracking
from churn_assets.defs.settings import OWNERS, as_metadata, effective
from churn_assets.monitoring.drift import DriftReport, detect_drift, sample_rows
from churn_assets.monitoring.drift_report import write_drift_report
from churn_assets.monitoring.retraining_policy import decide_retraining
from churn_assets.names import PROBABILITY, REFERENCE_ARTIFACT
from churn_assets.registry.model_registry import load_champion_reference


class DriftThresholds(dg.Config):
    """Empty fields take the dataset YAML's `drift` section (else the documented default)."""

    drifted_share: float | None = Field(None, description="Share of drifted features that "
                                        "counts as dataset drift (YAML drift.drifted_share, 0.5).")
    stattest_p_value: float | None = Field(None, description="KS / chi-square p-value below "
                                           "which a feature drifted, small samples (0.05).")
    wasserstein_threshold: float | None = Field(None, description="Normed Wasserstein distance "
                                                "above which a numeric feature drifted (0.1).")
    jensen_shannon_threshold: float | None = Field(None, description="Jensen-Shannon distance "
                                                   "above which a category drifted (0.1).")
    retrain_policy: str | None = Field(None, description="'on_drift' or 'always' "
                                       "(YAML drift.retrain_policy, on_drift).")


def _drift_table(report: DriftReport) -> dg.MetadataValue:
    frame = report.to_frame()
    return dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=".4f"))


@dg.asset(group_name="monitoring", kinds={"scipy", "mlflow"}, owners=OWNERS,
          tags={"stage": "monitoring"}, code_version="1", deps=["champion_model"])
def feature_drift(
    context: dg.AssetExecutionContext, config: DriftThresholds,
    validated_customers: pd.DataFrame, dataset: DatasetResource, mlflow_tracking: MlflowTracking,
) -> dg.MaterializeResult:
    """Per-feature drift (Evidently's tests by sample size) on the champion's own feature
    columns, the champion's prediction drift, and the retraining decision that
    `drift_retraining_sensor` acts on."""
    data = dataset.load()
    thresholds = effective(data.drift, config, "drift")
    champion = load_champion_reference(mlflow_tracking.client(), data.model_name,
                                       REFERENCE_ARTIFACT)
    if champion is None:
        decision = decide_retraining(None, thresholds.retrain_policy)
        context.log.info(decision.reason)
        return dg.MaterializeResult(metadata={
            "drift_detected": False, "drifted_share": 0.0, "retrain": decision.retrain,
            "retrain_reason": decision.reason, "current_rows": len(validated_customers),
        })

    model = mlflow.pyfunc.load_model(champion.model_uri)
    preprocessor = model.unwrap_python_model().preprocessor  # the columns the champion reads

    def scores(rows: pd.DataFrame):
        return model.predict(rows.drop(columns=[data.target], errors="ignore"))[PROBABILITY]

    # Seeded samples of large tables: the distances decide within ~0.005 of the full figure.
    reference, current = sample_rows(champion.rows), sample_rows(validated_customers)
    reference_scores, current_scores = scores(reference).to_numpy(), scores(current).to_numpy()
    report = detect_drift(reference, current, preprocessor.numeric, preprocessor.categorical,
                          thresholds, reference_scores, current_scores)
    decision = decide_retraining(report, thresholds.retrain_policy)
    context.log.info(f"{decision.reason}; retrain={decision.retrain}")
    with mlflow_tracking.run(context, data.experiment_name) as run, \
            tempfile.TemporaryDirectory() as tmp:
        html = write_drift_report(reference, current, report, Path(tmp),
                                  reference_scores=reference_scores,
                                  current_scores=current_scores)
        mlflow.log_artifacts(str(html.parent), artifact_path="drift_report")
        mlflow.log_metrics({"drifted_share": report.drifted_share,
                            "drift_detected": float(report.drift_detected)})
    metadata = {
        "drift_detected": report.drift_detected,
        "drifted_share": round(report.drifted_share, 4),
        "retrain": decision.retrain,
        "retrain_reason": decision.reason,
        "champion_version": champion.version,
        "reference_rows": len(champion.rows),
        "current_rows": len(validated_customers),
        "compared_rows": {"reference": len(reference), "current": len(current)},
        "features": _drift_table(report),
        "mlflow_report_run_id": run.info.run_id,
        **as_metadata("drift", thresholds),
    }
    if report.prediction_drift:
        metadata["prediction_drift_statistic"] = round(report.prediction_drift.statistic, 4)
        metadata["prediction_drifted"] = report.prediction_drift.drifted
    return dg.MaterializeResult(metadata=metadata)
