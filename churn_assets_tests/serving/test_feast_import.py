"""Feast registers a request-header plugin with MLflow, which MLflow imports (all of Feast) on
its first REST call. In the scoring container the service's Feast warm-up thread and the alias
follower's first registry call imported Feast at once (1 of 9 starts) and one of them got the
other's partially initialised `feast.data_source` ("circular import"): the service logged
"Feast is not installed: no online lookups" and MLflow dropped Feast's plugin. The service's
start now imports Feast and MLflow's registry, in that order, before any of its threads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# A fresh interpreter (this one has Feast imported already): the app's start with a real
# Feast-backed store; the follower stand-in records what its first MLflow call would find.
START = """
import json, sys, types, warnings
from fastapi.testclient import TestClient
from churn_assets.serving.app import Service, create_app
from churn_assets.serving.online_store import open_store, store_location

folder = sys.argv[1]
seen = {}

def first_poll():
    seen["registry_loaded"] = "mlflow.tracking.request_header.registry" in sys.modules
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from mlflow.tracking.request_header.registry import _request_header_provider_registry
    seen["providers"] = [type(p).__name__ for p in _request_header_provider_registry]
    seen["warnings"] = [str(w.message) for w in caught]

quiet = types.SimpleNamespace(start=lambda: None, stop=lambda: None)
follower = types.SimpleNamespace(start=first_poll, stop=lambda: None)
store = open_store("churn-classifier", "customerID", store_location(folder + "/online.db", folder))
with TestClient(create_app(Service(None, quiet, follower, store, "customerID", None))):
    pass
print(json.dumps(seen))
"""


def test_the_service_imports_feast_before_its_threads_can(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", START, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Loaded before the follower's first call, in one thread: Feast's plugin registered whole.
    assert seen["registry_loaded"], seen
    assert "FeastMLflowHeaderProvider" in seen["providers"], seen
    assert seen["warnings"] == [], seen
    assert "circular import" not in done.stderr and "not installed" not in done.stderr



# What `online_features` does on the local (SQLite) store, in a fresh interpreter.
PUSH = """
import sys, pandas as pd
from churn_assets.serving.online_store import feast_missing, open_store, store_location

assert not feast_missing()
store = open_store("churn-classifier", "customerID",
                   store_location(sys.argv[1] + "/online.db", sys.argv[1]))
store.push([pd.DataFrame({"customerID": ["a", "b"], "x": [1.0, 2.0]})])
print(store.get("b") == {"customerID": "b", "x": 2.0},
      "mlflow.tracking.request_header.registry" in sys.modules, "redis" in sys.modules)
"""


def test_a_push_to_sqlite_loads_neither_mlflows_header_registry_nor_redis(
        tmp_path: Path) -> None:
    """The registry (about 1 s) is the service's concern and the Redis client the Redis
    store's: a step pushing to the local store imports neither."""
    done = subprocess.run([sys.executable, "-c", PUSH, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "True False False"
