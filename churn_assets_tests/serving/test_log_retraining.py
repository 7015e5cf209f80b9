"""The prediction log's windows feed the retraining policy `feature_drift` uses: a window's
record joins the same monitoring history (a drifted window and a drifted labeled snapshot
make a streak), the champion's performance on its logged answers is judged with the same
decay rule, and `prediction_log_retraining_sensor` retrains on the latest labeled snapshot
when a window says so (never on the log)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from churn_assets.dataset_config import DriftConfig
from churn_assets.definitions import build_definitions
from churn_assets.defs.history import HISTORY_METADATA_KEY, read_history
from churn_assets.defs.sensors import prediction_log_retraining_sensor
from churn_assets.environment import Settings
from churn_assets.monitoring.drift import DriftReport
from churn_assets.monitoring.history import SnapshotRecord
from churn_assets.monitoring.log_window import (
    champion_window,
    decide_on_window,
    window_facts,
    window_performance,
)
from churn_assets.monitoring.performance import DecayRule
from churn_assets.monitoring.retraining_policy import LATEST_LABELED, SnapshotFacts
from churn_assets.monitoring.snapshot_performance import ChampionFigures
from churn_assets.pipeline.monitoring import decide_on_snapshot

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
LABELED_URI = "s3://churn/landing/2026-11-labeled.csv"


def record(key: str, time: datetime, labeled: bool, drifted: bool, rule: str) -> SnapshotRecord:
    return SnapshotRecord(key, time, 500, labeled, 0.6 if drifted else 0.1, drifted, rule,
                          "", False, "1")


def materialize(instance: dg.DagsterInstance, asset: str, entry: SnapshotRecord | None,
                **metadata) -> None:
    if entry is not None:
        metadata[HISTORY_METADATA_KEY] = dg.MetadataValue.json(entry.to_dict())
    instance.report_runless_asset_event(dg.AssetMaterialization(asset, metadata=metadata))


def test_a_drifted_log_window_counts_toward_the_snapshots_streak() -> None:
    labeled_drift = SnapshotFacts(labeled=True, drift_detected=True, drifted_share=0.6)
    now = T0 + timedelta(days=2)
    with dg.DagsterInstance.ephemeral() as instance:
        materialize(instance, "feature_drift", record(LABELED_URI, T0, True, False, "healthy"))
        alone = decide_on_snapshot(labeled_drift, read_history(instance), None, now,
                                   DriftConfig(), False)
        materialize(instance, "online_performance",
                    record("prediction_log until …", T0 + timedelta(days=1), False, True,
                           "unlabeled"))
        history = read_history(instance)
        fed = decide_on_snapshot(labeled_drift, history, None, now, DriftConfig(), False)
    assert [r.snapshot_key for r in history] == ["prediction_log until …", LABELED_URI]
    assert (alone.retrain, alone.rule, alone.drifted_in_a_row) == (False, "transient_drift", 1)
    assert (fed.retrain, fed.rule, fed.drifted_in_a_row) == (True, "persistent_drift", 2)


def logged(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """n champion answers (customer ids c0.., probabilities) and each customer's outcome."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    probability = np.clip(truth * 0.35 + rng.uniform(0, 0.65, n), 0, 1)
    start = pd.Timestamp(T0)
    log = pd.DataFrame({"arm": "champion", "model_version": "3",
                        "customer_id": [f"c{i}" for i in range(n)],
                        "churn_probability": probability, "input_row": "{}",
                        "logged_at": [start + pd.Timedelta(seconds=i) for i in range(n)]})
    return log, truth


def test_the_champion_is_judged_on_its_logged_answers_by_the_same_decay_rule() -> None:
    log, truth = logged(400, seed=3)
    shadow = log.assign(arm="shadow")
    window = champion_window(pd.concat([shadow, log]), "3", window_rows=300)
    assert len(window.answered) == 300 and window.answered["arm"].eq("champion").all()
    assert window.until == log["logged_at"].iloc[-1].to_pydatetime()
    outcomes = pd.Series(truth, index=log["customer_id"])
    unseen = np.arange(300) % 3 != 0  # a third of them were the champion's training rows
    rule = DecayRule(resamples=200)
    good = ChampionFigures(0.5, {"f1": 0.5, "roc_auc": 0.6})
    realized = window_performance(window, outcomes, unseen, good, rule)
    kept = window.answered[unseen]
    expected = f1_score(outcomes[kept["customer_id"]], kept["churn_probability"] >= 0.5)
    assert realized.evaluated_rows == unseen.sum() == 200
    assert realized.report.figures()["realized_f1"] == pytest.approx(expected)
    assert realized.decay is False
    # The same answers against a champion that was registered far better: decay, retrain on
    # the latest labeled snapshot (the log is never trained on).
    proud = ChampionFigures(0.5, {"f1": 0.99, "roc_auc": 0.999})
    decayed = window_performance(window, outcomes, unseen, proud, rule)
    calm = DriftReport(features=(), drifted_share=0.0, drift_detected=False)
    decision = decide_on_window(window_facts(calm, decayed), [], None, T0, DriftConfig())
    assert (decision.retrain, decision.rule, decision.train_on) == \
        (True, "performance_decay", LATEST_LABELED)
    # Without outcomes there is no realized verdict (no calibrator here: no estimate either);
    # drift alone on the log never retrains.
    none = window_performance(window, pd.Series(dtype="int64"), unseen, good, rule)
    assert none.report is None and none.evaluated_rows == 200
    drifted = DriftReport(features=(), drifted_share=0.7, drift_detected=True)
    decision = decide_on_window(window_facts(drifted, none), [], None, T0, DriftConfig())
    assert (decision.retrain, decision.rule) == (False, "unlabeled")


def test_the_sensor_retrains_on_the_latest_labeled_snapshot_when_a_window_says_so() -> None:
    definitions = build_definitions(Settings())
    with dg.DagsterInstance.ephemeral() as instance:
        materialize(instance, "feature_drift", record(LABELED_URI, T0, True, False, "healthy"))
        materialize(instance, "online_performance", None, retrain=True,
                    retrain_rule="performance_decay", train_on=LATEST_LABELED,
                    retrain_reason="realized F1 0.41 [0.36, 0.46] vs 0.62 at registration")
        context = dg.build_sensor_context(instance=instance, definitions=definitions)
        tick = prediction_log_retraining_sensor.evaluate_tick(context)
        (request,) = tick.run_requests
        assert request.run_config["ops"]["raw_customers"]["config"]["source_uri"] == LABELED_URI
        assert request.tags["churn/retrain_rule"] == "performance_decay"
        materialize(instance, "online_performance", None, retrain=False,
                    retrain_rule="unlabeled", retrain_reason="monitored only")
        context = dg.build_sensor_context(instance=instance, definitions=definitions,
                                          cursor=tick.cursor)
        skipped = prediction_log_retraining_sensor.evaluate_tick(context)
    assert not skipped.run_requests
    assert "online_performance" in skipped.skip_message and "(unlabeled)" in skipped.skip_message
