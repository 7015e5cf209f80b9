"""The load check's template: each check a fork of one clean interpreter, never of the caller
(nor of an earlier check), with the caller's environment of the moment; a failing model, a
hung child and a killed child are reported as a fresh interpreter's would be."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from churn_assets.registry import check_template
from churn_assets.registry.load_check import check_model_loads
from churn_assets_tests.helpers.workspace import seed_mlflow_store

# What the child sees: its modules, environment, folder, request and pids; then it imports
# a module itself, which the next child must not inherit.
BODY = """
import json, os, sys, time
request = sys.stdin.readline().strip()
seen = {name: name in sys.modules for name in ("churn_assets", "pytest", "wave", "colorsys",
                                               "mlflow.pyfunc", "sklearn")}
seen |= {"marker": os.environ.get("MLFLOW_TRACKING_URI"), "cwd": os.getcwd(), "request": request,
         "argv": sys.argv[1:], "pid": os.getpid(), "template": os.getppid()}
import atexit, threading, wave
with open("seen.json", "w") as f:
    json.dump(seen, f)
# Exit duties a normal exit performs: a non-daemon thread finishes, then the exit handlers run.
threading.Thread(target=lambda: (time.sleep(0.5), open("thread.txt", "w").close())).start()
atexit.register(lambda: open("atexit.txt", "w").write(str(os.path.exists("thread.txt"))))
if request == "fail":
    raise ValueError("asked to fail")
if request == "hang":
    time.sleep(600)
if request == "die":
    os.kill(os.getpid(), 9)
if request.startswith("exit "):
    code = request.removeprefix("exit ")
    sys.exit(int(code) if code.isdigit() else code)
"""


def _run(folder: Path, request: str, marker: str, timeout: float = 300, **extra: str
         ) -> tuple:
    folder.mkdir()
    # The tracking URI is read at use, not at import: it reaches the child, the template stays
    env = dict(os.environ) | {"MLFLOW_TRACKING_URI": marker} | extra
    code, stderr = check_template.run(BODY, ["colorsys"], env, str(folder), request, timeout)
    seen = folder / "seen.json"
    return code, stderr, json.loads(seen.read_text()) if seen.exists() else None


def test_checks_are_forks_of_one_clean_template(tmp_path: Path) -> None:
    code, _, first = _run(tmp_path / "1", "one", "a")
    import wave  # noqa: F401  # imported by the caller after the template started

    code_2, _, second = _run(tmp_path / "2", "two", "b")
    assert (code, code_2) == (0, 0)
    assert "churn_assets" in sys.modules and "wave" in sys.modules  # the caller has them
    assert first["template"] == second["template"] != os.getpid()  # one template forked both
    assert first["pid"] != second["pid"]
    for seen, request, marker in ((first, "one", "a"), (second, "two", "b")):
        assert seen["cwd"] == os.path.realpath(tmp_path / request.replace("one", "1")
                                               .replace("two", "2"))
        # the template's imports are there; neither the caller's nor an earlier child's
        assert (seen["colorsys"], seen["mlflow.pyfunc"]) == (True, True)
        assert (seen["churn_assets"], seen["pytest"], seen["wave"], seen["sklearn"]) == \
            (False, False, False, False)
        assert (seen["marker"], seen["request"], seen["argv"]) == (marker, request,
                                                                    ["colorsys"])
    # Nor is another instance's DAGSTER_HOME (each test's `instance_for_test` sets its own).
    assert _run(tmp_path / "4", "four", "d", DAGSTER_HOME=str(tmp_path))[2]["template"] == \
        first["template"]
    # Any other variable may change what an import does: a new template for it.
    assert _run(tmp_path / "3", "three", "c", CHECK_OTHER="1")[2]["template"] != \
        first["template"]


def test_a_failing_hung_or_killed_child_is_reported_and_the_template_serves_on(
        tmp_path: Path) -> None:
    code, stderr, seen = _run(tmp_path / "fail", "fail", "c")
    assert code == 1 and stderr.strip().splitlines()[-1] == "ValueError: asked to fail"
    assert _run(tmp_path / "hang", "hang", "d", timeout=20)[:2] == (None, "")
    assert _run(tmp_path / "die", "die", "e")[0] == -9
    code, _, after = _run(tmp_path / "after", "after", "f")
    assert code == 0 and after["template"] == seen["template"] and not after["wave"]


def test_a_child_exits_as_python_c_would(tmp_path: Path) -> None:
    """Exit status, message, thread and exit handlers as ``python -c`` gives them, though the
    child skips the interpreter's teardown."""
    for name, request, status, last_line in (("ok", "ok", 0, None), ("three", "exit 3", 3, None),
                                             ("text", "exit no model", 1, "no model"),
                                             ("fail", "fail", 1, "ValueError: asked to fail")):
        code, stderr, _ = _run(tmp_path / name, request, "g")
        assert code == status, (request, stderr)
        if last_line:
            assert stderr.strip().splitlines()[-1] == last_line
        assert (tmp_path / name / "atexit.txt").read_text() == "True", request


MODEL_CODE = """
import mlflow.pyfunc
from mlflow.models import set_model

class Failing(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        raise ValueError("this model cannot score")

set_model(Failing())
"""


@pytest.mark.slow
def test_a_failing_model_fails_with_its_error_on_every_check(tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    seed_mlflow_store(tmp_path / "mlflow.db", tmp_path)
    (tmp_path / "failing.py").write_text(MODEL_CODE)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    experiment = client.create_experiment("failing", artifact_location=(tmp_path / "a").as_uri())
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.pyfunc.log_model(name="model", python_model=str(tmp_path / "failing.py"),
                                    pip_requirements=[])
    finally:
        mlflow.set_tracking_uri(previous)
    rows = pd.DataFrame({"x": [1.0, 2.0]})
    for _ in range(2):  # the second one from the same template
        check = check_model_loads(f"runs:/{run.info.run_id}/model", rows, tracking_uri)
        assert (check.ok, check.error, check.columns) == (
            False, "ValueError: this model cannot score", ())
