"""`make audit`'s summary: a finding fails the build, a documented one does not, and a run
that could check nothing says so instead of reporting a clean result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from churn_assets.dataset_config import PROJECT_ROOT

SUMMARY = PROJECT_ROOT / "tools" / "audit_summary.py"


def summarise(folder: Path, dependencies: list[dict], ignore: str = "") -> tuple[int, str]:
    report = folder / "report.json"
    report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    if ignore:
        (folder / "audit-ignore.txt").write_text(ignore)
    done = subprocess.run([sys.executable, str(SUMMARY), str(report)], cwd=folder,
                          capture_output=True, text=True)
    return done.returncode, done.stdout


VULNERABLE = {"name": "requests", "version": "2.0.0",
              "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["2.32.0"]}]}
CLEAN = {"name": "pandas", "version": "2.3.0", "vulns": []}
SKIPPED = {"name": "zipp", "version": "4.1.2", "skip_reason": "Dependency not found on PyPI"}


def test_an_open_finding_fails_and_names_the_fix(tmp_path: Path) -> None:
    code, output = summarise(tmp_path, [VULNERABLE, CLEAN])
    assert code == 1
    assert "requests 2.0.0: PYSEC-0000-1 (fix: upgrade to 2.32.0)" in output


def test_a_documented_finding_passes_with_its_reason(tmp_path: Path) -> None:
    code, output = summarise(tmp_path, [VULNERABLE, CLEAN],
                             "PYSEC-0000-1 only affects the CLI, which we do not ship\n")
    assert code == 0
    assert "ignored: only affects the CLI" in output


def test_nothing_checked_is_not_reported_as_clean(tmp_path: Path) -> None:
    code, output = summarise(tmp_path, [SKIPPED, dict(SKIPPED, name="yarl")])
    assert code == 0
    assert output.startswith("audit NOT done: none of the 2 locked packages could be checked")
