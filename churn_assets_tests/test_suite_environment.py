"""The suite's quiet waits (churn_assets_tests/__init__.py) are in force, and change how idle
threads wait, never what is computed: XGBoost and scikit-learn fits with two threads give the
same model, bit for bit, with spinning (ACTIVE) and sleeping (PASSIVE) OpenMP threads; Dask
reads the diagnostics settings from the environment (its workers get the same settings
through their nanny)."""

from __future__ import annotations

import os
import subprocess
import sys

FIT = """
import hashlib, numpy as np, xgboost as xgb
from sklearn.ensemble import HistGradientBoostingClassifier
rng = np.random.default_rng(0)
x = rng.normal(size=(3000, 12))
y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=3000) > 0).astype(int)
booster = xgb.XGBClassifier(n_estimators=60, max_depth=4, tree_method="hist", n_jobs=2,
                            subsample=0.8, random_state=1).fit(x, y).get_booster()
forest = HistGradientBoostingClassifier(max_iter=40, random_state=1).fit(x, y)
print(hashlib.sha256(booster.save_raw("json")).hexdigest(),
      hashlib.sha256(forest.predict_proba(x).tobytes()).hexdigest())
"""


def fitted_with(policy: str) -> str:
    env = os.environ | {"OMP_WAIT_POLICY": policy, "OMP_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", FIT], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_tests_run_with_passive_openmp_threads_and_quiet_dask_diagnostics() -> None:
    import dask
    import distributed  # noqa: F401  (loads its own defaults under the environment's)

    assert os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
    assert dask.config.get("distributed.worker.profile.enabled") is False
    assert dask.config.get("distributed.admin.tick.interval") == "500ms"
    assert dask.config.get("distributed.admin.system-monitor.interval") == "2s"
    assert dask.config.get("distributed.worker.memory.monitor-interval") == "100ms"


def test_the_wait_policy_leaves_the_fitted_models_unchanged() -> None:
    assert fitted_with("ACTIVE") == fitted_with("PASSIVE")


def test_the_libraries_and_the_project_are_imported_from_their_bytecode() -> None:
    """`make` writes every module's bytecode at install and the project's before the tests:
    where PYTHONDONTWRITEBYTECODE is set, Python writes none itself and each process would
    compile MLflow, pandas and the project from source again."""
    import importlib.util

    import mlflow
    import pandas
    import xgboost

    import churn_assets.definitions

    missing = [module.__name__ for module in (mlflow, pandas, xgboost, churn_assets.definitions)
               if not os.path.exists(importlib.util.cache_from_source(module.__file__))]
    assert not missing, f"no bytecode for {missing}"
