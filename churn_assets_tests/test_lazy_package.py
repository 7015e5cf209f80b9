"""Importing a plain module of the package does not load the Dagster definitions (a Dask
worker or the command line pays for what it uses), while ``-m churn_assets`` still finds
``defs`` the way Dagster's module loader looks for it: ``dir(module)`` and ``getattr``."""

from __future__ import annotations

import json
import subprocess
import sys

from churn_assets.dataset_config import PROJECT_ROOT

HEAVY = ("dagster", "mlflow", "churn_assets.definitions")
# What only a step needs (training, scoring, drawing, validating): a process that loads the
# definitions and runs none (code server, sensor tick, `dg check defs`) never imports them.
STEP_ONLY = ("mlflow", "sklearn", "scipy", "optuna", "matplotlib", "xgboost", "lightgbm",
             "great_expectations", "shap", "dask")


def in_fresh_python(code: str) -> dict:
    finished = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=300, check=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_a_plain_module_loads_neither_dagster_nor_mlflow() -> None:
    """The command line's parser too: `generate`, `init` and `--help` open no registry."""
    loaded = in_fresh_python(
        "import json, sys; import churn_assets.model.metrics, churn_assets.data.splits; "
        "import churn_assets.cli.main; "
        f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))")
    assert loaded == dict.fromkeys(HEAVY, False)


def test_dagster_module_loading_finds_the_definitions() -> None:
    """What ``dagster ... -m churn_assets`` does: import the package, collect its loadable
    targets (``dir`` + ``getattr``), then build the definitions."""
    found = in_fresh_python(
        "import json, sys, churn_assets\n"
        "before = 'churn_assets.definitions' in sys.modules\n"
        "from dagster._core.workspace.autodiscovery import loadable_targets_from_loaded_module\n"
        "targets = loadable_targets_from_loaded_module(churn_assets)\n"
        "[target] = targets\n"
        "defs = target.target_definition()\n"
        "print(json.dumps({'before': before, 'attribute': target.attribute,\n"
        "                  'same': target.target_definition is churn_assets.defs,\n"
        "                  'assets': len(list(defs.resolve_all_asset_keys()))}))")
    assert found["before"] is False and found["attribute"] == "defs" and found["same"]
    assert found["assets"] >= 10


def test_building_the_definitions_imports_no_step_library() -> None:
    loaded = in_fresh_python(
        "import json, sys\n"
        "from churn_assets.definitions import defs\n"
        "built = defs()\n"
        "assert built.resolve_job_def('churn_training_job') is not None\n"
        f"print(json.dumps({{m: m in sys.modules for m in {STEP_ONLY!r}}}))")
    assert [name for name, present in loaded.items() if present] == []
