"""`make serve`'s command: the champion behind `mlflow models serve`, answering a REST call
of raw rows with the serving contract's columns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml

from churn_assets.dataset_config import PROJECT_ROOT
from churn_assets_tests.helpers.served_champion import register_champion
from churn_assets_tests.helpers.services import free_port

pytestmark = pytest.mark.slow


def wait_for(url: str, server: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError as error:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the model server did not start: {log.read_text()}") \
                    from error
            time.sleep(0.5)


def test_make_serve_answers_raw_rows(tmp_path: Path) -> None:
    champion = register_champion(tmp_path / "mlflow")
    config = tmp_path / "dataset.yaml"
    config.write_text(yaml.safe_dump({
        "source": "unused.csv", "target": "Churn", "positive_label": "Yes",
        "id_column": "customerID", "model_name": champion.name}))
    port = free_port()
    env = os.environ | {"MLFLOW_TRACKING_URI": champion.tracking_uri,
                        "CHURN_DATASET_CONFIG": str(config),
                        "PYTHONPATH": str(PROJECT_ROOT)}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "churn_assets.serve", "--port", str(port)], env=env,
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", server, log)
        rows = champion.raw_rows.head(8)
        body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split",
                                                                      index=False))})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=body.encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and its workers, started here
        server.wait(timeout=60)
    predictions = answer["predictions"]
    assert [sorted(p) for p in predictions] == [["churn_prediction", "churn_probability"]] * 8
    served = np.array([p["churn_probability"] for p in predictions])
    mlflow.set_tracking_uri(champion.tracking_uri)
    mlflow.set_registry_uri(champion.tracking_uri)
    local = mlflow.pyfunc.load_model(f"models:/{champion.name}/{champion.version}").predict(rows)
    assert np.allclose(served, local["churn_probability"].to_numpy(), atol=1e-6)
    assert [p["churn_prediction"] for p in predictions] == local["churn_prediction"].tolist()
    assert f"serving models:/{champion.name}@champion" in log.read_text()
