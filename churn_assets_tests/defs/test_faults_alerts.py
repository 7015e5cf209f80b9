"""A failed run alerts: the run-failure sensor posts JSON to a real local webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from churn_assets.defs.alerts import WEBHOOK_ENV, run_failure_alert_sensor
from churn_assets.environment import Settings
from churn_assets_tests.helpers.workspace import ChurnWorkspace, materialize_graph


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"content_type": self.headers["Content-Type"],
                             "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/churn", received
    server.shutdown()
    server.server_close()


def failed_run(workspace: ChurnWorkspace):
    path = workspace.root / "data" / "customers.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    workspace.write_config(path)
    result = materialize_graph(workspace, selection="raw_customers")
    assert not result.success
    return result, path


def sensor_context(workspace: ChurnWorkspace, result) -> dg.RunFailureSensorContext:
    """The sensor's context with the alerting resource the workspace's definitions hold."""
    run = workspace.instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"
                   or e.event_type_value == "RUN_FAILURE")
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor", dagster_event=failure,
        dagster_instance=workspace.instance, dagster_run=run,
        resources={"alerting": workspace.definitions().resources["alerting"]}
    ).for_run_failure()


def test_a_failed_run_posts_job_run_step_and_error(
    workspace: ChurnWorkspace, webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = webhook
    # The URL is a secret: the deployment hands Dagster the variable's name (dg.EnvVar), and
    # Dagster reads the value from the environment when the sensor runs.
    monkeypatch.setenv(WEBHOOK_ENV, url)
    workspace.configure(alert_webhook=url)
    result, path = failed_run(workspace)

    run_failure_alert_sensor(sensor_context(workspace, result))

    [alert] = received
    assert alert["content_type"] == "application/json"
    assert alert["json"] == {
        "job": result.dagster_run.job_name, "run_id": result.run_id,
        "failed_step": "raw_customers", "failed_steps": ["raw_customers"],
        "error": f"{path}: empty file (0 bytes)",
    }


def test_without_a_webhook_the_sensor_only_logs(
    workspace: ChurnWorkspace, webhook, capfd: pytest.CaptureFixture,
) -> None:
    _, received = webhook
    assert not workspace.settings.alert_webhook
    result, _ = failed_run(workspace)

    run_failure_alert_sensor(sensor_context(workspace, result))

    assert received == []
    logged = capfd.readouterr().err
    assert f"no alert sent: ${WEBHOOK_ENV} is not set" in logged
    assert "failed at step raw_customers: " in logged


def test_the_sensor_is_registered_and_running_by_default() -> None:
    from churn_assets.definitions import build_definitions

    sensor = build_definitions(Settings()).get_sensor_def("run_failure_alert_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
