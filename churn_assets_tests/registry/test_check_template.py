"""The load check's template: each check a fork of one clean interpreter, never of the caller
(nor of an earlier check), with the caller's environment of the moment."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from churn_assets.registry import check_template

# What the child sees: its modules, environment and folder; and a module it imports itself,
# which the next child must not inherit.
BODY = """
import json, os, sys
request = sys.stdin.readline()
seen = {"churn_assets": "churn_assets" in sys.modules, "wave": "wave" in sys.modules,
        "marker": os.environ.get("CHECK_MARKER"), "cwd": os.getcwd(), "request": request,
        "argv": sys.argv[1:]}
import wave
with open("seen.json", "w") as f:
    json.dump(seen, f)
if "fail" in request:
    raise ValueError("asked to fail")
"""


def _check(request: str, marker: str) -> tuple[dict, int, str, int]:
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ) | {"CHECK_MARKER": marker}
        child = check_template.fork_check(BODY, ["json"], folder, env, dict(os.environ))
        _, stderr = child.communicate(request + "\n", timeout=300)
        seen = json.loads((Path(folder) / "seen.json").read_text())
        assert seen["cwd"] == os.path.realpath(folder)
        return seen, child.returncode, stderr, child.pid


def test_checks_are_forks_of_one_clean_template() -> None:
    assert "churn_assets" in sys.modules  # the caller has the package; the children must not
    first, code, _, first_pid = _check("one", "a")
    key = (tuple(sorted((k, v) for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST")),
           ("json",), BODY)
    template = check_template._TEMPLATES[key].process.pid
    second, code_2, _, second_pid = _check("two", "b")
    assert (code, code_2) == (0, 0) and first_pid != second_pid
    assert check_template._TEMPLATES[key].process.pid == template  # one interpreter forked both
    for seen, request, marker in ((first, "one\n", "a"), (second, "two\n", "b")):
        assert seen == {"churn_assets": False, "wave": False, "marker": marker, "cwd": seen["cwd"],
                        "request": request, "argv": ["json"]}
    failed, code, stderr, _ = _check("fail", "c")
    assert code == 1 and "ValueError: asked to fail" in stderr and not failed["wave"]


def test_a_child_killed_before_its_request_is_reported_and_the_template_serves_on() -> None:
    with tempfile.TemporaryDirectory() as folder:
        child = check_template.fork_check(BODY, ["json"], folder, dict(os.environ),
                                          dict(os.environ))
        child.kill()
        child.communicate()
        assert child.returncode not in (None, 0)
    seen, code, _, _ = _check("after", "d")
    assert code == 0 and seen["request"] == "after\n"
