"""The same graph against a real MLflow tracking server on 127.0.0.1 (production's setup)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from churn_assets_tests.helpers.services import running_mlflow_server
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # the whole asset graph, in process


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    with running_mlflow_server(tmp_path) as url:
        yield url


def test_graph_tracks_and_registers_through_an_mlflow_server(
    workspace: ChurnWorkspace, mlflow_server: str
):
    workspace.configure(tracking_uri=mlflow_server)
    shutil.rmtree(workspace.root / "mlflow")  # the workspace's own seeded store, unused here
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
