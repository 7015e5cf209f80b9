"""The project's S3 resource builds a boto3 client only for an s3:// location: the landing
and experiment sensors tick every 30 s, and a client costs about 0.2 CPU s to build."""

from __future__ import annotations

from pathlib import Path

import boto3.session
import dagster as dg
import pytest
import yaml

from churn_assets.definitions import build_definitions
from churn_assets.environment import Settings
from churn_assets.names import SNAPSHOT_KEY_TAG


def test_sensors_over_local_folders_build_no_s3_client(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "landing").mkdir()
    (tmp_path / "configs").mkdir()
    (tmp_path / "landing" / "week-1.csv").write_text("customerID,Churn\n1,No\n")
    config = tmp_path / "dataset.yaml"
    config.write_text(yaml.safe_dump({
        "source": str(tmp_path / "customers.csv"), "target": "Churn", "positive_label": "Yes",
        "model_name": "churn-s3", "landing": str(tmp_path / "landing") + "/",
        "experiment_configs": str(tmp_path / "configs") + "/"}))
    definitions = build_definitions(Settings(dataset_config=str(config)))
    built: list[str] = []
    build_client = boto3.session.Session.client

    def counted(session, service_name, *args, **kwargs):
        built.append(service_name)
        return build_client(session, service_name, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", counted)

    def tick(name: str) -> dg.SensorExecutionData:
        sensor = definitions.get_sensor_def(name)
        resources = {key: definitions.resources[key] for key in sensor.required_resource_keys}
        with dg.instance_for_test() as instance, \
                dg.build_sensor_context(instance=instance, resources=resources) as context:
            return sensor.evaluate_tick(context)

    landed = tick("new_customer_data_sensor").run_requests
    assert [request.tags[SNAPSHOT_KEY_TAG] for request in landed] == ["week-1.csv"]
    assert "no new experiment config" in (tick("experiment_config_sensor").skip_message or "")
    assert built == [], f"ticks over local folders built boto3 clients: {built}"
    # A caller that needs S3 (an s3:// location) still gets a client from the resource.
    assert definitions.resources["s3"].get_client() is not None
    assert built == ["s3"]
