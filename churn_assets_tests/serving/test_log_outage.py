"""A PostgreSQL outage under load: the log database stops while clients keep sending
requests to a real uvicorn process. No request fails; the rows the database could not take
are spooled and replayed; afterwards ``prediction_log`` holds exactly the answered rows."""

from __future__ import annotations

import json
import os
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from churn_assets_tests.helpers.postgres_cluster import postgres_cluster
from churn_assets_tests.helpers.service_process import (
    log_counts_when,
    running_service,
    steady_load,
)
from churn_assets_tests.serving.conftest import write_config
from churn_dev.services import create_database

pytestmark = pytest.mark.slow
OUTAGE_SECONDS = float(os.environ.get("SERVE_OUTAGE_SECONDS", "8"))  # the issue: 30


def test_a_database_outage_fails_no_request_and_loses_no_row(served, tmp_path) -> None:
    config = write_config(tmp_path / "dataset.yaml", served.name)
    bodies = [{"dataframe_records": json.loads(served.raw_rows.sample(
        4, random_state=seed).to_json(orient="records"))} for seed in range(20)]
    with postgres_cluster() as cluster:
        url = cluster.url(create_database(cluster.port))
        env = {"MLFLOW_TRACKING_URI": served.tracking_uri, "CHURN_PREDICTION_LOG_URL": url,
               "CHURN_STATE_DIR": str(tmp_path / "state")}
        with running_service(config, env, tmp_path) as service:
            done, seen = threading.Event(), {}

            def outage() -> None:
                try:
                    log_counts_when(service, lambda counts: counts["written"] > 0)
                    cluster.stop()
                    stopped = time.monotonic()
                    seen["during"] = log_counts_when(  # answers keep coming, into the spool
                        service, lambda counts: counts["spooled"] > 0
                        and counts["write_failures"] > 0)
                    time.sleep(max(0.0, stopped + OUTAGE_SECONDS - time.monotonic()))
                    cluster.start()
                    log_counts_when(service, lambda counts: counts["replayed"] > 0)
                finally:  # a wait that failed ends the load; the assertions below say why
                    done.set()

            outages = threading.Thread(target=outage)
            outages.start()
            load = steady_load(service, bodies, threads=4, until=done.is_set, max_seconds=120)
            outages.join()
            deadline = time.monotonic() + 60  # the spool replays once the database answers
            while time.monotonic() < deadline:
                stats = httpx.get(f"{service}/health").json()["prediction_log"]
                if stats["spool_pending"] == 0 and stats["written"] >= load.rows_answered():
                    break
                time.sleep(0.5)
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            logged = connection.execute(sa.text("SELECT count(*) FROM prediction_log")
                                        ).scalar_one()
        engine.dispose()
    print(f"answered rows {load.rows_answered()} in {len(load.answers)} requests, logged "
          f"{logged}; during the outage: {seen['during']}; after: {stats}")
    assert load.errors == [] and load.failed == []
    assert seen["during"]["spooled"] > 0 and seen["during"]["write_failures"] > 0
    assert stats["replayed"] > 0 and stats["spool_pending"] == 0
    assert logged == load.rows_answered()
