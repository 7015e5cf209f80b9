"""What `online_performance` reports: the log's traffic per arm and version, realized
metrics where outcomes arrived, one look of the challenger's trial from the shadow pairs,
and the drift of the logged requests against the champion's training rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow import MlflowClient

from churn_assets.dataset_config import DatasetConfig
from churn_assets.model.metric_registry import ONLINE_METRICS
from churn_assets.monitoring.drift import (
    DRIFT_SAMPLE_ROWS,
    DriftReport,
    detect_drift,
    sample_rows,
)
from churn_assets.monitoring.log_window import LogWindow, champion_window, window_performance
from churn_assets.monitoring.online_performance import (
    CHURNED,
    join_outcomes,
    known_outcomes,
    prediction_summary,
    read_log,
    realized_by_arm,
)
from churn_assets.monitoring.online_trial import OnlineLook, take_online_look
from churn_assets.monitoring.snapshot_performance import SnapshotPerformance, champion_figures
from churn_assets.names import REFERENCE_ARTIFACT

MIN_DRIFT_ROWS = 50


@dataclass(frozen=True)
class OnlineReport:
    log_rows: int
    summary: pd.DataFrame
    realized: pd.DataFrame
    look: OnlineLook
    drift: DriftReport | None
    drift_rows: int
    window: LogWindow | None = None  # the champion's newest answers, monitored as a snapshot
    performance: SnapshotPerformance | None = None  # the champion on the window

    def metadata(self) -> dict[str, Any]:
        """Plain values and markdown tables; realized keys name the metric, arm and version
        (``realized_f1_champion_v3``)."""
        meta: dict[str, Any] = {"log_rows": self.log_rows, "outcome_rows": int(
            self.realized["rows"].sum()) if len(self.realized) else 0,
            "traffic": self.summary.to_markdown(index=False, floatfmt=".4f"),
            "realized": self.realized.to_markdown(index=False, floatfmt=".4f")}
        for row in self.realized.to_dict(orient="records"):
            for metric in ONLINE_METRICS:
                if pd.notna(row.get(metric)):
                    meta[f"realized_{metric}_{row['arm']}_v{row['model_version']}"] = \
                        round(float(row[metric]), 4)
        meta["challenger_decision"] = self.look.outcome.decision if self.look.outcome \
            else "none"
        meta["challenger_reason"] = self.look.reason
        meta["shadow_pairs"] = self.look.pairs
        if self.look.outcome is not None:
            evidence = self.look.outcome.verdict.evidence
            meta |= {"challenger_version": self.look.outcome.challenger_version,
                     "challenger_delta": evidence.text(),
                     "challenger_delta_low": round(max(evidence.low, -1.0), 4),
                     "challenger_delta_high": round(min(evidence.high, 1.0), 4)}
        if self.drift is not None:
            meta |= {"logged_drift_detected": self.drift.drift_detected,
                     "logged_drifted_share": round(self.drift.drifted_share, 4),
                     "logged_drift_rows": self.drift_rows,
                     "logged_drift": self.drift.to_frame().to_markdown(index=False,
                                                                      floatfmt=".4f")}
        if self.performance is not None:
            meta["logged_performance"] = self.performance.summary
            meta["logged_evaluated_rows"] = self.performance.evaluated_rows
            if self.performance.report is not None:  # realized_f1 -> logged_realized_f1
                meta |= {f"logged_{key}": round(float(value), 4) for key, value
                         in self.performance.report.figures().items()}
        return meta


def snapshot_outcomes(rows: pd.DataFrame, data: DatasetConfig) -> pd.DataFrame | None:
    """A labeled snapshot's outcomes (customer_id, churned); None without the target."""
    from churn_assets.data.splits import binary_target

    if data.target not in rows or data.id_column_derived:
        return None
    return pd.DataFrame({"customer_id": rows[data.id_column].astype(str).to_numpy(),
                         CHURNED: binary_target(rows[data.target],
                                                data.positive_label).to_numpy()})


@dataclass(frozen=True)
class LoggedMonitoring:
    drift: DriftReport | None
    rows: int
    window: LogWindow | None = None
    performance: SnapshotPerformance | None = None


def logged_monitoring(client: MlflowClient, data: DatasetConfig, log: pd.DataFrame,
                      outcomes: pd.Series, window_rows: int) -> LoggedMonitoring:
    """The champion's last ``window_rows`` answered rows against its training rows (drift),
    and its performance on those it never trained on."""
    import mlflow

    from churn_assets.data.splits import assign_splits
    from churn_assets.monitoring.performance import DecayRule
    from churn_assets.monitoring.snapshot_performance import unseen_rows
    from churn_assets.registry.model_registry import (
        current_champion_version,
        load_version_reference,
    )

    version = current_champion_version(client, data.model_name)
    window = champion_window(log, version, window_rows)
    current = window.rows if window is not None else pd.DataFrame()
    if window is None or len(current) < MIN_DRIFT_ROWS:
        return LoggedMonitoring(None, len(current))
    reference = load_version_reference(client, data.model_name, version,
                                       REFERENCE_ARTIFACT).rows
    model = mlflow.pyfunc.load_model(f"models:/{data.model_name}/{version}")
    columns = model.unwrap_python_model().preprocessor  # the columns the champion reads
    drift = detect_drift(sample_rows(reference), sample_rows(current), columns.numeric,
                         columns.categorical, data.drift)
    performance = None
    if not data.id_column_derived:  # without ids the champion's training rows are unknown
        ids = window.answered["customer_id"].astype(str)
        unseen = unseen_rows(ids, assign_splits(ids, data.split), reference[data.id_column],
                             reference_complete=len(reference) < DRIFT_SAMPLE_ROWS)
        rule = DecayRule(margin=data.drift.decay_margin,
                         resamples=data.drift.bootstrap_resamples)
        try:
            figures = champion_figures(client, data.model_name, version)
        except ValueError as error:  # a champion registered without its threshold
            return LoggedMonitoring(drift, len(current), window, SnapshotPerformance(
                None, f"performance not evaluated: {error}", 0))
        performance = window_performance(window, outcomes, unseen, figures, rule)
    return LoggedMonitoring(drift, len(current), window, performance)


def online_report(data: DatasetConfig, log_url: str, client: MlflowClient, tracking_uri: str,
                  snapshot: pd.DataFrame | None, requested_by: str,
                  window_rows: int = 5000) -> OnlineReport:
    log, posted = read_log(log_url)
    log["logged_at"] = pd.to_datetime(log["logged_at"], utc=True)
    outcomes = known_outcomes(posted, snapshot)
    joined = join_outcomes(log, outcomes)
    look = take_online_look(client, data, joined, data.promotion, tracking_uri, requested_by)
    logged = logged_monitoring(client, data, log, outcomes, window_rows)
    return OnlineReport(len(log), prediction_summary(log), realized_by_arm(joined), look,
                        logged.drift, logged.rows, logged.window, logged.performance)
