"""Registry operations against a real MLflow store (SQLite in a temporary folder): the
fresh-process load check, promotion with its audit trail, rollback, and racing promotions.

The "models" are real pyfuncs (``lookup_model.py``) whose probabilities a test chooses, so
each situation (clearly better, equally good, broken) is exact. Every load check starts a
Python process that imports MLflow, hence the ``slow`` mark."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import mlflow
import numpy as np
import pytest

from churn_assets.dataset_config import PromotionConfig
from churn_assets.generator import generate_customers
from churn_assets.names import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from churn_assets.registry.challenger_trial import LOOKS_TAG, judge_challenger
from churn_assets.registry.load_check import check_model_loads
from churn_assets.registry.model_registry import (
    RollbackRefused,
    current_champion_version,
    promote_candidate,
    register_candidate,
    rollback,
    version_for_alias,
)
from churn_assets.registry.promotion_rule import rule_text
from churn_assets_tests.helpers.lookup_model import LOOKUP_MODEL, LOOKUP_REQUIREMENTS
from churn_assets_tests.helpers.workspace import ChurnWorkspace

pytestmark = pytest.mark.slow

# Floors only: the lookup models' fixed 0.5 threshold makes the weak first champion's F1
# fall below flagging everyone (the first-model baselines are tested in test_first_model).
RULES = PromotionConfig(min_f1=0.3, min_roc_auc=0.6, resamples=100, seed=3,
                        segments=("Contract",), baselines=False)


def card(promotion: dict) -> str:
    return (f"# Model card\n\n## Promotion\n{promotion['reason']} "
            f"(was v{promotion['previous_champion']})\n")


class Models:
    """Logged lookup models by quality, registered under a fresh name per test."""

    def __init__(self, workspace: ChurnWorkspace):
        self.workspace = workspace
        customers = generate_customers(1200, seed=11)
        self.labels = (customers["Churn"] == "Yes").astype(int).to_numpy()
        self.rows = customers.drop(columns=["Churn"])
        self.uris: dict[str, str] = {}
        mlflow.set_tracking_uri(workspace.tracking_uri)
        mlflow.set_registry_uri(workspace.tracking_uri)
        mlflow.set_experiment("registry-tests")
        for kind, (signal, seed) in {"weak": (0.4, 1), "strong": (2.5, 2),
                                     "strong_twin": (2.5, 3)}.items():
            self.uris[kind] = self._log(kind, self._probabilities(signal, seed))
        # A pair that shares most of its noise (one customer base, two close models): the
        # second is really better, by little enough that 100 test rows cannot tell.
        shared = np.random.default_rng(5).normal(size=self.labels.size)
        for kind, (signal, seed) in {"fair": (1.0, 6), "fair_plus": (1.2, 7)}.items():
            noise = shared + 0.5 * np.random.default_rng(seed).normal(size=self.labels.size)
            logit = signal * (2 * self.labels - 1) + noise - 1.0
            self.uris[kind] = self._log(kind, dict(zip(
                self.rows["customerID"], 1 / (1 + np.exp(-logit)), strict=True)))
        self.uris["wrong_columns"] = self._log(
            "wrong_columns", self._probabilities(2.5, 4), columns=["score", "label"])
        self.uris["missing_artifact"] = self._log("missing_artifact",
                                                  self._probabilities(2.5, 5))
        # Break it after logging: its stored artifact is gone, as after a botched cleanup.
        model_id = self.uris["missing_artifact"].removeprefix("models:/")
        location = mlflow.get_logged_model(model_id).artifact_location.removeprefix("file://")
        shutil.rmtree(Path(location) / "artifacts")

    def _probabilities(self, signal: float, seed: int) -> dict[str, float]:
        noise = np.random.default_rng(seed).normal(size=self.labels.size)
        logit = signal * (2 * self.labels - 1) + noise - 1.0
        return dict(zip(self.rows["customerID"], 1 / (1 + np.exp(-logit)), strict=True))

    def _log(self, kind: str, probability: dict[str, float], columns=None) -> str:
        folder = self.workspace.root / "model-state" / kind
        folder.mkdir(parents=True, exist_ok=True)
        state = {"probability": probability, "threshold": 0.5}
        if columns:
            state["columns"] = columns
        (folder / "state.json").write_text(json.dumps(state))
        with mlflow.start_run(run_name=kind):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(LOOKUP_MODEL), pip_requirements=LOOKUP_REQUIREMENTS,
                artifacts={"state": str(folder / "state.json")},
                input_example=self.rows.head(3))
        return info.model_uri

    def register(self, name: str, kind: str) -> str:
        return register_candidate(name, self.uris[kind], run_id=f"run-{kind}")

    def promote(self, name: str, kind: str, **kwargs):
        version = self.register(name, kind)
        return promote_candidate(
            self.workspace.client(), name, version, self.rows, self.labels, RULES,
            tracking_uri=self.workspace.tracking_uri, requested_by="test", why=f"try {kind}",
            model_card=card, **kwargs)


@pytest.fixture(scope="module")
def models(module_workspace: ChurnWorkspace) -> Models:
    return Models(module_workspace)


def test_load_check_passes_a_model_that_serves_the_contract(models: Models) -> None:
    check = check_model_loads(models.uris["strong"], models.rows.head(20),
                              models.workspace.tracking_uri)
    assert check.ok and check.error is None
    assert check.columns == ("churn_probability", "churn_prediction")
    # Registry URIs resolve in the child through the tracking URI it is given.
    models.register("load-check", "strong")
    assert check_model_loads("models:/load-check/1", None,
                             models.workspace.tracking_uri).ok  # the model's input example


def test_load_check_fails_wrong_columns_and_missing_artifacts(models: Models) -> None:
    wrong = check_model_loads(models.uris["wrong_columns"], models.rows.head(20),
                              models.workspace.tracking_uri)
    assert not wrong.ok and wrong.columns == ("score", "label")
    assert wrong.error.startswith("ValueError: predict returned columns ['score', 'label']")
    missing = check_model_loads(models.uris["missing_artifact"], models.rows.head(20),
                                models.workspace.tracking_uri)
    assert not missing.ok and missing.columns == ()
    assert "\n" not in missing.error and missing.error  # the last line, not a traceback


def test_promotions_move_aliases_and_record_why(models: Models) -> None:
    client, name = models.workspace.client(), "promotions"

    first = models.promote(name, "weak")
    assert first.decision.promote and "first model" in first.decision.reason
    assert current_champion_version(client, name) == "1"

    better = models.promote(name, "strong")
    assert better.decision.promote and better.previous_champion_version == "1"
    assert current_champion_version(client, name) == "2"
    assert version_for_alias(client, name, PREVIOUS_CHAMPION) == "1"
    tags = client.get_model_version(name, "2").tags
    assert tags["promotion.decision"] == "promoted"
    assert tags["promotion.previous_champion_version"] == "1"
    assert tags["promotion.rule"] == rule_text(RULES)
    assert tags["promotion.f1_delta"] == better.decision.f1_delta.text()
    assert tags["promotion.metric"] == "roc_auc"
    assert tags["promotion.delta"] == better.decision.gain.text()
    assert float(tags["promotion.delta_low"]) > 0
    assert tags["promotion.roc_auc_delta"].startswith("+")
    assert tags["promotion.load_check"] == "passed"
    assert tags["promotion.requested_by"] == "test" and tags["promotion.why"] == "try strong"
    assert len(tags["promotion.candidate_test_f1"].split(".")[1]) == 4  # rounded
    description = client.get_model_version(name, "2").description
    assert description.startswith("# Model card") and better.decision.reason in description
    assert "(was v1)" in description
    assert client.get_model_version(name, "1").tags["champion.replaced_by_version"] == "2"

    twin = models.promote(name, "strong_twin")  # as good as the champion: noise
    assert not twin.decision.promote and "may be noise" in twin.decision.reason
    assert current_champion_version(client, name) == "2"
    assert version_for_alias(client, name, CHALLENGER) == "3"  # inconclusive: on trial
    assert client.get_model_version(name, "3").tags["promotion.decision"] == "rejected"
    assert client.get_model_version(name, "3").tags["promotion.outcome"] == "challenger"
    assert client.get_model_version(name, "3").tags["promotion.look"] == "2"  # 2nd vs v1's rows


@pytest.mark.parametrize("broken", ["wrong_columns", "missing_artifact"])
def test_candidate_that_fails_the_fresh_process_load_is_rejected(models: Models, broken) -> None:
    client, name = models.workspace.client(), f"broken-{broken}"
    models.promote(name, "weak")

    outcome = models.promote(name, broken)

    assert not outcome.decision.promote and not outcome.load_check.ok
    assert "failed the load check in a fresh process" in outcome.decision.reason
    assert current_champion_version(client, name) == "1"
    assert version_for_alias(client, name, CHALLENGER) is None  # never offered for shadowing
    tags = client.get_model_version(name, "2").tags
    assert tags["promotion.decision"] == "rejected"
    assert tags["promotion.load_check"].startswith("failed: ")


def test_rollback_moves_the_champion_back_and_refuses_a_broken_target(models: Models) -> None:
    client, name, uri = models.workspace.client(), "rollbacks", models.workspace.tracking_uri
    for kind in ("weak", "strong"):
        outcome = models.promote(name, kind)
        assert outcome.decision.promote, outcome.decision.reason
    broken = models.register(name, "missing_artifact")  # v3, never champion

    with pytest.raises(RollbackRefused, match="v3 failed the load check.*stays on v2"):
        rollback(client, name, tracking_uri=uri, target_version=broken,
                 requested_by="alice", reason="try the newest")
    assert current_champion_version(client, name) == "2"
    assert version_for_alias(client, name, PREVIOUS_CHAMPION) == "1"

    outcome = rollback(client, name, tracking_uri=uri, requested_by="alice",
                       reason="complaints about v2")

    assert (outcome.from_version, outcome.to_version) == ("2", "1")
    assert current_champion_version(client, name) == "1"
    assert version_for_alias(client, name, PREVIOUS_CHAMPION) == "2"
    restored = client.get_model_version(name, "1").tags
    displaced = client.get_model_version(name, "2").tags
    assert restored["rollback.requested_by"] == displaced["rollback.requested_by"] == "alice"
    assert restored["rollback.reason"] == "complaints about v2"
    assert restored["rollback.from_version"] == "2"
    assert displaced["rollback.replaced_by_version"] == "1"


def test_rollback_needs_a_target_and_an_audit_trail(models: Models) -> None:
    client, name, uri = models.workspace.client(), "no-rollback", models.workspace.tracking_uri
    with pytest.raises(RollbackRefused, match="requested_by and reason"):
        rollback(client, name, tracking_uri=uri, requested_by="", reason="x")
    models.register(name, "weak")
    with pytest.raises(RollbackRefused, match="no @champion"):
        rollback(client, name, tracking_uri=uri, requested_by="bob", reason="x")
    client.set_registered_model_alias(name, CHAMPION, "1")
    with pytest.raises(RollbackRefused, match="no @previous_champion"):
        rollback(client, name, tracking_uri=uri, requested_by="bob", reason="x")
    with pytest.raises(RollbackRefused, match="already holds @champion"):
        rollback(client, name, tracking_uri=uri, target_version="1", requested_by="bob",
                 reason="x")
    assert current_champion_version(client, name) == "1"


def test_two_promotions_racing_end_with_one_consistent_champion(models: Models) -> None:
    # Both candidates beat the champion clearly and tie with each other. Unserialised, both
    # would be compared with v1 and both "promoted", the second silently displacing the
    # first. Serialised, the second is compared with the first's result and is noise.
    client, name = models.workspace.client(), "race"
    models.promote(name, "weak")
    versions = [models.register(name, kind) for kind in ("strong", "strong_twin")]
    start, outcomes, errors = threading.Barrier(2), {}, []

    def promote(version: str) -> None:
        try:
            start.wait()
            outcomes[version] = promote_candidate(
                client, name, version, models.rows, models.labels, RULES,
                tracking_uri=models.workspace.tracking_uri, requested_by="race")
        except Exception as error:  # surfaced below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    promoted = [v for v, o in outcomes.items() if o.decision.promote]
    assert len(promoted) == 1
    (winner,) = promoted
    (loser,) = set(versions) - {winner}
    assert current_champion_version(client, name) == winner
    assert version_for_alias(client, name, PREVIOUS_CHAMPION) == "1"
    assert version_for_alias(client, name, CHALLENGER) == loser
    assert client.get_model_version(name, winner).tags[
        "promotion.previous_champion_version"] == "1"
    # The loser was judged against the winner, not against the old champion.
    assert client.get_model_version(name, loser).tags[
        "promotion.previous_champion_version"] == winner


def test_challenger_on_trial_is_promoted_by_a_fresh_snapshot_with_an_audit_trail(
        models: Models) -> None:
    client, name, uri = models.workspace.client(), "trial", models.workspace.tracking_uri
    test, fresh = slice(0, 100), slice(100, 650)  # a small test split, then a snapshot
    models.promote(name, "fair")
    version = models.register(name, "fair_plus")
    at_once = promote_candidate(client, name, version, models.rows[test], models.labels[test],
                                RULES, tracking_uri=uri, requested_by="test")
    assert at_once.decision.outcome == "challenger"
    assert at_once.decision.gain.low <= 0 < at_once.decision.gain.estimate
    assert version_for_alias(client, name, CHALLENGER) == version
    assert current_champion_version(client, name) == "1"

    trial = judge_challenger(client, name, models.rows[fresh], models.labels[fresh], RULES,
                             expected=(version, "1"), tracking_uri=uri,
                             snapshot="snapshot-1.csv", requested_by="test")

    assert trial.decision == "promoted" and trial.champion_after == version
    assert trial.verdict.evidence.low > RULES.min_delta and trial.load_check.ok
    assert current_champion_version(client, name) == version
    assert version_for_alias(client, name, PREVIOUS_CHAMPION) == "1"
    assert version_for_alias(client, name, CHALLENGER) is None
    tags = client.get_model_version(name, version).tags
    assert tags["promotion.outcome"] == "promoted_by_trial"
    assert tags["promotion.reason"] == trial.verdict.reason
    assert tags["promotion.load_check"] == "passed"
    assert tags["promotion.previous_champion_version"] == "1"
    assert (tags["challenger.decision"], tags["challenger.status"]) == ("promoted", "promoted")
    assert [look["snapshot"] for look in json.loads(tags[LOOKS_TAG])] == ["snapshot-1.csv"]
    assert client.get_model_version(name, "1").tags["champion.replaced_by_version"] == version
    # The next snapshot finds no trial: nothing moves.
    assert judge_challenger(client, name, models.rows[fresh], models.labels[fresh], RULES,
                            expected=(version, "1"), tracking_uri=uri, snapshot="s2",
                            requested_by="test") is None


def test_worse_challenger_is_retired_and_gives_up_the_alias(models: Models) -> None:
    client, name, uri = models.workspace.client(), "retire", models.workspace.tracking_uri
    models.promote(name, "fair_plus")
    version = models.register(name, "fair")
    client.set_registered_model_alias(name, CHALLENGER, version)  # put on trial by hand
    trial = judge_challenger(client, name, models.rows, models.labels, RULES,
                             expected=(version, "1"), tracking_uri=uri, snapshot="s1",
                             requested_by="test")
    assert trial.decision == "retired" and "conclusively no gain" in trial.verdict.reason
    assert trial.load_check is None  # never checked: nothing was going to move
    assert version_for_alias(client, name, CHALLENGER) is None
    assert current_champion_version(client, name) == "1"
    assert client.get_model_version(name, version).tags["challenger.status"] == "retired"
