"""Retrain when the model is hurt: snapshots dropped into the landing folder, under the sensors.

One champion (module scope) meets, in order: a covariate shift it handles, an unlabeled
snapshot, a concept shift that hurts it (retrained, the new model is promoted and is healthy
on that concept), and a forced retrain on unlabeled data. The
scenarios share one Dagster instance, so each one also reads the history the earlier ones
left behind, as in production.
"""

from __future__ import annotations

import pandas as pd
import pytest

from churn_assets.defs.sensors import drift_retraining_sensor, new_customer_data_sensor
from churn_assets.names import PREVIOUS_CHAMPION
from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.defs.operator import Operator, drift_metadata
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # whole-graph runs, in process

# Who the customers are moves (more without internet, seniors, e-cheques, higher bills: over
# half of the features drift), how churn depends on them does not: the champion stays good.
# A much riskier, more uniform population (test_event_driven's SHIFT) lowers the ROC-AUC of
# any model, and the policy rightly reports that as decay.
COVARIATE_SHIFT = {"no_internet_share": 0.4, "charges_multiplier": 1.25, "senior_share": 0.3,
                   "electronic_check_share": 0.5}
SNAPSHOT_ROWS = 2000
# A full concept shift: the champion's F1 collapses, and a model trained on the shifted
# customers is clearly better, so the promotion rule's interval lets it through. A half shift
# (0.5) hurts the champion too, but leaves a retrained model under the F1 floor.
CONCEPT_SHIFT = 1.0
FIGURES: dict[str, dict] = {}  # printed at the end (pytest -s) for the closing note


class Monitor:
    def __init__(self, workspace: ChurnWorkspace):
        self.workspace, self.operator = workspace, Operator(workspace)
        self.landing = workspace.root / "landing"
        self.landing.mkdir(exist_ok=True)

    def drop(self, name: str, frame: pd.DataFrame) -> dict:
        """Land a snapshot, let the new-data sensor launch its intake, return its monitoring."""
        frame.to_csv(self.landing / name, index=False)
        (intake,) = self.operator.launch(self.operator.tick(new_customer_data_sensor))
        assert intake.success
        metadata = drift_metadata(intake)
        FIGURES[name] = {k: v for k, v in metadata.items() if k.startswith(
            ("realized_f1", "estimated_f1", "reference_f1", "retrain", "drifted_share"))}
        return metadata


@pytest.fixture(scope="module")
def monitor(module_workspace: ChurnWorkspace) -> Monitor:
    workspace = module_workspace
    workspace.write_config(workspace.write_data("seed.csv", customers(n_rows=3000, seed=3)))
    assert materialize_graph(workspace).success  # the champion, v1
    yield Monitor(workspace)
    for name, figures in FIGURES.items():
        print(name, figures)


def test_covariate_shift_with_a_healthy_champion_does_not_retrain(monitor: Monitor):
    drift = monitor.drop("covariate.csv", customers(SNAPSHOT_ROWS, seed=4, **COVARIATE_SHIFT))

    assert drift["labeled"] is True and drift["drift_detected"] is True
    assert drift["realized_decay"] == 0.0
    assert drift["realized_f1_low"] <= drift["realized_f1"] <= drift["realized_f1_high"]
    assert (drift["retrain"], drift["retrain_rule"], drift["drifted_in_a_row"]) == \
        (False, "transient_drift", 1)
    tick = monitor.operator.tick(drift_retraining_sensor)
    assert not tick.run_requests
    assert "(transient_drift)" in tick.skip_message and "F1" in tick.skip_message


def test_unlabeled_snapshot_gets_estimates_and_never_trains(monitor: Monitor):
    drift = monitor.drop("unlabeled.csv",
                         customers(SNAPSHOT_ROWS, seed=5).drop(columns=["Churn"]))

    assert drift["labeled"] is False and not any(k.startswith("realized") for k in drift)
    assert drift["estimated_f1_low"] <= drift["estimated_f1"] <= drift["estimated_f1_high"]
    assert 0.5 < drift["estimated_roc_auc"] <= 1
    assert (drift["retrain"], drift["retrain_rule"]) == (False, "unlabeled")
    assert "(unlabeled)" in monitor.operator.tick(drift_retraining_sensor).skip_message
    # The weekly retraining on the stored (unlabeled) validated rows is refused, clearly.
    retraining = monitor.workspace.definitions().resolve_job_def(
        "churn_retraining_job").execute_in_process(
        instance=monitor.workspace.instance, raise_on_error=False)
    assert not retraining.success
    failed = [e for e in retraining.get_asset_check_evaluations() if not e.passed]
    assert any("never for training" in (e.description or "") for e in failed)
    assert current_champion_version(monitor.workspace.client(), "churn-test") == "1"


def test_concept_shift_hurts_the_champion_and_the_retrained_model_replaces_it(
        monitor: Monitor):
    drift = monitor.drop("concept.csv",
                         customers(SNAPSHOT_ROWS, seed=6, concept_shift=CONCEPT_SHIFT))

    assert drift["labeled"] is True
    assert drift["realized_decay"] == 1.0
    assert drift["realized_f1_high"] < drift["reference_f1"] - 0.02 or \
        drift["realized_roc_auc_high"] < drift["reference_roc_auc"] - 0.02
    assert (drift["retrain"], drift["retrain_rule"]) == (True, "performance_decay")
    tick = monitor.operator.tick(drift_retraining_sensor)
    (request,) = tick.run_requests
    assert request.tags["churn/retrain_rule"] == "performance_decay"
    assert request.run_config["ops"]["raw_customers"]["config"]["source_uri"] == \
        str(monitor.landing / "concept.csv")

    (retraining,) = monitor.operator.launch(tick)

    assert retraining.success
    champion = [e for e in retraining.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "champion_model"][0]
    promotion = {k: v.value for k, v in champion.materialization.metadata.items()}
    FIGURES["concept.csv"]["retrained"] = {k: promotion.get(k) for k in (
        "promoted", "reason", "candidate_test_f1", "champion_test_f1", "f1_delta")}
    # Promoted by the rule, not by a point gain: the paired F1 interval clears min_delta.
    assert promotion["promoted"] is True and promotion["decision"] == "promoted"
    assert promotion["promotion.delta_low"] > promotion["promotion.min_delta"]
    assert promotion["f1_delta_low"] > promotion["promotion.min_delta"]
    assert promotion["reason"].startswith(f"promoted: ROC-AUC gain {promotion['promotion.delta']}")
    assert f"F1 delta {promotion['f1_delta']}" in promotion["reason"]
    assert "lower bound above min_delta" in promotion["reason"]
    assert promotion["candidate_test_f1"] > promotion["champion_test_f1"]
    client = monitor.workspace.client()
    assert len(client.search_model_versions("name = 'churn-test'")) == 2
    assert current_champion_version(client, "churn-test") == "2"
    assert str(client.get_model_version_by_alias("churn-test", PREVIOUS_CHAMPION).version) == "1"


def test_the_new_champion_is_healthy_on_the_concept_it_was_retrained_for(monitor: Monitor):
    """The same concept snapshot, monitored again: no decay, so no retraining loop."""
    intake = monitor.workspace.definitions().resolve_job_def(
        "snapshot_intake_job").execute_in_process(
        run_config={"ops": {"raw_customers": {"config": {
            "source_uri": str(monitor.landing / "concept.csv")}}}},
        instance=monitor.workspace.instance)
    drift = drift_metadata(intake)
    FIGURES["concept.csv (v2)"] = {k: v for k, v in drift.items() if k.startswith(
        ("realized_f1", "reference_f1", "retrain", "drifted_share", "champion_version"))}

    assert drift["champion_version"] == "2" and drift["labeled"] is True
    assert drift["realized_decay"] == 0.0
    assert drift["realized_f1_high"] >= drift["reference_f1"] - 0.02  # not below the reference
    assert drift["retrain"] is False and drift["retrain_rule"] != "performance_decay"
    assert not monitor.operator.tick(drift_retraining_sensor).run_requests
    # The online push runs last: nothing the snapshot is waited for (scores, drift, the trial)
    # waits for it.
    started = [e.step_key for e in intake.all_events if e.event_type_value == "STEP_START"]
    assert started[-1] == "online_features", started


def test_forced_retrain_on_unlabeled_data_trains_on_the_latest_labeled_snapshot(
        monitor: Monitor):
    snapshot = monitor.workspace.write_data("unlabeled-2.csv",
                                            customers(500, seed=7).drop(columns=["Churn"]))
    intake = monitor.workspace.definitions().resolve_job_def(
        "snapshot_intake_job").execute_in_process(
        run_config={"ops": {"raw_customers": {"config": {"source_uri": str(snapshot)}},
                            "feature_drift": {"config": {"force_retrain": True}}}},
        instance=monitor.workspace.instance)
    drift = drift_metadata(intake)
    assert (drift["retrain"], drift["retrain_rule"], drift["train_on"]) == \
        (True, "forced", "latest_labeled")

    (request,) = monitor.operator.tick(drift_retraining_sensor).run_requests

    assert request.run_config["ops"]["raw_customers"]["config"]["source_uri"] == \
        str(monitor.landing / "concept.csv")
    history = monitor.workspace.definitions().load_asset_value(
        "monitoring_history", instance=monitor.workspace.instance)
    assert list(history["snapshot_key"].str.rsplit("/", n=1).str[-1]) == [
        "seed.csv", "covariate.csv", "unlabeled.csv", "concept.csv", "concept.csv",
        "unlabeled-2.csv"]
    assert list(history["rule"])[:4] == ["healthy", "transient_drift", "unlabeled",
                                         "performance_decay"]
    assert history["rule"].iloc[-2] != "performance_decay"
    assert history["rule"].iloc[-1] == "forced"
