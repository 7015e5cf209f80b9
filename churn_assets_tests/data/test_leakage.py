"""The leakage check: columns written after the outcome stop training; honest ones pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_assets.data.column_roles import infer_column_roles
from churn_assets.data.dataset_proposal import propose_dataset
from churn_assets.data.leakage import LeakageError, leakage_report, stop_on_leakage
from churn_assets.dataset_config import ConfigError, parse_dataset_config
from churn_assets.generator import generate_customers
from churn_assets_tests.helpers.workspace import SHARED_TELCO

BASE = {"source": "x.csv", "target": "Churn", "positive_label": "Yes",
        "id_column": "customerID", "model_name": "m"}


def _config(**extra):
    return parse_dataset_config(BASE | extra, Path("."))


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return generate_customers(3000, seed=31)


def _report(frame: pd.DataFrame, **extra):
    config = _config(**extra)
    roles = infer_column_roles(frame, config)
    return leakage_report(frame, config, roles.numeric, roles.categorical)


def _suspects(frame: pd.DataFrame, **extra) -> dict[str, str]:
    report = _report(frame, **extra)
    return {c.column: m for c, m in zip(report.suspects, report.messages(), strict=True)}


def _churned(frame: pd.DataFrame) -> np.ndarray:
    return (frame["Churn"] == "Yes").to_numpy()


def test_the_generated_columns_pass_contract_and_tenure_included(customers):
    report = _report(customers)
    assert report.suspects == []
    strength = {c.column: c.auc for c in report.columns}
    assert strength["Contract"] > 0.65 and strength["tenure"] > 0.65  # strong, yet not flagged
    assert {"Contract", "tenure", "MonthlyCharges"} <= set(strength)


@pytest.mark.skipif(not SHARED_TELCO.is_file(), reason=f"no Telco file at {SHARED_TELCO}")
def test_telco_train_rows_pass():
    report = _report(pd.read_csv(SHARED_TELCO))
    assert report.suspects == [], report.messages()
    assert max(c.auc for c in report.columns) > 0.7  # Contract / tenure are strong there


def test_a_reason_filled_only_for_churners_is_stopped(customers):
    rng = np.random.default_rng(0)
    reasons = rng.choice(["Price", "Competitor", "Moved", "Service"], len(customers))
    frame = customers.assign(ExitReason=np.where(_churned(customers), reasons, None))
    suspects = _suspects(frame)
    assert list(suspects) == ["ExitReason"]
    message = suspects["ExitReason"]
    assert "missingness follows the target" in message
    assert "present for 100.0% of churners and 0.0% of the others" in message
    assert "drop: [ExitReason]" in message and "leakage: {allow: {ExitReason:" in message


def test_a_vendor_score_computed_from_the_outcome_is_stopped(customers):
    rng = np.random.default_rng(1)
    risk = 0.3 * (customers["Contract"] == "Month-to-month") + 0.2 * rng.random(len(customers))
    score = 0.5 * _churned(customers) + risk + rng.normal(0, 0.1, len(customers))
    suspects = _suspects(customers.assign(vendor_risk=np.round(score, 3)))
    assert list(suspects) == ["vendor_risk"]
    assert "ROC-AUC" in suspects["vendor_risk"]


def test_a_cancellation_date_present_only_for_leavers_is_stopped(customers):
    rng = np.random.default_rng(2)
    dates = (pd.Timestamp("2024-01-01")
             + pd.to_timedelta(rng.integers(0, 365, len(customers)), unit="D"))
    frame = customers.assign(cancelled_on=np.where(_churned(customers),
                                                   dates.strftime("%Y-%m"), ""))
    suspects = _suspects(frame)
    assert list(suspects) == ["cancelled_on"]
    assert "missingness follows the target" in suspects["cancelled_on"]


@pytest.mark.parametrize("copy", [
    lambda churned: np.where(churned, "Left", "Active"),  # a recoding under another name
    lambda churned: churned.astype(int),  # a 0/1 copy
])
def test_a_copy_of_the_label_under_another_name_is_stopped(customers, copy):
    suspects = _suspects(customers.assign(status=copy(_churned(customers))))
    assert list(suspects) == ["status"]
    assert "a near-copy of the target" in suspects["status"]


def test_only_train_rows_are_read(customers):
    # The label copied into test and valid rows only: invisible to a check on train rows.
    config = _config()
    from churn_assets.data.splits import assign_splits

    held = (assign_splits(customers["customerID"], config.split) != "train").to_numpy()
    frame = customers.assign(late=np.where(held & _churned(customers), "Left", "-"))
    assert "late" not in _suspects(frame)


def test_allow_with_a_reason_settles_it_and_drop_removes_it(customers):
    frame = customers.assign(status=np.where(_churned(customers), "Left", "Active"))
    report = _report(frame, leakage={"allow": {"status": "known a month ahead"}})
    assert report.suspects == []
    (status,) = [c for c in report.columns if c.column == "status"]
    assert status.allowed == "known a month ahead" and status.findings
    assert _suspects(frame, drop=["status"]) == {}


def test_unknown_leakage_keys_and_blank_reasons_are_errors():
    with pytest.raises(ConfigError, match="unknown key 'leakage.allowed'"):
        _config(leakage={"allowed": {"x": "y"}})
    with pytest.raises(ConfigError, match="needs a reason for 'x'"):
        _config(leakage={"allow": {"x": " "}})


def test_the_stop_names_every_suspect_from_the_roles_asset_output(customers):
    frame = customers.assign(status=np.where(_churned(customers), "Left", "Active"),
                             ExitReason=np.where(_churned(customers), customers["Contract"],
                                                 None))
    report = _report(frame)
    roles_output = {"numeric": [], "categorical": [], "dropped": {},
                    "leakage": report.as_dict()}
    with pytest.raises(LeakageError) as stopped:
        stop_on_leakage(roles_output)
    assert "'status'" in str(stopped.value) and "'ExitReason'" in str(stopped.value)
    stop_on_leakage({"numeric": [], "categorical": [], "dropped": {}})  # older output: no check


def test_init_proposes_the_same_drops(customers):
    frame = customers.assign(status=np.where(_churned(customers), "Left", "Active"))
    proposal = propose_dataset(frame, "x.csv", "Churn", model_name="m")
    assert "status" in proposal.config["drop"]
    assert "status" not in proposal.config["categorical"]
    assert "Contract" in proposal.config["categorical"]
    assert any(r.startswith("drop 'status': may be written after the outcome")
               for r in proposal.reasons)


def test_a_run_stops_before_tuning_and_column_roles_says_why(workspace):
    from churn_assets_tests.helpers.workspace import customers as generated
    from churn_assets_tests.helpers.workspace import materialize_graph

    frame = generated(800, seed=5)
    frame["status"] = np.where(frame["Churn"] == "Yes", "Left", "Active")
    workspace.write_config(workspace.write_data("customers.csv", frame))
    result = materialize_graph(workspace)
    assert not result.success
    failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failed] == ["feature_preprocessor"]
    assert "column 'status' may be written after the outcome" in \
        failed[0].step_failure_data.error.message
    done = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert "column_roles" in done and "tuned_churn_model" not in done
    assert done["column_roles"]["leakage_suspects"].value == ["status"]
    assert "Contract" in done["column_roles"]["leakage_check"].value


def test_the_model_card_shows_the_check(customers):
    from churn_assets.data.leakage import card_rows
    from churn_assets.model.model_card import render_model_card

    frame = customers.assign(status=np.where(_churned(customers), "Left", "Active"))
    report = _report(frame, leakage={"allow": {"status": "known a month ahead"}})
    card = render_model_card({"features": {"kept": ["Contract"], "dropped": {},
                                           "leakage": card_rows({"leakage": report.as_dict()})}})
    assert f"Leakage check on {report.rows} train rows" in card
    assert "| status |" in card and "allowed: known a month ahead" in card
