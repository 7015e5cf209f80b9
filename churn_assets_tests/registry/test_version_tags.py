"""Several tags on a model version: the same store content as one public call per tag, and
the same refusals (a missing model or version; a prompt is refused by the same public call,
made for the first tag), with the registry read once instead of per tag."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from churn_assets.registry.version_tags import set_version_tags
from churn_assets_tests.helpers.workspace import seed_mlflow_store

TAGS = {f"promotion.tag_{i:02d}": f"value {i}" for i in range(30)} | {"empty": ""}


@pytest.fixture
def client(tmp_path: Path) -> mlflow.MlflowClient:
    seed_mlflow_store(tmp_path / "mlflow.db", tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("churn")
    for _ in range(2):
        client.create_model_version("churn", (tmp_path / "model").as_uri())
    return client


def test_the_tags_are_those_of_one_public_call_per_tag(client, monkeypatch) -> None:
    for key, value in TAGS.items():
        client.set_model_version_tag("churn", "1", key, value)
    reads = []
    read = mlflow.MlflowClient.get_registered_model
    monkeypatch.setattr(mlflow.MlflowClient, "get_registered_model",
                        lambda self, name: reads.append(name) or read(self, name))
    set_version_tags(client, "churn", "2", TAGS)
    assert client.get_model_version("churn", "2").tags == \
        client.get_model_version("churn", "1").tags == TAGS
    assert reads == ["churn"]  # the prompt check, once for 31 tags
    set_version_tags(client, "churn", "2", {})  # nothing to write: no call at all
    assert reads == ["churn"]


def test_a_missing_model_or_version_is_refused_as_by_the_public_call(client) -> None:
    for name, version in (("no-such-model", "1"), ("churn", "9")):
        with pytest.raises(MlflowException) as public:
            client.set_model_version_tag(name, version, "a", "b")
        with pytest.raises(MlflowException) as ours:
            set_version_tags(client, name, version, {"a": "b", "c": "d"})
        assert (ours.value.error_code, str(ours.value)) == \
            (public.value.error_code, str(public.value))
    assert client.get_model_version("churn", "1").tags == {}
