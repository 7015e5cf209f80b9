"""The promotion bench (``make bench``'s error rates) still runs against the package: it
reaches into the training and promotion functions, and a refactor there once broke it
silently. One retrain, one case, one Optuna trial per model, bundled data only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains about ten small models


def test_the_promotion_bench_runs_every_experiment_and_writes_its_table(tmp_path: Path,
                                                                        capsys) -> None:
    from benchmarks import promotion_bench

    out = tmp_path / "promotion.json"
    results = promotion_bench.main(["--retrains", "1", "--cases", "1", "--trials", "1",
                                    "--skip", "metric,telco", "--out", str(out)])
    assert json.loads(out.read_text())["bundled"].keys() == results["bundled"].keys()
    bundled = results["bundled"]
    assert {"null", "better", "better_three", "concept_shift"} <= set(bundled)
    assert bundled["null"]["retrains"] == 1 and len(bundled["null"]["looks"]) == 1
    for key in ("better", "better_three", "concept_shift"):
        assert bundled[key]["cases"] == 1
        assert 0 <= bundled[key]["promoted_within_2"] <= 1
    assert "| bundled | concept shift | 1 |" in capsys.readouterr().out
