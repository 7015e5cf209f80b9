"""The service follows @champion without a restart: while clients keep sending requests to a
real uvicorn process, a second version is registered and promoted in the real MLflow store;
the service loads it beside the first, runs the load check, and swaps. No request fails and
none is answered by two versions; the swap is a row of ``alias_history``."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import httpx
import mlflow
import pandas as pd
import pytest
import sqlalchemy as sa

from churn_assets.names import CHAMPION
from churn_assets_tests.helpers.service_process import (
    log_counts_when,
    running_service,
    steady_load,
)
from churn_assets_tests.serving.conftest import register_version, write_config

pytestmark = pytest.mark.slow


def test_a_promotion_under_load_swaps_with_no_failed_or_mixed_answer(served, tmp_path):
    config = write_config(tmp_path / "dataset.yaml", served.name)
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    env = {"MLFLOW_TRACKING_URI": served.tracking_uri, "CHURN_PREDICTION_LOG_URL": log_url,
           "CHURN_STATE_DIR": str(tmp_path / "state")}
    bodies = [{"dataframe_records": json.loads(served.raw_rows.sample(
        3, random_state=seed).to_json(orient="records"))} for seed in range(20)]
    with running_service(config, env, tmp_path) as url:
        swapped_at: list[float] = []

        def promote_then_watch() -> None:
            log_counts_when(url, lambda counts: counts["submitted"] > 0)  # v1 answered
            version = register_version(served)
            mlflow.MlflowClient(served.tracking_uri).set_registered_model_alias(
                served.name, CHAMPION, version)
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                if httpx.get(f"{url}/version").json()["champion"]["version"] == version:
                    swapped_at.append(time.monotonic())
                    return
                time.sleep(0.2)

        promoter = threading.Thread(target=promote_then_watch)
        promoter.start()
        load = steady_load(url, bodies, threads=4, max_seconds=200,
                           until=lambda: bool(swapped_at) and
                           time.monotonic() > swapped_at[0] + 3)
        promoter.join()
        health = httpx.get(f"{url}/health").json()
    assert swapped_at, "the service never served the promoted version"
    assert load.errors == [] and load.failed == []
    versions = Counter(tuple(a["versions"]) for a in load.answers)
    print(f"answers per version across the swap: {dict(versions)}; health: {health}")
    assert all(len(v) == 1 for v in versions), f"an answer mixed versions: {versions}"
    assert set(versions) == {(served.version,), (str(int(served.version) + 1),)}
    history = pd.read_sql("SELECT * FROM alias_history ORDER BY served_from",
                          sa.create_engine(log_url))
    champion = history[history["alias"] == CHAMPION]
    assert champion["version"].tolist() == [served.version, str(int(served.version) + 1)]
    assert champion["load_check"].iloc[1] == "passed"
    logged = pd.read_sql("SELECT count(*) AS n FROM prediction_log", sa.create_engine(log_url))
    assert int(logged["n"].iloc[0]) == load.rows_answered()
