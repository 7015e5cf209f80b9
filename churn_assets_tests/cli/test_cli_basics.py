"""The command line without a model: help, generate, and one-line errors with exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churn_assets.cli.main import main
from churn_assets.generator import DistributionShift, generate_customers
from churn_assets_tests.helpers.workspace import ChurnWorkspace

COMMANDS = ("generate", "train", "score", "targets", "champion", "promote", "rollback", "report",
            "serve")


def error_line(capsys: pytest.CaptureFixture, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err  # one line, never a traceback
    assert err.startswith(f"python -m churn_assets {command}: error: "), err
    return err


def test_help_names_every_command(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(f"    {command} " in out for command in COMMANDS), out


def test_generate_writes_the_generators_customers_with_drift_knobs(tmp_path: Path, capsys) -> None:
    out = tmp_path / "drifted.parquet"
    code = main(["generate", "--rows", "300", "--seed", "8", "--concept-shift", "1",
                 "--month-to-month-share", "0.8", "--out", str(out)])
    assert code == 0 and "wrote 300 customers" in capsys.readouterr().out
    expected = generate_customers(300, 8, DistributionShift(concept_shift=1,
                                                            month_to_month_share=0.8))
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert main(["generate", "--rows", "50", "--out", str(tmp_path / "plain.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "plain.csv")) == 50


def test_mistakes_are_one_line_with_exit_code_1(tmp_path: Path, capsys) -> None:
    assert main(["generate", "--out", str(tmp_path / "x.txt")]) == 1
    assert ".csv or .parquet" in error_line(capsys, "generate")
    assert main(["generate", "--concept-shift", "2", "--out", str(tmp_path / "x.csv")]) == 1
    assert "between 0 and 1" in error_line(capsys, "generate")
    assert main(["champion", "--config", str(tmp_path / "missing.yaml")]) == 1
    assert "dataset config not found" in error_line(capsys, "champion")
    assert main(["train", "--n-trials", "0"]) == 1
    assert "--n-trials must be at least 1" in error_line(capsys, "train")


def test_usage_errors_exit_2(capsys) -> None:
    for argv in (["promote", "--reason", "x"], ["rollback"], ["nonsense"], []):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2, argv


def test_an_empty_registry_says_so(workspace: ChurnWorkspace, capsys) -> None:
    workspace.write_config(workspace.write_data("customers.csv", generate_customers(50)))
    assert main(["champion"], workspace.settings) == 1
    assert "no @champion for 'churn-test'" in capsys.readouterr().out
    assert main(["report"], workspace.settings) == 1
    assert "no @champion for 'churn-test'" in error_line(capsys, "report")
    assert main(["score", str(workspace.root / "data" / "customers.csv")], workspace.settings) == 1
    assert "train first" in error_line(capsys, "score")
    assert main(["rollback", "--reason", "bad", "--by", "me"], workspace.settings) == 1
    assert "no @champion to roll back from" in error_line(capsys, "rollback")
    assert main(["promote", "--version", "4", "--reason", "x", "--by", "me"],
                workspace.settings) == 1
    assert "has no version 4" in error_line(capsys, "promote")
