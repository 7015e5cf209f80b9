"""Secrets stay secret: recognisable values planted in the AWS, MLflow and Postgres
environment variables appear nowhere a run writes or prints — Dagster's event log (asset
and check metadata included), MLflow params, tags, metrics and artifacts, the registry, the
stored intermediate data, and the captured output."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from dagster._serdes import serialize_value

from churn_assets_tests.helpers.s3_server import REGION, MotoS3Server, running_s3_server
from churn_assets_tests.helpers.workspace import ChurnWorkspace, customers, materialize_graph

pytestmark = pytest.mark.slow  # the whole graph, in process

MARK = f"plantedsecret{uuid.uuid4().hex[:12]}"
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": f"aws-{MARK}",  # used: every S3 request is signed with it
    "AWS_SESSION_TOKEN": f"session-{MARK}",
    "MLFLOW_TRACKING_TOKEN": f"mlflow-{MARK}",
    "MLFLOW_TRACKING_PASSWORD": f"mlflowpw-{MARK}",
    "DAGSTER_PG_PASSWORD": f"pg-{MARK}",  # the production instance's Postgres password
}


@pytest.fixture
def s3(workspace: ChurnWorkspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3Server]:
    with running_s3_server() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
        yield server
        server.reset()


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return [str(path) for path in folder.rglob("*")
            if path.is_file() and needle in path.read_bytes()]


def mlflow_texts(client: mlflow.MlflowClient, folder: Path) -> Iterator[tuple[str, str]]:
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            data = run.data
            yield f"run {run.info.run_id}", repr((data.params, data.tags, data.metrics,
                                                   run.info.run_name))
            local = folder / run.info.run_id
            mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(local),
                                                tracking_uri=client._tracking_client.tracking_uri)
    for model in client.search_registered_models():
        yield f"model {model.name}", repr((model.tags, model.description, model.aliases))
        for version in client.search_model_versions(f"name='{model.name}'"):
            yield f"{model.name} v{version.version}", repr((version.tags, version.description))
            mlflow.artifacts.download_artifacts(  # MLflow 3 keeps models apart from runs
                artifact_uri=f"models:/{model.name}/{version.version}",
                dst_path=str(folder / f"{model.name}-{version.version}"))


def test_planted_secrets_appear_nowhere(workspace: ChurnWorkspace, s3: MotoS3Server,
                                        capfd: pytest.CaptureFixture) -> None:
    s3.client().create_bucket(Bucket="secret-source")
    s3.client().put_object(Bucket="secret-source", Key="in/customers.csv",
                           Body=customers().to_csv(index=False).encode())
    workspace.write_config("s3://secret-source/in/customers.csv")

    result = materialize_graph(workspace)

    assert result.success
    needle = MARK.encode()
    records = workspace.instance.all_logs(result.run_id)
    assert len(records) > 50
    leaking_events = [r.dagster_event_type for r in records if MARK in serialize_value(r)]
    assert leaking_events == []
    client = workspace.client()
    downloads = workspace.root / "downloaded-artifacts"
    leaking_mlflow = [where for where, text in mlflow_texts(client, downloads) if MARK in text]
    assert leaking_mlflow == []
    assert any(downloads.rglob("MLmodel"))  # the artifacts were really read
    # Everything the run wrote: MLflow store and artifacts, stored assets, Dagster storage.
    assert files_holding(workspace.root, needle) == []
    assert files_holding(Path(workspace.instance.root_directory), needle) == []
    output = capfd.readouterr()
    assert MARK not in output.out and MARK not in output.err
    assert "raw_customers" in output.err  # the run's log output was captured
