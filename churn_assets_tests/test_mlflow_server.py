"""The same graph against a real MLflow tracking server on 127.0.0.1 (production's setup)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from churn_assets_tests.conftest import ChurnWorkspace, customers, materialize_graph


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1",
    ]
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = (tmp_path / "server.log").read_text()
                    pytest.fail(f"mlflow server did not start: {output}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_graph_tracks_and_registers_through_an_mlflow_server(
    workspace: ChurnWorkspace, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    source = workspace.write_data("customers.csv", customers())
    workspace.write_config(source)

    assert materialize_graph(workspace).success

    client = mlflow.MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    champion = client.get_model_version_by_alias("churn-test", "champion")
    assert client.get_run(champion.run_id).data.metrics["test_roc_auc"] > 0.5
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    model = mlflow.pyfunc.load_model("models:/churn-test@champion")
    rows = pd.read_csv(source).drop(columns=["Churn"]).head(20)
    assert list(model.predict(rows).columns) == ["churn_probability", "churn_prediction"]
    assert not (workspace.root / "mlflow").exists(), "nothing may fall back to the local store"
