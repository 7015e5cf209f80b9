"""Bad input through the Dagster wiring: one-line failures at ingestion, coercions recorded,
and (slow) the whole graph after a champion exists: nothing registered, nothing moved."""

from __future__ import annotations

import dagster as dg
import pytest

from churn_assets.registry.model_registry import current_champion_version
from churn_assets_tests.data.test_bad_inputs import CASES, BadInput
from churn_assets_tests.data.test_bad_inputs import CONFIG as BAD_INPUT_CONFIG
from churn_assets_tests.helpers.workspace import (
    ChurnWorkspace,
    customers,
    file_fingerprint,
    materialize_graph,
)

UP_TO_VALIDATION = "key:raw_customers or key:column_roles or key:validated_customers"


def step_failures(result) -> dict[str, dg.DagsterEvent]:
    return {e.step_key: e for e in result.all_events if e.is_step_failure}


def materialization_metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def warnings_logged(workspace: ChurnWorkspace, result) -> list[str]:
    records = workspace.instance.all_logs(result.run_id)
    return [r.user_message for r in records if r.level == 30]  # logging.WARNING


def test_an_unreadable_file_fails_at_ingestion_with_its_one_line_message(
    workspace: ChurnWorkspace,
) -> None:
    path = workspace.root / "data" / "customers.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00\x01PK binary" * 50)
    workspace.write_config(path)

    result = materialize_graph(workspace, selection="raw_customers")

    failure = step_failures(result)["raw_customers"].step_failure_data
    expected = f"{path}: not a text CSV: binary content (NUL bytes)"
    assert failure.user_failure_data.description == expected
    assert failure.error.cls_name == "Failure"
    assert path.read_bytes() == b"\x00\x01PK binary" * 50


def test_read_and_coercion_notes_are_logged_and_recorded(workspace: ChurnWorkspace) -> None:
    frame = customers(300).assign(Churn=lambda f: f["Churn"].str.lower())
    path = workspace.root / "data" / "customers.csv"
    path.parent.mkdir(parents=True)
    path.write_text(frame.to_csv(index=False, sep=";"))
    workspace.write_config(path)

    result = materialize_graph(workspace, selection=UP_TO_VALIDATION)

    assert result.success
    read_notes = materialization_metadata(result, "raw_customers")["read_notes"]
    assert any("delimiter ';' detected" in note for note in read_notes), read_notes
    validated = materialization_metadata(result, "validated_customers")
    assert any("value(s) 'yes' read as 'Yes'" in n for n in validated["coercion_notes"])
    assert "coerced_to_missing" in validated
    logged = warnings_logged(workspace, result)
    assert any("delimiter ';' detected" in line for line in logged), logged
    assert any("read as 'Yes'" in line for line in logged), logged


def test_a_failing_check_names_the_rows(workspace: ChurnWorkspace) -> None:
    frame = customers(300)
    frame["tenure"] = frame["tenure"].astype(object)
    frame.loc[[2, 6], "tenure"] = "twelve"
    workspace.write_config(workspace.write_data("customers.csv", frame))

    result = materialize_graph(workspace, selection=UP_TO_VALIDATION)

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    numeric = checks["numeric_columns"]
    assert not numeric.passed
    failed = numeric.metadata["failed"].value
    assert failed[0]["rows"] == [3, 7] and "twelve" in failed[0]["examples"]


# --- the whole graph, after a champion exists ---------------------------------------------

END_TO_END = ("empty_file", "truncated_last_line", "binary_as_csv", "missing_id",
              "unexpected_label", "text_in_numeric", "negative_tenure")
AFTER_VALIDATION = ("customer_splits", "feature_preprocessor", "customer_features",
                    "tuned_churn_model", "champion_model")


def registered_versions(workspace: ChurnWorkspace) -> list[str]:
    client = workspace.client()
    return sorted(v.version for v in client.search_model_versions("name='churn-test'"))


@pytest.fixture(scope="module")
def champion_workspace(module_workspace: ChurnWorkspace) -> ChurnWorkspace:
    """One champion for every case, trained under the bad-input suite's expectations; the
    steps after the promotion (scores, monitoring) have nothing to do with these cases."""
    source = module_workspace.write_data("customers.csv", customers())
    module_workspace.write_config(source, expectations=BAD_INPUT_CONFIG["expectations"])
    assert materialize_graph(module_workspace, selection="*champion_model").success
    assert current_champion_version(module_workspace.client(), "churn-test") == "1"
    return module_workspace


@pytest.mark.slow  # one whole-graph training for the module, then one short run per case
@pytest.mark.parametrize("case", [c for c in CASES if c.case in END_TO_END], ids=lambda c: c.case)
def test_bad_input_stops_the_graph_and_keeps_the_champion(
    champion_workspace: ChurnWorkspace, case: BadInput,
) -> None:
    workspace = champion_workspace
    path = workspace.root / "bad" / f"{case.case}{case.suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(case.build())
    before = file_fingerprint(path)
    versions = registered_versions(workspace)
    workspace.write_config(path, expectations=BAD_INPUT_CONFIG["expectations"])

    result = materialize_graph(workspace)

    assert not result.success
    assert not [e.step_key for e in result.all_events if e.is_step_up_for_retry]  # never retried
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert not materialized & set(AFTER_VALIDATION)
    if case.error:
        failure = step_failures(result)["raw_customers"].step_failure_data
        assert case.error in failure.user_failure_data.description
        assert str(path) in failure.user_failure_data.description
    else:
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert {name for name, check in checks.items() if not check.passed} == set(case.failing)
        for name, expected in case.failing.items():
            assert expected in checks[name].description, checks[name].description
    assert current_champion_version(workspace.client(), "churn-test") == "1"
    assert registered_versions(workspace) == versions
    assert file_fingerprint(path) == before
