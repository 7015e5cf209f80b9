"""The promotion rule through the whole graph: re-seeded retrains on identical data never
move @champion, and a really better candidate whose small test split was inconclusive is put
on trial and promoted by the next labeled snapshot, under the sensors."""

from __future__ import annotations

import json

import pytest

from churn_assets.defs.sensors import drift_retraining_sensor, new_customer_data_sensor
from churn_assets.names import CHALLENGER, PREVIOUS_CHAMPION
from churn_assets.registry.model_registry import current_champion_version, version_for_alias
from churn_assets_tests.defs.operator import Operator
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # whole-graph runs, in process

# The champion is trained without the strongest column; the candidate with it is really
# better (about +0.05 ROC-AUC on generated customers), but 5 % of 3,000 rows for the test split
# under a strict immediate rule (a 0.25 % one-sided budget) cannot show it. The trial's own
# error (trial_alpha) stays the default 5 %.
HANDICAP = ["Contract"]
SMALL_TEST_SPLIT = {"valid_fraction": 0.15, "test_fraction": 0.05}
STRICT = {"level": 0.995}
RETRAIN_STEPS = "key:tuned_churn_model or key:champion_model"


def metadata_of(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def test_identical_data_retrained_with_other_seeds_never_promotes(workspace: ChurnWorkspace):
    workspace.write_config(workspace.write_data("seed.csv", customers(n_rows=2000, seed=3)))
    assert materialize_graph(workspace).success
    client = workspace.client()
    looks = []
    for seed in (7, 11, 5):  # only the two steps a retrain changes: the data is the same
        result = materialize_graph(workspace, selection=RETRAIN_STEPS, run_config={
            "ops": {"tuned_churn_model": {"config": {"seed": seed}}}})
        assert result.success
        decision = metadata_of(result, "champion_model")
        looks.append((decision["promotion.look"], decision["outcome"]))
        assert decision["promoted"] is False, decision["reason"]
        assert decision["promotion.metric"] == "roc_auc"
        assert decision["promotion.delta_low"] <= 0  # no conclusive gain
    assert current_champion_version(client, "churn-test") == "1"
    # Each retrain is one more look at the same test rows, counted from the registry.
    assert [look for look, _ in looks] == [1, 2, 3]
    tags = [client.get_model_version("churn-test", v).tags for v in ("2", "3", "4")]
    assert len({t["promotion.test_fingerprint"] for t in tags}) == 1
    # At most one of them is on trial at a time: the newest inconclusive one.
    on_trial = version_for_alias(client, "churn-test", CHALLENGER)
    assert on_trial is None or client.get_model_version(
        "churn-test", on_trial).tags["promotion.outcome"] == "challenger"


def test_challenger_on_trial_is_promoted_by_the_next_labeled_snapshot(
        workspace: ChurnWorkspace):
    seed = workspace.write_data("seed.csv", customers(n_rows=3000, seed=3))
    workspace.write_config(seed, drop=HANDICAP, split=SMALL_TEST_SPLIT, promotion=STRICT)
    assert materialize_graph(workspace).success  # v1, without Contract
    workspace.write_config(seed, split=SMALL_TEST_SPLIT, promotion=STRICT)
    retrain = materialize_graph(workspace)  # v2, with Contract: inconclusive on 150 rows
    assert retrain.success
    decision = metadata_of(retrain, "champion_model")
    assert decision["outcome"] == "challenger", decision["reason"]
    assert decision["promotion.delta_low"] <= 0 < decision["promotion.delta_high"]
    # "Materialize all" ran the trial too, on the training data: none of its rows may be
    # a look (the test rows put v2 on trial; reusing them would count that luck twice).
    skipped = metadata_of(retrain, "challenger_trial")
    assert skipped["challenger_decision"] == "none" and "only 0 rows" in skipped["reason"]
    client = workspace.client()
    assert version_for_alias(client, "churn-test", CHALLENGER) == "2"
    assert current_champion_version(client, "churn-test") == "1"

    operator = Operator(workspace)
    (workspace.root / "landing").mkdir(exist_ok=True)
    customers(n_rows=3000, seed=4).to_csv(workspace.root / "landing" / "week-1.csv",
                                          index=False)
    (intake,) = operator.launch(operator.tick(new_customer_data_sensor))

    assert intake.success
    trial = metadata_of(intake, "challenger_trial")
    print("trial", {k: v for k, v in trial.items() if k not in ("evidence",)})
    assert trial["challenger_version"] == "2" and trial["champion_version"] == "1"
    assert trial["challenger_decision"] == "promoted", trial["reason"]
    assert trial["challenger_delta_low"] > 0 and trial["challenger_looks"] == 1
    assert trial["load_check"] == "passed"
    assert "data:image/png;base64," in trial["evidence"]
    header = trial["looks"].splitlines()[0]
    assert "look" in header and "always_valid_p" in header and "week-1.csv" in trial["looks"]
    assert current_champion_version(client, "churn-test") == "2"
    assert version_for_alias(client, "churn-test", PREVIOUS_CHAMPION) == "1"
    assert version_for_alias(client, "churn-test", CHALLENGER) is None
    tags = client.get_model_version("churn-test", "2").tags
    assert tags["promotion.outcome"] == "promoted_by_trial"
    assert tags["promotion.requested_by"] == f"dagster run {intake.run_id}"
    assert json.loads(tags["challenger.looks"])[0]["snapshot"].endswith("week-1.csv")
    # The same snapshot's monitoring judged v1, which served it; no retraining loop follows.
    assert not operator.tick(drift_retraining_sensor).run_requests
