"""Plays the Dagster daemon in tests: ticks sensors with their cursors, launches their runs."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from churn_assets_tests.helpers.workspace import ChurnWorkspace


class Operator:
    """Ticks sensors with their cursors and launches what they request."""

    def __init__(self, workspace: ChurnWorkspace):
        self.workspace = workspace
        self.instance = workspace.instance
        self.cursors: dict[str, str | None] = {}
        self.launched_run_keys: set[str] = set()

    def tick(self, sensor: dg.SensorDefinition) -> dg.SensorExecutionData:
        self.last_sensor = sensor
        definitions = self.workspace.definitions()
        resources = {key: definitions.resources[key]
                     for key in ("dataset", "serving_stores", "alerting")}
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.cursors.get(sensor.name),
            resources=resources | {"s3": S3Resource(max_attempts=1)},
            definitions=definitions,
        )
        data = sensor.evaluate_tick(context)
        self.cursors[sensor.name] = data.cursor
        return data

    def launch(self, data: dg.SensorExecutionData) -> list[dg.ExecuteInProcessResult]:
        results = []
        for request in data.run_requests or []:
            if request.run_key in self.launched_run_keys:  # the daemon's run_key dedup
                continue
            self.launched_run_keys.add(request.run_key)
            job = self.workspace.definitions().resolve_job_def(
                request.job_name or self.last_sensor.job_name)
            results.append(job.execute_in_process(
                run_config=request.run_config, instance=self.instance, tags=request.tags,
                raise_on_error=False))
        return results


def drift_metadata(result: dg.ExecuteInProcessResult) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key == dg.AssetKey("feature_drift"):
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError("feature_drift was not materialized")
