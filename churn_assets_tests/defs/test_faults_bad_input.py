"""Bad input through the Dagster wiring: one-line failures at ingestion, coercions recorded,
and (slow) the whole graph after a champion exists: nothing registered, nothing moved."""

from __future__ import annotations

import dagster as dg

from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

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
    assert "blanks_to_missing" in validated
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
